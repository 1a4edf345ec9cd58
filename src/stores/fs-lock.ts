/**
 * The fs store's writer lock: `<dir>/.warden-lock`, created atomically with its content
 * (write a temp file, then `link` it into place, which fails if the lock exists). It serialises
 * writers so that the `expectedVersion` check and the commit are one step, and it tells readers
 * whether leftover staged files may belong to a writer that is still running.
 *
 * Node has no flock(2), so a lock left by a killed process is recognised by its owner: same host
 * and a pid that no longer exists (`kill(pid, 0)` → ESRCH). Such a lock is broken by renaming it
 * aside and checking that what was moved is the very lock judged stale; if not (a new owner took
 * it in between), it is linked back. A lock from another host (shared file system) is never
 * broken automatically: the timeout message says which file to remove.
 *
 * Taking the lock uses helper files next to it, `<lock>.<pid>-<id>.tmp` (the new lock's content)
 * and `<lock>.<pid>-<id>.stale` (a stale lock being broken). They are made *without* holding the
 * lock, so they are debris only once their pid is gone (`removeLockDebris`).
 */
import { link, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { WardenError } from '../core/errors.js';
import { createRandomId, errnoOf, readDirIfPresent, toStoreIoError, unlinkIfPresent } from './fs-io.js';

export interface HeldLock {
  release(): Promise<void>;
}

interface LockOwner {
  id: string;
  pid: number;
  hostname: string;
  createdAt: string;
}

const POLL_MS = 10;

/** Takes the lock now, or returns null when a live owner holds it or the directory is read-only or full. */
export async function tryAcquireLock(lockPath: string, now: Date): Promise<HeldLock | null> {
  try {
    const result = await attemptLock(lockPath, now);
    return typeof result === 'string' ? null : result;
  } catch (err) {
    if (['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOSPC', 'EDQUOT'].includes(errnoOf(err) ?? '')) return null;
    throw toStoreIoError('lock', lockPath, err);
  }
}

/**
 * Whether the lock is free, held by a live owner, or left by a dead one, without creating any
 * file (so that plain reads never touch the directory a sentry may be watching).
 */
export async function inspectLock(lockPath: string): Promise<'free' | 'live' | 'stale'> {
  let seen: string | undefined;
  try {
    seen = await readIfPresent(lockPath);
  } catch (err) {
    if (errnoOf(err) === 'ENOTDIR') return 'free';
    throw toStoreIoError('read the lock', lockPath, err);
  }
  if (seen === undefined) return 'free';
  const owner = parseOwner(seen);
  return owner !== undefined && isOwnerAlive(owner) ? 'live' : 'stale';
}

/** Waits up to `timeoutMs` for the lock; `ERR_STORE_CONFLICT` when it stays held. */
export async function acquireLock(lockPath: string, now: Date, timeoutMs: number): Promise<HeldLock> {
  let holder = '';
  for (let waited = 0; ; waited += POLL_MS) {
    let result: HeldLock | string;
    try {
      result = await attemptLock(lockPath, now);
    } catch (err) {
      throw toStoreIoError('lock', lockPath, err);
    }
    if (typeof result !== 'string') return result;
    holder = result;
    if (waited >= timeoutMs) break;
    await sleep(POLL_MS);
  }
  throw new WardenError(
    'ERR_STORE_CONFLICT',
    `Another process is writing the trust bundle (lock ${lockPath}, held by ${holder}). Wait for it to finish; if no such process is running, remove ${lockPath}.`,
  );
}

/** One attempt: the held lock, or a description of the live owner. */
async function attemptLock(lockPath: string, now: Date): Promise<HeldLock | string> {
  const me: LockOwner = { id: createRandomId(), pid: process.pid, hostname: hostname(), createdAt: now.toISOString() };
  const raw = JSON.stringify(me);
  for (let round = 0; round < 5; round++) {
    if (await createLockFile(lockPath, me.id, raw)) return { release: () => releaseLock(lockPath, raw) };
    const seen = await readIfPresent(lockPath);
    if (seen === undefined) continue; // released meanwhile
    const owner = parseOwner(seen);
    if (owner !== undefined && isOwnerAlive(owner)) return `pid ${owner.pid} on ${owner.hostname}`;
    await breakStaleLock(lockPath, seen, me.id);
  }
  return 'a process that keeps replacing it';
}

async function createLockFile(lockPath: string, id: string, raw: string): Promise<boolean> {
  const temp = `${lockPath}.${process.pid}-${id}.tmp`;
  try {
    await writeFile(temp, raw, { flag: 'wx', mode: 0o600 });
    try {
      await link(temp, lockPath);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw err;
    }
  } finally {
    // Also when writing it failed (disk full): a half-written temp file must not outlive us.
    await unlinkIfPresent(temp).catch(() => undefined);
  }
}

async function breakStaleLock(lockPath: string, staleRaw: string, myId: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}-${myId}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return; // someone else broke or released it
    throw err;
  }
  const moved = await readIfPresent(aside);
  if (moved !== staleRaw) {
    // We moved a fresh lock taken after our look: give it back (unless yet another one exists).
    try {
      await link(aside, lockPath);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
  }
  await unlinkIfPresent(aside);
}

async function releaseLock(lockPath: string, raw: string): Promise<void> {
  // Only remove the lock if it is still ours.
  if ((await readIfPresent(lockPath)) === raw) await unlinkIfPresent(lockPath);
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && 'pid' in value && typeof value.pid === 'number' && 'hostname' in value && typeof value.hostname === 'string') {
      return value as LockOwner;
    }
  } catch {
    // A lock is linked into place only with its content, so garbage means a torn file after a
    // power loss: treat it as stale.
  }
  return undefined;
}

function isOwnerAlive(owner: LockOwner): boolean {
  return owner.hostname !== hostname() || isProcessAlive(owner.pid);
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) !== 'ESRCH';
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const HELPER_NAME = /^(\d+)-[0-9a-f]{16}\.(tmp|stale)$/;

/** Helper files of lock attempts whose process is gone (same host assumed, as for the lock). */
export async function findLockDebris(lockPath: string): Promise<string[]> {
  const prefix = `${basename(lockPath)}.`;
  const found: string[] = [];
  for (const name of await readDirIfPresent(dirname(lockPath))) {
    const pid = name.startsWith(prefix) ? HELPER_NAME.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid !== undefined && !isProcessAlive(Number(pid))) found.push(join(dirname(lockPath), name));
  }
  return found;
}

export async function removeLockDebris(lockPath: string): Promise<void> {
  for (const path of await findLockDebris(lockPath)) {
    await unlinkIfPresent(path).catch((err: unknown) => {
      throw toStoreIoError('remove the leftover', path, err);
    });
  }
}
