/**
 * The versioned layout: how a bundle whose three files sit directly in the credentials directory
 * is replaced atomically for *every* reader, not only for Warden's (the kubelet's AtomicWriter
 * technique, the one Kubernetes uses for mounted Secrets and ConfigMaps):
 *
 *   <dir>/..warden-20261204T183425Z-<id>/{ca.crt,issuer.crt,issuer.key}   real files, 0600, dir 0700
 *   <dir>/..data -> ..warden-20261204T183425Z-<id>                          the current version
 *   <dir>/ca.crt -> ..data/ca.crt   (and issuer.crt, issuer.key)            what Dapr's Sentry reads
 *
 * A write fills a new version directory, fsyncs it, and renames a temp symlink over `..data`: one
 * rename switches all three files, so a process killed at any instant leaves either the old or the
 * new bundle visible under the usual names, never a mix. Afterwards the versions Warden made
 * earlier are removed; a kill leaves at most an orphan version directory or temp symlink, which
 * the next locked write (or tidying read) removes. Version directories Warden did not create
 * (say a hand-made kubelet-style layout) are never deleted.
 *
 * A directory of plain files is migrated on its first write, content-preserving: a version holding
 * the current files is published first, then each plain file is swapped for its link (each swap
 * leaves the visible content unchanged), and only then is the new bundle published.
 */
import { lstat, mkdir, chmod, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WardenError } from '../core/errors.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import { formatBackupStamp } from './fs-backup.js';
import { createRandomId, errnoOf, fsyncDir, readDirIfPresent, toStoreIoError, writeNewFileDurably } from './fs-io.js';
import {
  DATA_TEMP_NAME, type FsLayout, managedLinkTarget, stagedPathFor, STORE_PARTS, type StorePart, VERSION_DIR_NAME,
} from './fs-layout.js';
import type { FileSnapshot } from './fs-snapshot.js';

/**
 * Publishes `texts` as a new version (the caller holds the writer lock and has read `current`).
 * Migrates a plain-file directory first.
 */
export async function writeVersioned(layout: FsLayout, texts: BundleTexts, current: FileSnapshot, now: Date): Promise<void> {
  let action = 'move the existing bundle into the versioned layout in';
  // The JWT files get their `..data` links only once a version holds them: a bundle without JWT
  // material leaves no dangling jwt.key / jwks.json links behind.
  const parts = STORE_PARTS.filter((p) => texts[p] !== undefined || current[p] !== undefined);
  try {
    if (!(await allLinksManaged(layout, parts))) {
      if (STORE_PARTS.some((p) => current[p] !== undefined)) await publish(layout, current, now);
      await linkFilesToData(layout, parts);
    }
    action = 'publish the new bundle version in';
    await publish(layout, texts, now);
  } catch (err) {
    throw toStoreIoError(action, layout.dir, err);
  }
  // The bundle is published; an old version that cannot be removed now is removed by the next write.
  await removeVersionDebris(layout).catch(() => undefined);
}

/**
 * Refuses to write over a bundle path that is a symlink Warden did not make (e.g. a link into a
 * secrets mount): replacing it would silently cut the link. Plain files, missing files and the
 * layout's own `..data/<name>` links are fine.
 */
export async function assertNoForeignLinks(layout: FsLayout): Promise<void> {
  for (const part of STORE_PARTS) {
    const path = layout.files[part];
    const target = await readLinkIfLink(path);
    const managed = dirname(path) === layout.dir && target === managedLinkTarget(basename(path));
    if (target === undefined || managed) continue;
    throw new WardenError(
      'ERR_STORE_SYMLINK_REFUSED',
      `${path} is a symbolic link to ${target}, which Warden did not make; writing would replace the link with a plain file and cut it off from ${target}. ` +
        `Replace the link with the file itself (cp -L), or point --issuer-credentials at the directory the link leads to; nothing was written.`,
    );
  }
}

/** Version directories and temp links left by killed writes (delete only under the writer lock). */
export async function findVersionDebris(layout: FsLayout): Promise<string[]> {
  if (!layout.versioned) return [];
  const names = await readDirIfPresent(layout.dir);
  if (!names.some((n) => VERSION_DIR_NAME.test(n) || DATA_TEMP_NAME.test(n))) return [];
  const current = await readLinkIfLink(layout.dataLink);
  return names.filter((n) => DATA_TEMP_NAME.test(n) || (VERSION_DIR_NAME.test(n) && n !== current)).map((n) => join(layout.dir, n));
}

export async function removeVersionDebris(layout: FsLayout): Promise<void> {
  for (const path of await findVersionDebris(layout)) {
    try {
      await rm(path, { recursive: true, force: true });
    } catch (err) {
      throw toStoreIoError('remove the old version', path, err);
    }
  }
}

async function allLinksManaged(layout: FsLayout, parts: readonly StorePart[]): Promise<boolean> {
  for (const part of parts) {
    if ((await readLinkIfLink(layout.files[part])) !== managedLinkTarget(basename(layout.files[part]))) return false;
  }
  return (await readLinkIfLink(layout.dataLink)) !== undefined;
}

/** Writes the parts present in `texts` into a new version directory and points `..data` at it. */
async function publish(layout: FsLayout, texts: Partial<BundleTexts>, now: Date): Promise<void> {
  const name = `..warden-${formatBackupStamp(now)}-${createRandomId()}`;
  const versionDir = join(layout.dir, name);
  await mkdir(versionDir, { mode: 0o700 });
  await chmod(versionDir, 0o700);
  for (const part of STORE_PARTS) {
    const text = texts[part];
    if (text !== undefined) await writeNewFileDurably(join(versionDir, basename(layout.files[part])), text);
  }
  await fsyncDir(versionDir);
  await fsyncDir(layout.dir); // the version's own entry is durable before `..data` may name it
  const temp = join(layout.dir, `.warden-data-${createRandomId()}.tmp`);
  await symlink(name, temp);
  await rename(temp, layout.dataLink); // the commit point: every reader switches here
  await fsyncDir(layout.dir);
}

/**
 * Makes each bundle path the link `..data/<name>`. `..data` already holds what each path shows
 * now (or the path is missing), so no reader sees a change; a link to a part the version lacks
 * dangles, which reads as a missing file, as before.
 */
async function linkFilesToData(layout: FsLayout, parts: readonly StorePart[]): Promise<void> {
  for (const part of parts) {
    const path = layout.files[part];
    const wanted = managedLinkTarget(basename(path));
    if ((await readLinkIfLink(path)) === wanted) continue;
    const temp = stagedPathFor(path, createRandomId()); // debris if we die: no record names it
    await symlink(wanted, temp);
    await rename(temp, path);
  }
  await fsyncDir(layout.dir);
}

/** The link's target, or undefined when `path` is missing or not a symlink. */
async function readLinkIfLink(path: string): Promise<string | undefined> {
  try {
    const info = await lstat(path);
    return info.isSymbolicLink() ? await readlink(path) : undefined;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw toStoreIoError('inspect', path, err);
  }
}

