/**
 * Where the real Dapr binaries are, for the interop tests. They are never part of the repository:
 * the tests read their paths from the environment and are skipped, saying which variable is
 * missing, when it is not set (README, "Checking against real Dapr").
 *
 *   DAPRD        daprd (Dapr 1.18), self-hosted sidecar
 *   DAPR_SENTRY  Dapr's own sentry
 *   DAPR_CLI     the `dapr` CLI (issue 9 calls it DAPR; that name is read too)
 *
 * A variable that is set but does not name an executable file is an error, not a skip: a typo must
 * not turn a check into a silent no-op.
 */
import { accessSync, constants, statSync } from 'node:fs';

export type DaprBinary = 'DAPRD' | 'DAPR_SENTRY' | 'DAPR_CLI';

const WHAT: Record<DaprBinary, string> = {
  DAPRD: 'daprd',
  DAPR_SENTRY: "Dapr's sentry",
  DAPR_CLI: 'the dapr CLI',
};

function rawPath(name: DaprBinary): string | undefined {
  const value = process.env[name] ?? (name === 'DAPR_CLI' ? process.env['DAPR'] : undefined);
  return value === undefined || value === '' ? undefined : value;
}

/**
 * For node:test's `skip` option: false when every binary is configured, else the message naming
 * each missing variable.
 */
export function skipUnless(...names: DaprBinary[]): string | false {
  const missing = names.filter((n) => rawPath(n) === undefined);
  if (missing.length === 0) return false;
  return `interop test skipped: ${missing.map((n) => `${n} (path to ${WHAT[n]})`).join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set`;
}

/** The configured path; throws when it is unset or not an executable file. */
export function binary(name: DaprBinary): string {
  const path = rawPath(name);
  if (path === undefined) throw new Error(`${name} is not set (path to ${WHAT[name]})`);
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    accessSync(path, constants.X_OK);
  } catch (error) {
    throw new Error(`${name}=${path} is not an executable file (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  return path;
}
