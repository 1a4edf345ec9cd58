/**
 * `warden mtls rollback -k` and `warden mtls backups -k`: the backup Secrets
 * (`dapr-trust-bundle-backup-<stamp>`) of the cluster's bundle. Rollback takes the rotation lock,
 * runs the full check chain on the backup (a broken one is refused, an expired one too unless
 * `--force`), writes it through the store (which backs up what it replaces, both `ca.crt`
 * byte-identical), marks an unfinished rotation rolled back, then restarts in order: the control
 * plane (dapr-sentry first) and, unless `--no-restart-apps`, every Dapr app when `ca.crt` changed.
 */
import { describeTime } from '../../core/checks/labels.js';
import { WardenError } from '../../core/errors.js';
import { expiryState } from '../../core/thresholds.js';
import { findControlPlane, findDaprApps } from '../../kube/restarts.js';
import { expiredBackupError, inspectBackup, restoreBundle, selectBackup } from '../../rotation/rollback.js';
import { EXIT } from '../exit-codes.js';
import { printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { formatTable, printJson, printStatus, type OutputFormat } from '../output.js';
import type { KubeRestartPlan } from '../renew/kube-report.js';
import { runKubeRestarts } from '../renew/kube-restart-run.js';
import { kubeCommandLine, openKubeRotation, type KubeRotationOptions } from './kube-setup.js';
import type { RotationRuntime } from './rotate-setup.js';

export interface KubeRollbackOptions extends KubeRotationOptions {
  backup?: string;
  force?: boolean;
  /** Default true; false: restart the control plane only. */
  restartApps?: boolean;
  /** Skip the restarts altogether (print what to restart). */
  restart?: boolean;
  appNamespaces?: string[];
  maxConcurrentRestarts?: number;
  /** Per rollout, ms (default 300 s). */
  timeout?: number;
}

const DEFAULT_ROLLOUT_TIMEOUT_MS = 300_000;

export async function rollbackKubernetes(opts: KubeRollbackOptions, io: Io, runtime: RotationRuntime = {}): Promise<number> {
  const setup = await openKubeRotation(opts, io, runtime);
  const { store, journal } = setup;
  const now = io.clock.now();
  const lock = await journal.lock(now);
  try {
    const ref = await selectBackup(store, opts.backup);
    printStatus(io, 'pending', `Restoring backup ${ref.name} (${ref.location}) into ${store.description}`);
    const candidate = await inspectBackup(store, ref, now);
    printFindingsTable(io, candidate.findings);
    if (candidate.broken) {
      printStatus(io, 'failure', `Backup ${ref.name} fails its checks; nothing was written. Pick another one with --backup (\`${kubeCommandLine('backups', opts)}\`)`);
      return EXIT.checksFailed;
    }
    if (candidate.expired) {
      if (!opts.force) throw expiredBackupError(candidate, now);
      printStatus(io, 'warning', `Backup ${ref.name} has expired; restoring it anyway (--force): mTLS will not work until the bundle is renewed`);
    }
    // Found before writing, so a missing right to list or read workloads stops the rollback early.
    const restarts: KubeRestartPlan = {
      controlPlane: opts.restart === false ? undefined : await findControlPlane(setup.clients, setup.namespace),
      apps: opts.restart === false || opts.restartApps === false ? undefined
        : await findDaprApps(setup.clients, { ...(opts.appNamespaces ? { namespaces: opts.appNamespaces } : {}), controlPlaneNamespace: setup.namespace }),
      appNamespaces: opts.appNamespaces,
      maxConcurrent: opts.maxConcurrentRestarts ?? 5,
      timeoutMs: opts.timeout ?? DEFAULT_ROLLOUT_TIMEOUT_MS,
    };
    const before = await store.read();
    const result = await restoreBundle(store, journal, candidate.texts, io.clock);
    const written = io.clock.now();
    if (!result.written) printStatus(io, 'info', `${store.description} already equals backup ${ref.name}; nothing was written`);
    else if (result.write?.backup !== undefined) printStatus(io, 'info', `The bundle it replaced is backed up in ${result.write.backup.location}`);
    if (result.abandoned !== undefined) {
      printStatus(io, 'warning', `The unfinished rotation ${result.abandoned.id} is abandoned (marked rolled back); start a new one with \`${kubeCommandLine('rotate', opts)}\``);
    }
    const root = candidate.bundle?.root;
    printStatus(io, 'success', `Rolled back to ${ref.name}${root ? `; its root is valid through ${describeTime(root.notAfter)}` : ''}`);
    const caChanged = before.state !== 'complete' || before.texts.ca !== candidate.texts.ca;
    if (!result.written && result.abandoned === undefined) return EXIT.ok;
    if (restarts.controlPlane === undefined) {
      printStatus(io, 'info', `Not restarted (--no-restart): restart dapr-sentry first, then the rest of the control plane${caChanged ? ', then every Dapr app' : ''}`);
      return EXIT.ok;
    }
    if (!caChanged) restarts.apps = undefined; // same trust anchors: the apps keep working
    // kubectl's restartedAt has whole seconds: a restart in the second of an earlier one (e.g. a
    // rotation that just finished) would set the same value and roll nothing out.
    const next = Math.floor(written.getTime() / 1000) * 1000 + 1000;
    const wait = next - io.clock.now().getTime();
    if (wait > 0) await (runtime.sleeper ?? { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) }).sleep(wait + 5);
    await runKubeRestarts(io, setup.clients, setup.namespace, restarts, false);
    return EXIT.ok;
  } finally {
    await lock.release();
  }
}

export interface KubeBackupsOptions extends KubeRotationOptions {
  output: OutputFormat;
}

/** `warden mtls backups -k`: the backup Secrets, newest first, with their roots' and issuers' expiry. */
export async function backupsKubernetes(opts: KubeBackupsOptions, io: Io, runtime: RotationRuntime = {}): Promise<number> {
  const { store, namespace } = await openKubeRotation(opts, io, runtime);
  const now = io.clock.now();
  const rows: Record<string, unknown>[] = [];
  const table: string[][] = [];
  for (const ref of await store.listBackups()) {
    const base = { name: ref.name, location: ref.location, createdAt: ref.createdAt.toISOString() };
    try {
      const c = await inspectBackup(store, ref, now);
      const b = c.bundle;
      const restorable = b === undefined ? 'unreadable' : c.broken ? 'broken' : c.expired ? 'expired' : 'ok';
      const cert = (x: { subject: { text: string }; notBefore: Date; notAfter: Date } | undefined) =>
        x === undefined ? null : { subject: x.subject.text, notAfter: x.notAfter.toISOString(), state: expiryState(x, now) };
      rows.push({ ...base, root: cert(b?.root), issuer: cert(b?.issuer), anchors: b?.anchors.length ?? 0, restorable });
      table.push([
        ref.name,
        b ? `${b.root.subject.text || '(empty subject)'}${b.anchors.length > 1 ? ` (+${b.anchors.length - 1} more)` : ''}` : '-',
        b ? `${describeTime(b.root.notAfter)} (${expiryState(b.root, now)})` : '-',
        b ? `${describeTime(b.issuer.notAfter)} (${expiryState(b.issuer, now)})` : '-',
        restorable === 'ok' ? 'yes' : restorable === 'expired' ? 'with --force' : `no (${restorable})`,
      ]);
    } catch (error) {
      if (!(error instanceof WardenError)) throw error;
      rows.push({ ...base, root: null, issuer: null, anchors: 0, restorable: 'unreadable', error: error.message });
      table.push([ref.name, '-', '-', '-', 'no (unreadable)']);
    }
  }
  if (opts.output === 'json') {
    printJson(io, { namespace, secret: store.secretName, backups: rows });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    printStatus(io, 'info', `No backup Secrets (${store.secretName}-backup-*) in ${namespace} (Warden backs the bundle up whenever it replaces it)`);
    return EXIT.ok;
  }
  io.stdout(formatTable(['NAME', 'ROOT', 'ROOT EXPIRES', 'ISSUER EXPIRES', 'RESTORABLE'], table));
  printStatus(io, 'info', `Restore one with \`${kubeCommandLine('rollback', opts, ['--backup', 'NAME'])}\` (default: the newest, ${String(rows[0]?.name)})`);
  return EXIT.ok;
}
