/**
 * Small file-system primitives for the fs store: durable writes (fsync), tolerant renames and
 * unlinks, and one way to turn a Node error into `ERR_STORE_IO` that names the path.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { WardenError } from '../core/errors.js';

export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Wraps a Node fs error (or passes a WardenError through) so the message says what and where. */
export function toStoreIoError(action: string, path: string, err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  const code = errnoOf(err) ?? 'error';
  const detail = err instanceof Error ? err.message : String(err);
  return new WardenError(
    'ERR_STORE_IO',
    `Cannot ${action} ${path} (${code}: ${detail}). Check that the path has the expected type (file or directory) and that warden may read and write it.`,
    { cause: err },
  );
}

/** 16 hex digits naming one transaction, lock or temp file. */
export function createRandomId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Creates `path` (failing if it exists) with mode 0600, writes `data` and fsyncs it, so that a
 * later rename of it is never observed with missing content after a crash.
 */
export async function writeNewFileDurably(path: string, data: string | Buffer): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // the umask may have narrowed it; never widen beyond 0600
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes directory entries (creates, renames) in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames `from` over `to`; false when `from` no longer exists (someone completed it already). */
export async function renameIfPresent(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

export async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Directory entries, or `[]` when the directory does not exist. */
export async function readDirIfPresent(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw toStoreIoError('list directory', dir, err);
  }
}

/** Creates `dir` and missing parents; every directory created here gets mode 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw toStoreIoError('create directory', dir, err);
  }
  if (first === undefined) return;
  // mkdir returns the top-most directory it created; chmod it and each one below it.
  const created = [first];
  for (const segment of relative(first, dir).split(sep).filter(Boolean)) {
    created.push(`${created[created.length - 1]}${sep}${segment}`);
  }
  for (const path of created) await chmod(path, 0o700);
}

