/** Shared bits for the fs store tests: temp dirs, modes, code assertions. */
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import fsp, { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
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

/** What a plain reader sees (Dapr's Sentry: os.ReadFile of each default name, no lock, no retry). */
export async function readLikeDapr(dir: string): Promise<Partial<BundleTexts>> {
  const names = { ca: 'ca.crt', issuerCert: 'issuer.crt', issuerKey: 'issuer.key' } as const;
  const out: Partial<BundleTexts> = {};
  for (const [part, name] of Object.entries(names) as [keyof BundleTexts, string][]) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) out[part] = text;
  }
  return out;
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_TRUNC;
const MUTATING = ['writeFile', 'appendFile', 'link', 'symlink', 'rename', 'unlink', 'mkdir', 'rm', 'rmdir', 'chmod', 'copyFile', 'open'] as const;

/**
 * A seam for fs faults without touching the code under test: patches the write-like functions of
 * node:fs/promises (its named ESM exports follow the patched default export after
 * syncBuiltinESMExports). `fail` sees each mutating call (open only when it opens for writing)
 * and returns the error to throw, or undefined to let it through. Returns the restore function.
 */
export function failFsWrites(fail: (name: string, path: string) => NodeJS.ErrnoException | undefined): () => void {
  const api = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const saved = new Map(MUTATING.map((n) => [n, api[n]!]));
  for (const name of MUTATING) {
    const real = saved.get(name)!;
    api[name] = (...args: unknown[]) => {
      const flags = args[1];
      const writes = name !== 'open' || (typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' && (flags & WRITE_FLAGS) !== 0);
      const err = writes ? fail(name, String(args[0])) : undefined;
      return err === undefined ? real(...args) : Promise.reject(err);
    };
  }
  syncBuiltinESMExports();
  return () => {
    for (const [name, real] of saved) api[name] = real;
    syncBuiltinESMExports();
  };
}

export function errnoError(code: string, what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}
