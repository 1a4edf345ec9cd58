/** Shared bits for the fs store tests: temp dirs, modes, code assertions. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWardenError } from '../../src/core/errors.js';

export async function makeTempRoot(t: { after(fn: () => Promise<void>): void }, prefix = 'warden-fs-'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

export async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** For `assert.rejects`: the error is a WardenError with this code (and, if given, text). */
export function hasCode(code: string, ...mentions: string[]) {
  return (err: unknown) => {
    assert.ok(isWardenError(err), `expected a WardenError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `message should mention ${m}: ${err.message}`);
    return true;
  };
}

/**
 * Names in `dir` (recursively) that Warden uses for in-flight writes: staged files, records, the
 * lock and its helpers, backup temp directories, temp `..data` links, and version directories
 * other than the current one (that is, any `..data` found in `dir` or a subdirectory names).
 */
export async function listLeftovers(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch {
    return [];
  }
  const current = new Set<string>();
  for (const e of entries.filter((e) => e === '..data' || e.endsWith('/..data'))) {
    const parent = e.slice(0, -'..data'.length);
    current.add(`${parent}${await readlink(join(dir, e)).catch(() => '')}`);
  }
  return entries
    .filter((e) => /warden-new|\.warden-txn|\.warden-lock|\.tmp-|\.warden-data-/.test(e) || isOldVersion(e, current))
    .sort();
}

function isOldVersion(entry: string, current: Set<string>): boolean {
  const m = /^(.*?\.\.warden-\d{8}T\d{6}Z-[0-9a-f]{16})(\/|$)/.exec(entry);
  return m !== null && !current.has(m[1]!);
}
