/**
 * Reading the three files as one consistent snapshot, without taking the writer lock.
 *
 * A seqlock over the file system: open and read each file, keeping the handles open; then check
 * that no committed transaction is in flight and that every path still names the very inode that
 * was read (a held handle keeps its inode allocated, so an inode number cannot be reused while we
 * compare). Any rename into place between the first open and the check makes one of the two tests
 * fail, so a snapshot that passes both is never a mix of two writes.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { BUNDLE_PARTS, type BundlePart, type FsLayout } from './fs-layout.js';
import { errnoOf, toStoreIoError } from './fs-io.js';
import { hasCommittedRecord } from './fs-txn.js';

/** The text of each part, undefined when its file does not exist. */
export type FileSnapshot = Record<BundlePart, string | undefined>;

interface OpenedPart {
  part: BundlePart;
  handle?: FileHandle;
  ino?: bigint;
  dev?: bigint;
  text?: string;
}

/** One attempt: the snapshot, or undefined when a write overlapped it (try again). */
export async function readSnapshotOnce(layout: FsLayout): Promise<FileSnapshot | undefined> {
  const opened: OpenedPart[] = [];
  try {
    for (const part of BUNDLE_PARTS) opened.push(await openPart(layout, part));
    if (!(await isStill(layout, opened))) return undefined;
    const snapshot = {} as FileSnapshot;
    for (const p of opened) snapshot[p.part] = p.text;
    return snapshot;
  } finally {
    for (const p of opened) await p.handle?.close();
  }
}

async function openPart(layout: FsLayout, part: BundlePart): Promise<OpenedPart> {
  const path = layout.files[part];
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return { part };
    throw toStoreIoError('open', path, err);
  }
  try {
    const info = await handle.stat({ bigint: true });
    const text = await handle.readFile('utf8');
    return { part, handle, ino: info.ino, dev: info.dev, text };
  } catch (err) {
    await handle.close();
    throw toStoreIoError('read', path, err);
  }
}

async function isStill(layout: FsLayout, opened: OpenedPart[]): Promise<boolean> {
  if (await hasCommittedRecord(layout)) return false;
  for (const p of opened) {
    const path = layout.files[p.part];
    try {
      const now = await stat(path, { bigint: true });
      if (p.handle === undefined || now.ino !== p.ino || now.dev !== p.dev) return false;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw toStoreIoError('stat', path, err);
      if (p.handle !== undefined) return false;
    }
  }
  return true;
}
