/**
 * Recovery from every crash point of a write, with the on-disk states built by hand
 * (the random-kill test in fs-store-kill.test.ts covers the same ground with real processes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { BUNDLE_PARTS, type BundlePart, stagedPathFor, txnRecordPath } from '../../src/stores/fs-layout.js';
import { FsTrustBundleStore, type FsStoreOptions } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { hasCode, listLeftovers, makeTempRoot } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');
const ID1 = '0123456789abcdef';
const ID2 = 'fedcba9876543210';

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

async function openStoreWith(t: Parameters<typeof makeTempRoot>[0], old: BundleTexts | null, extra: Partial<FsStoreOptions> = {}) {
  const root = await makeTempRoot(t);
  const opts = { dir: join(root, 'certs'), clock, ...extra };
  const store = new FsTrustBundleStore(opts);
  if (old) await store.write(old);
  else await mkdir(opts.dir, { recursive: true });
  return { store, layout: store.layout, root, reopen: () => new FsTrustBundleStore(opts) };
}

type Layout = FsTrustBundleStore['layout'];

async function stage(layout: Layout, id: string, texts: BundleTexts, parts: readonly BundlePart[] = BUNDLE_PARTS) {
  for (const p of parts) await writeFile(stagedPathFor(layout.files[p], id), texts[p], { mode: 0o600 });
}

function recordJson(layout: Layout, id: string): string {
  return JSON.stringify({ format: 1, id, renames: BUNDLE_PARTS.map((p) => ({ from: stagedPathFor(layout.files[p], id), to: layout.files[p] })) });
}

async function commit(layout: Layout, id: string, renamedParts: readonly BundlePart[] = []) {
  await writeFile(txnRecordPath(layout, id), recordJson(layout, id));
  for (const p of renamedParts) await rename(stagedPathFor(layout.files[p], id), layout.files[p]);
}

async function assertReads(store: FsTrustBundleStore, texts: BundleTexts, root: string) {
  const read = await store.read();
  assert.equal(read.state, 'complete');
  assert.deepEqual(read.state === 'complete' && read.texts, texts);
  assert.deepEqual(await listLeftovers(root), [], 'recovery leaves nothing behind');
  assert.deepEqual(await store.read(), read, 'stable on a second read');
}

const beforeCommit: [string, (l: Layout) => Promise<void>][] = [
  ['killed while staging the first file', (l) => stage(l, ID1, B, ['ca'])],
  ['killed while staging the last file', (l) => stage(l, ID1, B, ['ca', 'issuerCert'])],
  ['killed after staging, before the record', (l) => stage(l, ID1, B)],
  ['killed while writing the record temp file', async (l) => {
    await stage(l, ID1, B);
    await writeFile(`${txnRecordPath(l, ID1)}.tmp`, recordJson(l, ID1).slice(0, 30));
  }],
  ['killed while backing up', async (l) => {
    await mkdir(join(l.backupRoot, `.tmp-${ID1}`), { recursive: true });
    await writeFile(join(l.backupRoot, `.tmp-${ID1}`, 'ca.crt'), A.ca);
  }],
  ['killed while taking the lock', async (l) => writeFile(`${l.lockPath}.${await deadPid()}-${ID1}.tmp`, '{"pid":1')],
  ['killed while breaking a stale lock', async (l) => writeFile(`${l.lockPath}.${await deadPid()}-${ID1}.stale`, '{"pid":1')],
];

for (const [name, makeState] of beforeCommit) {
  test(`before the commit point (${name}): the old bundle, debris removed`, async (t) => {
    const { store, layout, root, reopen } = await openStoreWith(t, A);
    await makeState(layout);
    assert.notDeepEqual(await listLeftovers(root), []);
    await assertReads(reopen(), A, root);
    assert.deepEqual(await store.listBackups(), []);
    await store.write(B);
    await assertReads(store, B, root);
  });
}

const afterCommit: [string, BundlePart[]][] = [
  ['no rename done', []],
  ['ca.crt renamed', ['ca']],
  ['ca.crt and issuer.crt renamed', ['ca', 'issuerCert']],
  ['all renamed, record not yet removed', ['ca', 'issuerCert', 'issuerKey']],
];

for (const [name, renamed] of afterCommit) {
  test(`after the commit point (${name}): the new bundle`, async (t) => {
    const { layout, root, reopen } = await openStoreWith(t, A);
    await stage(layout, ID1, B);
    await commit(layout, ID1, renamed);
    await assertReads(reopen(), B, root);
  });

  test(`after the commit point (${name}), key in another directory: the new bundle`, async (t) => {
    const keyRoot = await makeTempRoot(t);
    const { layout, root, reopen } = await openStoreWith(t, A, { issuerKeyFile: join(keyRoot, 'issuer.key') });
    await stage(layout, ID1, B);
    await commit(layout, ID1, renamed);
    await assertReads(reopen(), B, root);
    assert.deepEqual(await listLeftovers(keyRoot), []);
  });
}

test('a committed write into an empty store, killed after one rename, completes', async (t) => {
  const { layout, root, reopen } = await openStoreWith(t, null);
  await stage(layout, ID1, B);
  await commit(layout, ID1, ['issuerKey']);
  await assertReads(reopen(), B, root);
});

test('debris of an older killed write next to a committed one: the committed one wins, all cleaned', async (t) => {
  const { layout, root, reopen } = await openStoreWith(t, A);
  await stage(layout, ID2, makeFakeBundle('C'), ['ca', 'issuerCert']);
  await stage(layout, ID1, B);
  await commit(layout, ID1, ['ca']);
  await assertReads(reopen(), B, root);
});

test('staged files under a live writer\'s lock are left alone; writers time out with the lock path', async (t) => {
  const { store, layout, root } = await openStoreWith(t, A);
  await stage(layout, ID1, B);
  await writeFile(layout.lockPath, JSON.stringify({ id: ID2, pid: process.pid, hostname: hostname(), createdAt: '' }));
  const liveHelper = `${layout.lockPath}.${process.pid}-${ID1}.tmp`; // a live process taking the lock
  await writeFile(liveHelper, '');
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' && read.texts, A);
  await access(stagedPathFor(layout.files.ca, ID1)); // still there: it may belong to the live writer
  await access(liveHelper);
  const impatient = new FsTrustBundleStore({ dir: layout.dir, lockTimeoutMs: 50 });
  await assert.rejects(impatient.write(B), hasCode('ERR_STORE_CONFLICT', layout.lockPath, `pid ${process.pid}`));
  assert.equal(await readFile(layout.files.ca, 'utf8'), A.ca);
  assert.notDeepEqual(await listLeftovers(root), []);
});

test('a lock from another host is never broken automatically', async (t) => {
  const { layout } = await openStoreWith(t, A);
  await writeFile(layout.lockPath, JSON.stringify({ id: ID2, pid: 1, hostname: `not-${hostname()}`, createdAt: '' }));
  const impatient = new FsTrustBundleStore({ dir: layout.dir, lockTimeoutMs: 30 });
  await assert.rejects(impatient.write(B), hasCode('ERR_STORE_CONFLICT', 'remove'));
});

test('a lock left by a dead process is broken: debris cleaned on read, writes proceed', async (t) => {
  const { store, layout, root } = await openStoreWith(t, A);
  await stage(layout, ID1, B, ['ca']);
  await writeFile(layout.lockPath, JSON.stringify({ id: ID2, pid: await deadPid(), hostname: hostname(), createdAt: '' }));
  await assertReads(store, A, root);
  await writeFile(layout.lockPath, '{"torn'); // a torn lock (power loss) counts as stale too
  const result = await new FsTrustBundleStore({ dir: layout.dir, lockTimeoutMs: 0, clock }).write(B);
  assert.ok(result.backup);
  await assertReads(store, B, root);
});

test('a damaged transaction record stops reads with ERR_STORE_IO and moves nothing', async (t) => {
  const { store, layout } = await openStoreWith(t, A);
  await stage(layout, ID1, B);
  await writeFile(txnRecordPath(layout, ID1), '{"format":1,"id":');
  await assert.rejects(store.read(), hasCode('ERR_STORE_IO', txnRecordPath(layout, ID1), 'damaged'));
  // A record that names a rename other than <target>.<id>.warden-new → <target> is refused too.
  await writeFile(txnRecordPath(layout, ID1), JSON.stringify({ format: 1, id: ID1, renames: [{ from: join(layout.dir, 'evil'), to: layout.files.ca }] }));
  await writeFile(join(layout.dir, 'evil'), 'evil');
  await assert.rejects(store.read(), hasCode('ERR_STORE_IO', 'damaged'));
  assert.equal(await readFile(layout.files.ca, 'utf8'), A.ca);
  await access(join(layout.dir, 'evil'));
});

test('lock helper files are removed only once their process is gone', async (t) => {
  const { store, layout } = await openStoreWith(t, A);
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  t.after(() => sleeper.kill('SIGKILL'));
  const live = `${layout.lockPath}.${sleeper.pid}-${ID1}.tmp`;
  const dead = `${layout.lockPath}.${await deadPid()}-${ID2}.stale`;
  await writeFile(live, '');
  await writeFile(dead, '');
  await stage(layout, ID1, B); // debris, so the read takes the lock and tidies up
  await store.read();
  await access(live);
  await assert.rejects(access(dead));
  await assert.rejects(access(stagedPathFor(layout.files.ca, ID1)));
});

test('reads change nothing in the directory when there is nothing to tidy, even during a write', async (t) => {
  const { store, layout } = await openStoreWith(t, A);
  const mtime = async () => (await stat(layout.dir, { bigint: true })).mtimeNs;
  const before = await mtime();
  await store.read();
  assert.equal(await mtime(), before);
  await writeFile(layout.lockPath, JSON.stringify({ id: ID2, pid: process.pid, hostname: hostname(), createdAt: '' }));
  const locked = await mtime();
  await store.read();
  assert.equal(await mtime(), locked, 'a live lock is inspected, not contended');
});
