/**
 * Commands that replace the bundle outside a rotation (`renew-certificate`) must not do it under an
 * unfinished one: the rotation would then stop with ERR_ROTATION_DIVERGED, and the newest backup
 * would be the bundle renew replaced, not the one from before the rotation.
 */
import { WardenError } from '../../core/errors.js';
import type { Io } from '../io.js';
import type { CredentialOptions } from '../options.js';
import { openSite } from './open-site.js';
import type { SiteOptions } from './site.js';

/** Throws ERR_ROTATION_IN_PROGRESS when the site addressed by `opts` has an unfinished rotation. */
export async function refuseDuringRotation(opts: SiteOptions & Partial<CredentialOptions>, io: Io, what: string): Promise<void> {
  // `-k` with --issuer-credentials is the caller's usage error to report.
  if (opts.kubernetes && opts.issuerCredentials !== undefined) return;
  const site = await openSite('guard', opts, io);
  const record = await site.journal.read();
  if (record?.status !== 'in-progress') return;
  const rollback = site.commandLine('rollback', record.backup ? ['--backup', record.backup.name] : []);
  throw new WardenError(
    'ERR_ROTATION_IN_PROGRESS',
    `Rotation ${record.id} is unfinished (last completed phase: ${record.phase}) in ${site.journalWhere}: ${what} now would replace the bundle under it, ` +
      `and the rotation could not continue. Finish it with \`${site.commandLine('rotate', ['--resume'])}\` (also the way out when the old root has expired), ` +
      `or abandon it first with \`${rollback}\` (restores the bundle from before the rotation); nothing was written.`,
  );
}
