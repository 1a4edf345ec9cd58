import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WardenError } from '../core/errors.js';

/**
 * Writes `data` to `path` atomically: a temp file in the same directory, created with `mode`
 * (exclusive create, so the bytes are never readable with looser permissions), flushed with
 * fsync, then renamed over `path`. Readers see the old file or the new one, never half of one.
 * The temp file is removed if anything fails.
 *
 * With `exclusive`, an existing `path` is never replaced: the call fails with EEXIST.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
  options: { exclusive?: boolean } = {},
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      // The umask may have narrowed the mode at create time; make it exact.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      await linkExclusive(temp, path);
    } else {
      await rename(temp, path);
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** link() fails with EEXIST instead of replacing, which rename() would do silently. */
async function linkExclusive(temp: string, path: string): Promise<void> {
  await link(temp, path);
  await unlink(temp);
}

/** Wraps a file-system failure on a path the user named as ERR_FILE_IO: `<what>: <reason>`. */
export function fileIoError(what: string, error: unknown): WardenError {
  const reason = error instanceof Error ? error.message : String(error);
  return new WardenError('ERR_FILE_IO', `${what}: ${reason}`, { cause: error });
}
