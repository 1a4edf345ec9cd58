/** Shared bits for the fs store tests: temp dirs, modes, code assertions. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
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

/** Names in `dir` (recursively) that Warden uses for in-flight writes. */
export async function listLeftovers(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch {
    return [];
  }
  return entries.filter((e) => /warden-new|\.warden-txn|\.warden-lock|\.tmp-/.test(e)).sort();
}
