/**
 * Reading the three files as one consistent snapshot, without taking the writer lock and without
 * writing anything (reads work on a full or read-only file system).
 *
 * A seqlock over the file system: open and read each file, keeping the handles open; then check
 * that no committed transaction is in flight and that every path still names the very inode that
 * was read (a held handle keeps its inode allocated, so an inode number cannot be reused while we
 * compare). Any rename into place between the first open and the check makes one of the two tests
 * fail, so a snapshot that passes both is never a mix of two writes. In the versioned layout the
 * paths resolve through `..data`, so its swap changes all three inodes at once.
 *
 * A committed but unfinished transaction (fs-txn.ts) is read *through* its record: each part from
 * its staged file, or from the target once that was renamed. While the record exists no later
 * write can have touched the targets (a writer first finishes it), so that view is the committed
 * bundle even when this process cannot finish the renames itself.
 */
import { stat } from 'node:fs/promises';
import { STORE_PARTS, type StorePart, type FsLayout } from './fs-layout.js';
import { errnoOf, toStoreIoError } from './fs-io.js';
import { type OpenedFile, openBundleFile } from './fs-file-read.js';
import { hasCommittedRecord, listCommittedRecords, type TxnRecord } from './fs-txn.js';

/** The text of each part, undefined when its file does not exist. */
export type FileSnapshot = Record<StorePart, string | undefined>;

interface OpenedPart {
  part: StorePart;
  file?: OpenedFile;
}

/** One attempt: the snapshot, or undefined when a write overlapped it (try again). */
export async function readSnapshotOnce(layout: FsLayout): Promise<FileSnapshot | undefined> {
  const records = await listCommittedRecords(layout);
  if (records.length > 1) return undefined; // a roll-forward is under way; look again
  const record = records[0];
  const opened: OpenedPart[] = [];
  try {
    for (const part of STORE_PARTS) {
      const staged = record?.record.renames.find((r) => r.to === layout.files[part])?.from;
      const file = (staged === undefined ? undefined : await openBundleFile(staged)) ?? (await openBundleFile(layout.files[part]));
      opened.push({ part, file });
    }
    const still = record === undefined ? await isStill(layout, opened) : await recordStillThere(layout, record.record);
    if (!still) return undefined;
    const snapshot = {} as FileSnapshot;
    for (const p of opened) snapshot[p.part] = p.file?.text;
    return snapshot;
  } finally {
    for (const p of opened) await p.file?.handle.close();
  }
}

async function recordStillThere(layout: FsLayout, record: TxnRecord): Promise<boolean> {
  return (await listCommittedRecords(layout)).some((r) => r.record.id === record.id);
}

async function isStill(layout: FsLayout, opened: OpenedPart[]): Promise<boolean> {
  if (await hasCommittedRecord(layout)) return false;
  for (const p of opened) {
    const path = layout.files[p.part];
    try {
      const now = await stat(path, { bigint: true });
      if (p.file === undefined || now.ino !== p.file.ino || now.dev !== p.file.dev) return false;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw toStoreIoError('stat', path, err);
      if (p.file !== undefined) return false;
    }
  }
  return true;
}
