/**
 * Which command fixes a finding: one answer, used by the check messages (so `warden mtls verify`,
 * the sentry's logs and renew's checks print it) and by `warden mtls doctor` (which should pick its
 * fix step from `remedyFor` too), so the two never advise different commands for the same finding.
 *
 * - Expired: nothing verifies any more, so there is no downtime left to avoid: renew in one step.
 * - Expiring (or otherwise due for replacement): rotate, which replaces the root without downtime.
 * Other findings say in their own message what to do.
 */
import type { FindingCode } from './types.js';

export type RemedyCommand = 'renew-certificate' | 'rotate';

export interface Remedy {
  command: RemedyCommand;
  /** Why this command, as a clause. */
  reason: string;
}

const RENEW: Remedy = {
  command: 'renew-certificate',
  reason: 'nothing verifies any more, so there is no downtime left to avoid: renew in one step',
};

const ROTATE: Remedy = {
  command: 'rotate',
  reason: 'it replaces the root and issuer without downtime',
};

const REMEDIES: Partial<Record<FindingCode, Remedy>> = {
  ERR_ROOT_EXPIRED: RENEW,
  ERR_ISSUER_EXPIRED: RENEW,
  WARN_ROOT_EXPIRING: ROTATE,
  WARN_ISSUER_EXPIRING: ROTATE,
  WARN_ISSUER_SHORTER_THAN_TTL: ROTATE,
  WARN_LEGACY_PROFILE: ROTATE,
};

/** The command that fixes findings with `code`, or undefined when the finding's message says what to do. */
export function remedyFor(code: FindingCode): Remedy | undefined {
  return REMEDIES[code];
}

/** `warden mtls rotate`. */
export function remedyCommandLine(remedy: Remedy): string {
  return `warden mtls ${remedy.command}`;
}

/** `Run \`warden mtls rotate\` before then (it replaces …)` for a finding message; `detail` is e.g. "before then". */
export function remedySentence(code: FindingCode, detail = ''): string {
  const remedy = REMEDIES[code];
  if (remedy === undefined) throw new Error(`no remedy for ${code}`);
  return `Run \`${remedyCommandLine(remedy)}\`${detail ? ` ${detail}` : ''} (${remedy.reason})`;
}
