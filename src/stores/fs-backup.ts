/**
 * Backups of replaced bundles: `<dir>/.backup/<UTC stamp>[-n]/<original base names>`, directory
 * 0700, files 0600. A backup is assembled in `.backup/.tmp-<id>` and renamed into place, so a
 * listed backup is always whole; a killed write leaves only a `.tmp-*` directory (debris).
 *
 * Backups hold copies of the contents (never links), and links are never followed here: a
 * `.backup` that is a symlink, a backup directory or file that is one, is refused
 * (`ERR_STORE_SYMLINK_REFUSED`), so nothing is written to or read from outside the directory.
 */
import { chmod, lstat, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import { BUNDLE_PARTS, STORE_PARTS, type FsLayout } from './fs-layout.js';
import { hasJwtTexts } from '../core/bundle-texts.js';
import { createRandomId, ensurePrivateDir, errnoOf, fsyncDir, readDirIfPresent, toStoreIoError, writeNewFileDurably } from './fs-io.js';
import type { BackupRef } from './store.js';
import type { FileSnapshot } from './fs-snapshot.js';
import { readBundleFile } from './fs-file-read.js';

const BACKUP_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-([1-9]\d*))?$/;
const TEMP_NAME = /^\.tmp-[0-9a-f]{16}$/;

/** `20261129T234512Z` for that instant (UTC, whole seconds). */
export function formatBackupStamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Saves the files present in `snapshot` as a new backup; the caller holds the writer lock. */
export async function createBackup(layout: FsLayout, snapshot: FileSnapshot, clock: Clock): Promise<BackupRef> {
  const root = layout.backupRoot;
  await assertRealDir(root);
  await ensurePrivateDir(root);
  const temp = join(root, `.tmp-${createRandomId()}`);
  let current = temp;
  try {
    await mkdir(temp, { mode: 0o700 });
    await chmod(temp, 0o700);
    for (const part of STORE_PARTS) {
      const text = snapshot[part];
      if (text === undefined) continue;
      current = join(temp, basename(layout.files[part]));
      await writeNewFileDurably(current, text);
    }
    await fsyncDir(temp);
    const stamp = formatBackupStamp(clock.now());
    for (let n = 1; ; n++) {
      const name = n === 1 ? stamp : `${stamp}-${n}`;
      current = join(root, name);
      if (await renameUnlessTaken(temp, current)) {
        await fsyncDir(root);
        return toBackupRef(layout, name);
      }
    }
  } catch (err) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw toStoreIoError('back up the trust bundle to', current, err);
  }
}

/** Backups, newest first (by stamp, then by collision suffix). */
export async function listBackups(layout: FsLayout): Promise<BackupRef[]> {
  await assertRealDir(layout.backupRoot);
  const names = (await readDirIfPresent(layout.backupRoot)).filter((name) => BACKUP_NAME.test(name));
  return names.map((name) => toBackupRef(layout, name)).sort(compareNewestFirst);
}

export async function readBackup(layout: FsLayout, name: string): Promise<BundleTexts> {
  if (!BACKUP_NAME.test(name)) {
    throw new WardenError('ERR_BUNDLE_NOT_FOUND', `"${name}" is not a backup name (like 20261129T234512Z): list the backups and pick one.`);
  }
  const location = join(layout.backupRoot, name);
  await assertRealDir(layout.backupRoot);
  await assertRealDir(location);
  const texts: Partial<BundleTexts> = {};
  const missing: string[] = [];
  for (const part of BUNDLE_PARTS) {
    const path = join(location, basename(layout.files[part]));
    const text = await readBundleFile(path, { noFollow: true });
    if (text === undefined) missing.push(path);
    else texts[part] = text;
  }
  if (missing.length === 3) {
    throw new WardenError('ERR_BUNDLE_NOT_FOUND', `There is no backup at ${location}: list the backups and pick one.`);
  }
  if (missing.length > 0) {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `The backup ${location} is incomplete (missing ${missing.join(', ')}); it was taken of an incomplete bundle. Pick another backup.`,
    );
  }
  // The JWT pair comes back only whole, as the store reads it.
  const jwt = { jwtKey: await readBundleFile(join(location, basename(layout.files.jwtKey)), { noFollow: true }),
    jwks: await readBundleFile(join(location, basename(layout.files.jwks)), { noFollow: true }) };
  return (hasJwtTexts(jwt) ? { ...texts, ...jwt } : texts) as BundleTexts;
}

/** Temp directories of backups that were being assembled when a write was killed. */
export async function findBackupDebris(layout: FsLayout): Promise<string[]> {
  await assertRealDir(layout.backupRoot);
  return (await readDirIfPresent(layout.backupRoot)).filter((n) => TEMP_NAME.test(n)).map((n) => join(layout.backupRoot, n));
}

export async function removeBackupDebris(layout: FsLayout): Promise<void> {
  for (const path of await findBackupDebris(layout)) {
    await rm(path, { recursive: true, force: true }).catch((err: unknown) => {
      throw toStoreIoError('remove the leftover', path, err);
    });
  }
}

/** A missing path is fine (nothing there yet); a symlink is refused, as is a non-directory. */
async function assertRealDir(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw toStoreIoError('inspect', path, err);
  }
  if (info.isSymbolicLink()) {
    throw new WardenError(
      'ERR_STORE_SYMLINK_REFUSED',
      `${path} is a symbolic link; Warden keeps backups only inside the credentials directory and does not follow links out of it. Replace the link with a real directory (move the backups into it), then try again.`,
    );
  }
  if (!info.isDirectory()) throw toStoreIoError('use as a backup directory', path, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
}

// rename(2) of a directory onto an existing non-empty directory fails; that name is taken.
async function renameUnlessTaken(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(errnoOf(err) ?? '')) return false;
    throw err;
  }
}

function toBackupRef(layout: FsLayout, name: string): BackupRef {
  const m = BACKUP_NAME.exec(name)!;
  const createdAt = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return { name, location: join(layout.backupRoot, name), createdAt };
}

function suffixOf(name: string): number {
  return Number(BACKUP_NAME.exec(name)?.[7] ?? 1);
}

function compareNewestFirst(a: BackupRef, b: BackupRef): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || suffixOf(b.name) - suffixOf(a.name);
}
