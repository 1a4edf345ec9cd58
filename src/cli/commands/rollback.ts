import { dispatchKube } from '../rotation/kube-dispatch.js';
import { describeTime } from '../../core/checks/labels.js';
import { resolveBundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import type { CredentialOptions } from '../options.js';
import { printStatus, type OutputFormat } from '../output.js';
import { rollbackOutcome, withJsonOutcome, type RollbackReport } from '../rollback-outcome.js';
import { WardenError } from '../../core/errors.js';
import { expiredBackupError, inspectBackup, restoreBundle, selectBackup } from '../../rotation/rollback.js';
import { openSelfHosted, type RotationRuntime } from '../rotation/rotate-setup.js';

export interface RollbackOptions extends CredentialOptions {
  /** Backup name (`warden mtls backups`); default the latest. */
  backup?: string;
  /** Restore a backup whose root or issuer has expired (other check errors are never overridden). */
  force?: boolean;
  /** `-o json`: what was restored as JSON on stdout (rollback-outcome.ts), status lines on stderr. */
  output?: OutputFormat;
}

/**
 * `warden mtls rollback`: restores the latest backup (or `--backup NAME`) through the store, which
 * backs up the bundle it replaces (so a rollback can itself be rolled back). The backup runs the
 * full check chain first: a broken one is refused (exit 3), an expired one too unless `--force`
 * (ERR_BACKUP_EXPIRED). Takes the rotation lock, so it never races a running rotation, and
 * abandons an unfinished one (its journal is marked rolled back). A partial bundle is replaced.
 */
export async function rollbackCommand(
  opts: RollbackOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}, report: RollbackReport = () => undefined,
): Promise<number> {
  if (opts.output === 'json') {
    if ((opts as { kubernetes?: boolean }).kubernetes) throw new WardenError('ERR_USAGE', '-o json is not supported with rollback -k yet; leave it out');
    return withJsonOutcome(io, (text, sink) => rollbackCommand({ ...opts, output: 'text' }, text, _deps, runtime, sink));
  }
  const kube = await dispatchKube('rollback', opts, io, runtime);
  if (kube !== undefined) return kube;
  const loc = resolveBundleLocation(opts, io);
  const { store, journal } = openSelfHosted(loc, io, runtime);
  const now = io.clock.now();
  const lock = await journal.lock(now);
  try {
    const ref = await selectBackup(store, opts.backup);
    printStatus(io, 'pending', `Restoring backup ${ref.name} (${ref.location})`);
    const candidate = await inspectBackup(store, ref, now);
    printFindingsTable(io, candidate.findings);
    if (candidate.broken) {
      printStatus(io, 'failure', `Backup ${ref.name} fails its checks; nothing was written. Pick another one with --backup (\`warden mtls backups\`)`);
      report(rollbackOutcome(candidate, undefined));
      return EXIT.checksFailed;
    }
    if (candidate.expired) {
      if (!opts.force) throw expiredBackupError(candidate, now);
      printStatus(io, 'warning', `Backup ${ref.name} has expired; restoring it anyway (--force): mTLS will not work until the bundle is renewed`);
    }
    const result = await restoreBundle(store, journal, candidate.texts, io.clock);
    if (!result.written) {
      printStatus(io, 'info', `The bundle in ${loc.dir} already equals backup ${ref.name}; nothing was written`);
    } else if (result.write?.backup !== undefined) {
      printStatus(io, 'info', `The bundle it replaced is backed up in ${result.write.backup.location}`);
    }
    if (result.abandoned !== undefined) {
      printStatus(io, 'warning', `The unfinished rotation ${result.abandoned.id} is abandoned (marked rolled back); start a new one with \`warden mtls rotate\``);
    }
    const root = candidate.bundle?.root;
    printStatus(io, 'success', `Rolled back to ${ref.name}${root ? `; its root is valid through ${describeTime(root.notAfter)}` : ''}`);
    if (result.written) {
      printStatus(io, 'info', `A running sentry reloads it by itself. If ca.crt changed, restart every daprd with: export DAPR_TRUST_ANCHORS="$(cat ${loc.caPath})"`);
    }
    report(rollbackOutcome(candidate, result));
    return EXIT.ok;
  } finally {
    await lock.release();
  }
}
