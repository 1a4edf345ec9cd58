/**
 * Issue 12, "Files": reads never need a write (a full or read-only disk), bundle files must be
 * regular and small, and symlinks are handled on purpose (read through; never silently replaced;
 * `.backup` never followed out of the directory).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fsp, { access, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { BUNDLE_PARTS, stagedPathFor, txnRecordPath } from '../../src/stores/fs-layout.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { errnoError, failFsWrites, hasCode, makeTempRoot } from './helpers.js';

const clock = new FixedClock(new Date('2026-12-04T18:34:25Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Runs `fn` with every write-like fs call failing ENOSPC, as on a full disk; lists the refused calls. */
async function withDiskFull<T>(fn: () => Promise<T>): Promise<{ result: T; refused: string[] }> {
  const refused: string[] = [];
  const restore = failFsWrites((name, path) => {
    refused.push(name);
    return errnoError('ENOSPC', `no space left on device, ${name} '${path}'`);
  });
  try {
    return { result: await fn(), refused };
  } finally {
    restore();
  }
}

test('disk full with a lock temp file left over: reads still return the intact bundle, and create nothing', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  // What a writer that died on ENOSPC while taking the lock leaves behind.
  const leftover = `${store.layout.lockPath}.${await deadPid()}-0123456789abcdef.tmp`;
  await writeFile(leftover, '');
  const before = (await readdir(dir)).sort();
  const { result, refused } = await withDiskFull(() => new FsTrustBundleStore({ dir, clock }).read());
  assert.deepEqual(result.state === 'complete' && result.texts, A);
  assert.ok(refused.length > 0, 'the read did try to tidy up (and was refused)');
  assert.deepEqual((await readdir(dir)).sort(), before);
  // Once there is space again, the next read tidies up.
  await store.read();
  await assert.rejects(access(leftover));
});

test('a lock attempt that fails writing its temp file removes it', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const store = new FsTrustBundleStore({ dir, clock, lockTimeoutMs: 0 });
  await store.write(A);
  const api = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const realWriteFile = api.writeFile!;
  // The temp file is created, then the write into it fails: what ENOSPC does.
  api.writeFile = async (path: unknown, ...rest: unknown[]) => {
    await realWriteFile(path, '', ...rest.slice(1));
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  };
  syncBuiltinESMExports();
  try {
    await assert.rejects(store.write(B), hasCode('ERR_STORE_IO', 'ENOSPC'));
  } finally {
    api.writeFile = realWriteFile;
    syncBuiltinESMExports();
  }
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.warden-lock')), []);
});

test('disk full during a committed, unfinished transaction: the read returns the committed bundle without writing', async (t) => {
  // Files outside the directory use the transaction of fs-txn.ts.
  const root = await makeTempRoot(t);
  const dir = join(root, 'certs');
  const opts = { dir, clock, issuerKeyFile: join(root, 'keys', 'issuer.key') };
  const store = new FsTrustBundleStore(opts);
  await store.write(A);
  const { layout } = store;
  const id = '0123456789abcdef';
  for (const p of BUNDLE_PARTS) await writeFile(stagedPathFor(layout.files[p], id), B[p], { mode: 0o600 });
  const renames = BUNDLE_PARTS.map((p) => ({ from: stagedPathFor(layout.files[p], id), to: layout.files[p] }));
  await writeFile(txnRecordPath(layout, id), JSON.stringify({ format: 1, id, renames }));
  await fsp.rename(renames[0]!.from, renames[0]!.to); // killed after the first rename: a mix on disk
  const { result } = await withDiskFull(() => new FsTrustBundleStore(opts).read());
  assert.deepEqual(result.state === 'complete' && result.texts, B);
  assert.equal(await readFile(layout.files.issuerCert, 'utf8'), A.issuerCert, 'nothing was rolled forward');
  const after = await store.read(); // with space, the read finishes it
  assert.deepEqual(after.state === 'complete' && after.texts, B);
  assert.equal(await readFile(layout.files.issuerCert, 'utf8'), B.issuerCert);
});

for (const [what, make] of [
  ['a FIFO', (path: string) => { execFileSync('mkfifo', [path]); }],
  ['a link to /dev/zero', (path: string) => symlink('/dev/zero', path)],
  ['a directory', (path: string) => mkdir(path)],
] as const) {
  test(`${what} as issuer.key: ERR_BUNDLE_FILE_NOT_REGULAR at once, for read and write; nothing written`, { timeout: 20_000 }, async (t) => {
    const dir = await makeTempRoot(t);
    await writeFile(join(dir, 'ca.crt'), A.ca);
    await writeFile(join(dir, 'issuer.crt'), A.issuerCert);
    await make(join(dir, 'issuer.key'));
    const store = new FsTrustBundleStore({ dir, clock });
    await assert.rejects(store.read(), hasCode('ERR_BUNDLE_FILE_NOT_REGULAR', join(dir, 'issuer.key')));
    await assert.rejects(store.write(B, { overwritePartial: true }), hasCode('ERR_BUNDLE_FILE_NOT_REGULAR'));
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), A.ca);
  });
}

test('a bundle file over 1 MiB is ERR_BUNDLE_FILE_TOO_LARGE; 1 MiB exactly is read', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  const big = join(dir, 'big.pem');
  await writeFile(big, Buffer.alloc(1024 * 1024 + 1, 0x41));
  await rm(join(dir, 'ca.crt'));
  await symlink(big, join(dir, 'ca.crt'));
  await assert.rejects(store.read(), hasCode('ERR_BUNDLE_FILE_TOO_LARGE', join(dir, 'ca.crt'), '1048576'));
  await writeFile(big, Buffer.alloc(1024 * 1024, 0x41));
  const read = await store.read();
  assert.equal(read.state === 'complete' && read.texts.ca.length, 1024 * 1024);
});

test('a backup file that is a FIFO is refused, not waited on', { timeout: 20_000 }, async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  const { backup } = await store.write(B);
  await rm(join(backup!.location, 'issuer.key'));
  execFileSync('mkfifo', [join(backup!.location, 'issuer.key')]);
  await assert.rejects(store.readBackup(backup!.name), hasCode('ERR_BUNDLE_FILE_NOT_REGULAR', 'FIFO'));
});

test('a bundle file that is a user-made symlink is read through, but a write refuses to replace it', async (t) => {
  const root = await makeTempRoot(t);
  const dir = join(root, 'certs');
  const mount = join(root, 'secrets');
  await mkdir(dir);
  await mkdir(mount);
  await writeFile(join(mount, 'issuer.key'), A.issuerKey);
  await writeFile(join(dir, 'ca.crt'), A.ca);
  await writeFile(join(dir, 'issuer.crt'), A.issuerCert);
  await symlink(join(mount, 'issuer.key'), join(dir, 'issuer.key'));
  const store = new FsTrustBundleStore({ dir, clock });
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' && read.texts, A);
  await assert.rejects(store.write(B), hasCode('ERR_STORE_SYMLINK_REFUSED', join(dir, 'issuer.key'), join(mount, 'issuer.key'), 'cp -L'));
  assert.equal(await readlink(join(dir, 'issuer.key')), join(mount, 'issuer.key'), 'the link is still there');
  assert.equal(await readFile(join(mount, 'issuer.key'), 'utf8'), A.issuerKey);
  assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), A.ca, 'nothing was written');
  assert.deepEqual(await store.listBackups(), [], 'not even a backup');
});

test('the same refusal for a symlinked file outside the directory (transaction mode)', async (t) => {
  const root = await makeTempRoot(t);
  const keyPath = join(root, 'keys', 'issuer.key');
  const store = new FsTrustBundleStore({ dir: join(root, 'certs'), issuerKeyFile: keyPath, clock });
  await store.write(A);
  await writeFile(join(root, 'real.key'), A.issuerKey);
  await rm(keyPath);
  await symlink(join(root, 'real.key'), keyPath);
  await assert.rejects(store.write(B), hasCode('ERR_STORE_SYMLINK_REFUSED', keyPath));
  assert.equal(await readFile(join(root, 'real.key'), 'utf8'), A.issuerKey);
});

test('.backup as a symlink out of the directory is never followed: writes and listing refuse, nothing lands outside', async (t) => {
  const root = await makeTempRoot(t);
  const dir = join(root, 'certs');
  const outside = join(root, 'outside');
  await mkdir(outside);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await symlink(outside, join(dir, '.backup'));
  await assert.rejects(store.write(B), hasCode('ERR_STORE_SYMLINK_REFUSED', join(dir, '.backup')));
  await assert.rejects(store.listBackups(), hasCode('ERR_STORE_SYMLINK_REFUSED'));
  await assert.rejects(store.readBackup('20261204T183425Z'), hasCode('ERR_STORE_SYMLINK_REFUSED'));
  assert.deepEqual(await readdir(outside), []);
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' && read.texts, A, 'reads of the bundle itself still work');
});

test('a backup directory that is a symlink is refused', async (t) => {
  const root = await makeTempRoot(t);
  const dir = join(root, 'certs');
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await store.write(B);
  const [backup] = await store.listBackups();
  await fsp.rename(backup!.location, join(root, 'moved'));
  await symlink(join(root, 'moved'), backup!.location);
  await assert.rejects(store.readBackup(backup!.name), hasCode('ERR_STORE_SYMLINK_REFUSED', backup!.location));
});

test('the lock file of a live writer on another host does not stop reads', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await writeFile(store.layout.lockPath, JSON.stringify({ id: 'x', pid: 1, hostname: `not-${hostname()}`, createdAt: '' }));
  const { result } = await withDiskFull(() => store.read());
  assert.equal(result.state, 'complete');
});
