/** Shared bits of the `rotate -k` / `rollback -k` / `backups -k` / `doctor -k` tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { rotateCommand } from '../../src/cli/commands/rotate.js';
import type { RotateOptions } from '../../src/cli/commands/rotate-options.js';
import type { RotationRuntime } from '../../src/cli/site/site.js';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import type { RotationRecord } from '../../src/core/rotation-phases/record.js';
import { REPO } from '../cli/helpers.js';
import { clusterBundle, startCluster, type Cluster } from '../kube/renew-k-support.js';

export { clusterBundle, startCluster, type Cluster };

export async function cluster(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startCluster>[0] = {}): Promise<Cluster> {
  const c = await startCluster({ rolloutDelayMs: 30, ...opts });
  t.after(() => c.server.close());
  return c;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `warden mtls <sub> -k --kubeconfig <server's> …args` in-process. */
export async function wardenK(c: Cluster, sub: string, args: string[] = []): Promise<CliResult> {
  const io = captureIo({ env: { HOME: '/nonexistent' } });
  const code = await main(['mtls', sub, '-k', '--kubeconfig', c.server.kubeconfigPath, ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/**
 * The `--timeout` (per rollout and convergence check) the rotate -k tests run with: long enough that
 * only a real hang reaches it, however loaded the machine. The API test server rolls out in tens of ms.
 */
export const HANG_TIMEOUT_MS = 120_000;
export const HANG_TIMEOUT = `${HANG_TIMEOUT_MS / 1000}s`;

/** rotate -k through the command function, with an injected runtime (abort signal). Errors are returned, not thrown. */
export async function rotateK(c: Cluster, opts: Partial<RotateOptions>, runtime: RotationRuntime = {}): Promise<CliResult & { error?: Error }> {
  const io = captureIo({ env: { HOME: '/nonexistent' } });
  try {
    const code = await rotateCommand({ kubernetes: true, kubeconfig: c.server.kubeconfigPath, propagationDelay: 0, timeout: HANG_TIMEOUT_MS, ...opts } as RotateOptions, io, undefined, runtime);
    return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
  } catch (error) {
    return { code: 1, stdout: io.stdoutText(), stderr: io.stderrText(), error: error as Error };
  }
}

const text = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('utf8');

/** The journal record in the cluster, if any. */
export function journalOf(c: Cluster): RotationRecord | undefined {
  const s = c.server.api.find('secrets', c.namespace, 'dapr-trust-bundle-rotation');
  if (!s) return undefined;
  return JSON.parse(text((s.data as Record<string, string>)['journal.json'])) as RotationRecord;
}

/** The bundle each phase targets, from the journal's material (what the end state must be). */
export function finalTexts(record: RotationRecord): BundleTexts {
  return { ca: record.material.anchorsPem, issuerCert: record.material.issuerCertPem, issuerKey: record.material.issuerKeyPem };
}

/** Writes to the bundle, the journal, backups and workloads, in order, from the request log. */
export function writeLog(c: Cluster): string[] {
  return c.server.requests
    .filter({ verb: ['create', 'update', 'patch', 'delete'] })
    .filter((r) => r.status < 400)
    .map((r) => `${r.verb} ${r.resource}/${r.name ?? ''}`)
    .filter((s) => !s.includes('rotation-lock'))
    .map((s) => s.replace(/-backup-\S+/, '-backup-*').replace(/\/app-\d+$/, '/app-*'));
}

/** Spawns the CLI (tsx, from source) so a test can kill it. */
export function spawnWarden(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/rotation-kube/entry.ts'), ...args], { cwd: REPO, env: { ...process.env, HOME: '/nonexistent' } });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 137 : 1), stdout, stderr })));
  return { child, done };
}
