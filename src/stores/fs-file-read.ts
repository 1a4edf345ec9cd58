/**
 * Opening and reading one bundle or backup file defensively. A bundle file must be a regular file
 * of at most `MAX_BUNDLE_FILE_BYTES`: a FIFO would block the read forever (and a blocking open()
 * would pin a libuv thread), `/dev/zero` would be read until memory runs out. So the file is
 * opened with O_NONBLOCK (a FIFO's open returns at once), checked with fstat on the opened
 * descriptor (no race with a rename), and read to at most the cap plus one byte, which also
 * catches files whose size fstat does not report (procfs).
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { WardenError } from '../core/errors.js';
import { errnoOf, toStoreIoError } from './fs-io.js';
import { MAX_BUNDLE_FILE_BYTES } from './fs-layout.js';

export interface OpenedFile {
  handle: FileHandle;
  ino: bigint;
  dev: bigint;
  text: string;
}

export interface ReadFileOptions {
  /** Refuse a symlink at `path` itself (backups: never followed out of the directory). */
  noFollow?: boolean;
  /** Overrides the size cap (tests). */
  maxBytes?: number;
}

/**
 * The opened file and its text (the caller closes `handle`), or undefined when it does not exist
 * (a dangling symlink counts as not existing).
 */
export async function openBundleFile(path: string, opts: ReadFileOptions = {}): Promise<OpenedFile | undefined> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow === true ? constants.O_NOFOLLOW : 0);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    if (errnoOf(err) === 'ELOOP' && opts.noFollow === true) {
      throw new WardenError(
        'ERR_STORE_SYMLINK_REFUSED',
        `${path} is a symbolic link; Warden does not follow links out of its own directories. Replace it with the file itself (e.g. cp -L) or remove it.`,
      );
    }
    throw toStoreIoError('open', path, err);
  }
  try {
    const info = await handle.stat({ bigint: true });
    if (!info.isFile()) {
      const kind = info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a FIFO (named pipe)' : info.isCharacterDevice() ? 'a character device'
        : info.isBlockDevice() ? 'a block device' : info.isSocket() ? 'a socket' : 'not a regular file';
      throw new WardenError(
        'ERR_BUNDLE_FILE_NOT_REGULAR',
        `${path} is ${kind}, not a regular file; Warden reads trust-bundle files only from regular files. Put the PEM file itself there (restore it from a backup, or renew).`,
      );
    }
    const max = opts.maxBytes ?? MAX_BUNDLE_FILE_BYTES;
    const text = await readCapped(handle, path, max, info.size);
    return { handle, ino: info.ino, dev: info.dev, text };
  } catch (err) {
    await handle.close();
    throw toStoreIoError('read', path, err);
  }
}

/** Reads a whole file (ENOENT → undefined) with the same checks, closing it again. */
export async function readBundleFile(path: string, opts: ReadFileOptions = {}): Promise<string | undefined> {
  const opened = await openBundleFile(path, opts);
  if (opened === undefined) return undefined;
  await opened.handle.close();
  return opened.text;
}

async function readCapped(handle: FileHandle, path: string, max: number, size: bigint): Promise<string> {
  if (size > BigInt(max)) throw tooLarge(path, max, `${size} bytes`);
  const buffer = Buffer.alloc(max + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  if (filled > max) throw tooLarge(path, max, 'it reads on past the limit');
  return buffer.subarray(0, filled).toString('utf8');
}

function tooLarge(path: string, max: number, actual: string): WardenError {
  return new WardenError(
    'ERR_BUNDLE_FILE_TOO_LARGE',
    `${path} is larger than the ${max} bytes a trust-bundle file may have (${actual}), so it is not a bundle file. Put the right file there (restore it from a backup, or renew).`,
  );
}
