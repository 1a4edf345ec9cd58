import { describeTime } from '../../core/checks/labels.js';
import { expiredBackupError, inspectBackup, restoreBundle, selectBackup } from '../../rotation-engine/rollback.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { printStatus, type OutputFormat } from '../output.js';
import { rollbackOutcome, withJsonOutcome, type RollbackReport } from '../rollback-outcome.js';
import { WardenError } from '../../core/errors.js';
import { openSite } from '../site/open-site.js';
import type { RotationRuntime, SiteOptions } from '../site/site.js';

export interface RollbackOptions extends SiteOptions {
  /** Backup name (`warden mtls backups`); default the latest. */
  backup?: string;
  /** Restore a backup whose root or issuer has expired (other check errors are never overridden). */
  force?: boolean;
  /** `-o json`: what was restored as JSON on stdout (rollback-outcome.ts), status lines on stderr. */
  output?: OutputFormat;
}

/**
 * `warden mtls rollback`: restores the latest backup (or `--backup NAME`) through the site's store,
 * which backs up the bundle it replaces (so a rollback can itself be rolled back). The backup runs
 * the full check chain first: a broken one is refused (exit 3), an expired one too unless `--force`
 * (ERR_BACKUP_EXPIRED, exit 3). Takes the rotation lock, so it never races a running rotation, and
 * abandons an unfinished one (its journal is marked rolled back). A partial bundle is replaced.
 * Then the site restarts what reads the bundle (a cluster: the control plane in order, then the
 * apps when ca.crt changed) or says what to restart (a directory).
 */
export async function rollbackCommand(
  opts: RollbackOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}, report: RollbackReport = () => undefined,
): Promise<number> {
  if (opts.output === 'json') {
    if (opts.kubernetes) throw new WardenError('ERR_USAGE', '-o json is not supported with rollback -k yet; leave it out');
    return withJsonOutcome(io, (text, sink) => rollbackCommand({ ...opts, output: 'text' }, text, _deps, runtime, sink));
  }
  const site = await openSite('rollback', opts, io, runtime);
  const { store, journal } = site;
  const now = io.clock.now();
  const lock = await journal.lock(now);
  try {
    const backups = site.commandLine('backups');
    const ref = await selectBackup(store, opts.backup, backups);
    printStatus(io, 'pending', `Restoring backup ${ref.name} (${ref.location}) into ${store.description}`);
    const candidate = await inspectBackup(store, ref, now);
    printFindingsTable(io, candidate.findings);
    if (candidate.broken) {
      printStatus(io, 'failure', `Backup ${ref.name} fails its checks; nothing was written. Pick another one with --backup (\`${backups}\`)`);
      report(rollbackOutcome(candidate, undefined));
      return EXIT.checksFailed;
    }
    if (candidate.expired) {
      if (!opts.force) throw expiredBackupError(candidate, now, backups);
      printStatus(io, 'warning', `Backup ${ref.name} has expired; restoring it anyway (--force): mTLS will not work until the bundle is renewed`);
    }
    const restarts = await site.rollbackRestarts(opts, io, runtime);
    const before = await store.read();
    const result = await restoreBundle(store, journal, candidate.texts, io.clock);
    const writtenAt = io.clock.now();
    if (!result.written) printStatus(io, 'info', `${store.description} already equals backup ${ref.name}; nothing was written`);
    else if (result.write?.backup !== undefined) printStatus(io, 'info', `The bundle it replaced is backed up in ${result.write.backup.location}`);
    if (result.abandoned !== undefined) {
      printStatus(io, 'warning', `The unfinished rotation ${result.abandoned.id} is abandoned (marked rolled back); start a new one with \`${site.commandLine('rotate')}\``);
    }
    const root = candidate.bundle?.root;
    printStatus(io, 'success', `Rolled back to ${ref.name}${root ? `; its root is valid through ${describeTime(root.notAfter)}` : ''}`);
    report(rollbackOutcome(candidate, result));
    const caChanged = before.state !== 'complete' || before.texts.ca !== candidate.texts.ca;
    await restarts.run(io, { written: result.written, abandoned: result.abandoned !== undefined, caChanged, writtenAt });
    return EXIT.ok;
  } finally {
    await lock.release();
  }
}
