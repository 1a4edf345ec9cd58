/**
 * Multi-file atomic replacement for the fs store.
 *
 * POSIX renames one file atomically, not three. So a write is a small redo-log transaction:
 *   1. stage: each new text goes to `<target>.<txn>.warden-new` next to its target (same file
 *      system, so the final rename is atomic), mode 0600, fsynced; then the directories are
 *      fsynced so the staged names survive a power loss;
 *   2. commit: the record `<dir>/.warden-txn-<txn>.json` listing the renames is written to a temp
 *      file, fsynced and renamed into place (the commit point), and the directory is fsynced;
 *   3. apply: each staged file is renamed over its target, the directories are fsynced, and the
 *      record is removed.
 * A crash before the commit point leaves the old files untouched plus staged debris; a crash
 * after it leaves a record that any reader rolls forward (`rollForwardCommitted`). Rolling forward
 * is idempotent: a rename whose staged file is gone was already done.
 *
 * Why the transaction id is in every name (rather than fixed `.warden-new` / `.warden-txn.json`):
 * readers roll forward without taking the writer lock. With fixed names, a reader holding a stale
 * view of a finished record could rename the *next* writer's uncommitted staged file into place,
 * or delete the next writer's committed record; unique names make both impossible.
 */
import { readFile, rename } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { WardenError } from '../core/errors.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import {
  STORE_PARTS, type FsLayout, isStagedNameFor, listFileDirs, stagedPathFor, TXN_RECORD_NAME, TXN_TEMP_NAME, txnRecordPath,
} from './fs-layout.js';
import { createRandomId, errnoOf, fsyncDir, readDirIfPresent, renameIfPresent, toStoreIoError, unlinkIfPresent, writeNewFileDurably } from './fs-io.js';

interface Rename { from: string; to: string }
export interface TxnRecord { format: 1; id: string; renames: Rename[] }

/**
 * Replaces the files present in `texts` (three, or five with the JWT pair) as one transaction.
 * The caller holds the writer lock. On a failure before the commit point the staged files are
 * removed and the old bundle is untouched.
 */
export async function replaceBundleFiles(layout: FsLayout, texts: BundleTexts): Promise<void> {
  const id = createRandomId();
  const parts = STORE_PARTS.filter((part) => texts[part] !== undefined);
  const record: TxnRecord = {
    format: 1,
    id,
    renames: parts.map((part) => ({ from: stagedPathFor(layout.files[part], id), to: layout.files[part] })),
  };
  const recordPath = txnRecordPath(layout, id);
  let committed = false;
  let current = '';
  try {
    for (const [index, part] of parts.entries()) {
      current = record.renames[index]!.from;
      await writeNewFileDurably(current, texts[part]!);
    }
    current = layout.dir;
    for (const dir of listFileDirs(layout)) await fsyncDir(dir);
    current = recordPath;
    await writeNewFileDurably(`${recordPath}.tmp`, `${JSON.stringify(record)}\n`);
    await rename(`${recordPath}.tmp`, recordPath);
    committed = true;
    await fsyncDir(layout.dir);
    await applyRecord(record, recordPath);
  } catch (err) {
    if (!committed) await discardStaged(record, recordPath);
    throw toStoreIoError(committed ? 'finish writing the trust bundle at' : 'stage', current, err);
  }
}

/** Completes every committed transaction found in the credentials directory. */
export async function rollForwardCommitted(layout: FsLayout): Promise<void> {
  for (const name of await readDirIfPresent(layout.dir)) {
    if (!TXN_RECORD_NAME.test(name)) continue;
    const recordPath = join(layout.dir, name);
    const record = await readRecord(recordPath);
    if (record === undefined) continue; // finished by someone else meanwhile
    try {
      await fsyncDir(layout.dir); // never act on a record that is not yet durable itself
      await applyRecord(record, recordPath);
    } catch (err) {
      throw toStoreIoError('complete the interrupted write recorded in', recordPath, err);
    }
  }
}

/** The committed, unfinished transactions (a damaged record is `ERR_STORE_IO`). */
export async function listCommittedRecords(layout: FsLayout): Promise<{ path: string; record: TxnRecord }[]> {
  const found: { path: string; record: TxnRecord }[] = [];
  for (const name of await readDirIfPresent(layout.dir)) {
    if (!TXN_RECORD_NAME.test(name)) continue;
    const path = join(layout.dir, name);
    const record = await readRecord(path);
    if (record !== undefined) found.push({ path, record });
  }
  return found;
}

/** True while some committed transaction is not finished (its renames may be half done). */
export async function hasCommittedRecord(layout: FsLayout): Promise<boolean> {
  return (await readDirIfPresent(layout.dir)).some((name) => TXN_RECORD_NAME.test(name));
}

/**
 * Leftovers of writes killed before their commit point: staged files without a record and
 * record temp files. Only meaningful to delete while holding the writer lock, because a live
 * writer's staged files look the same until it commits.
 */
export async function findDebris(layout: FsLayout): Promise<string[]> {
  const dirEntries = await readDirIfPresent(layout.dir);
  const liveTxns = new Set(dirEntries.flatMap((name) => TXN_RECORD_NAME.exec(name)?.[1] ?? []));
  const debris = dirEntries.filter((name) => TXN_TEMP_NAME.test(name)).map((name) => join(layout.dir, name));
  for (const dir of listFileDirs(layout)) {
    const bases = STORE_PARTS.map((part) => layout.files[part]).filter((file) => dirname(file) === dir).map((file) => basename(file));
    const entries = dir === layout.dir ? dirEntries : await readDirIfPresent(dir);
    for (const name of entries) {
      const base = bases.find((b) => isStagedNameFor(name, b));
      if (base !== undefined && !liveTxns.has(name.slice(base.length + 1, base.length + 17))) debris.push(join(dir, name));
    }
  }
  return debris;
}

/** Deletes debris; the caller holds the writer lock and has rolled forward committed records. */
export async function removeDebris(layout: FsLayout): Promise<void> {
  for (const path of await findDebris(layout)) {
    try {
      await unlinkIfPresent(path);
    } catch (err) {
      throw toStoreIoError('remove the leftover', path, err);
    }
  }
}

async function applyRecord(record: TxnRecord, recordPath: string): Promise<void> {
  for (const { from, to } of record.renames) await renameIfPresent(from, to);
  for (const dir of new Set(record.renames.map((r) => dirname(r.to)))) await fsyncDir(dir);
  // No fsync after this unlink: should the record reappear after a power loss, rolling it
  // forward again is a no-op (its staged files are gone).
  await unlinkIfPresent(recordPath);
}

async function discardStaged(record: TxnRecord, recordPath: string): Promise<void> {
  // Best effort: whatever stays behind is debris that the next locked reader or writer removes.
  for (const path of [...record.renames.map((r) => r.from), `${recordPath}.tmp`]) {
    await unlinkIfPresent(path).catch(() => undefined);
  }
}

async function readRecord(recordPath: string): Promise<TxnRecord | undefined> {
  let raw: string;
  try {
    raw = await readFile(recordPath, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw toStoreIoError('read the transaction record', recordPath, err);
  }
  const record = parseRecord(raw);
  if (record === undefined) {
    throw new WardenError(
      'ERR_STORE_IO',
      `The transaction record ${recordPath} is damaged, so an interrupted write cannot be completed. Compare the *.warden-new files next to the bundle files with the bundle, move the right ones into place by hand, then delete the record.`,
    );
  }
  return record;
}

// Only renames of the form `<abs target>.<id>.warden-new` → `<abs target>` are ever honoured,
// so a damaged or foreign record cannot move arbitrary files.
function parseRecord(raw: string): TxnRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<TxnRecord>;
    if (value.format !== 1 || typeof value.id !== 'string' || !/^[0-9a-f]{16}$/.test(value.id) || !Array.isArray(value.renames)) return undefined;
    const id = value.id;
    const ok = value.renames.every((r: Partial<Rename>) =>
      typeof r.to === 'string' && isAbsolute(r.to) && r.from === stagedPathFor(r.to, id));
    return ok ? (value as TxnRecord) : undefined;
  } catch {
    return undefined;
  }
}
