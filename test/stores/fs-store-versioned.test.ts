/**
 * The versioned layout (fs-versions.ts): every reader that opens `<dir>/ca.crt`, `issuer.crt`,
 * `issuer.key` by name, as Dapr's Sentry does, sees one whole bundle, before, during and after a
 * write, including a write killed at any point.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import type { BundleTexts, X509_PARTS } from '../../src/core/bundle-texts.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { errnoError, failFsWrites, listLeftovers, makeTempRoot, modeOf, readLikeDapr } from './helpers.js';

const clock = new FixedClock(new Date('2026-12-04T18:34:25Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');
const NAMES = { ca: 'ca.crt', issuerCert: 'issuer.crt', issuerKey: 'issuer.key' } as const;

test('a write publishes ..warden-<stamp>-<id>/ through ..data; the names are ..data links; modes 0700/0600', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  const version = await readlink(join(dir, '..data'));
  assert.match(version, /^\.\.warden-20261204T183425Z-[0-9a-f]{16}$/);
  assert.equal(await modeOf(join(dir, version)), 0o700);
  for (const name of Object.values(NAMES)) {
    assert.equal(await readlink(join(dir, name)), `..data/${name}`);
    assert.ok((await lstat(join(dir, version, name))).isFile());
    assert.equal(await modeOf(join(dir, version, name)), 0o600);
  }
  assert.deepEqual(await readLikeDapr(dir), A);

  const { backup } = await store.write(B);
  const next = await readlink(join(dir, '..data'));
  assert.notEqual(next, version);
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('..')).sort(), ['..data', next].sort(), 'the old version is gone');
  assert.deepEqual(await readLikeDapr(dir), B);
  // Backups hold real files with the contents, not links into versions.
  for (const name of Object.values(NAMES)) assert.ok((await lstat(join(backup!.location, name))).isFile());
  assert.deepEqual(await store.readBackup(backup!.name), A);
  assert.deepEqual(await listLeftovers(dir), []);
});

test('a plain-file directory is migrated on its first write: backup first, then the versioned layout', async (t) => {
  const dir = await makeTempRoot(t);
  for (const [part, name] of Object.entries(NAMES) as [typeof X509_PARTS[number], string][]) await writeFile(join(dir, name), A[part], { mode: 0o600 });
  const store = new FsTrustBundleStore({ dir, clock });
  const { backup } = await store.write(B);
  assert.deepEqual(await store.readBackup(backup!.name), A);
  for (const name of Object.values(NAMES)) assert.equal(await readlink(join(dir, name)), `..data/${name}`);
  assert.deepEqual(await readLikeDapr(dir), B);
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('..warden-')).length, 1, 'the migration version is removed too');
  assert.deepEqual(await listLeftovers(dir), []);
});

test('a partial plain-file directory migrates as partial (a missing part stays missing until the write)', async (t) => {
  const dir = await makeTempRoot(t);
  await writeFile(join(dir, 'ca.crt'), A.ca);
  await writeFile(join(dir, 'issuer.crt'), A.issuerCert);
  const store = new FsTrustBundleStore({ dir, clock });
  assert.equal((await store.read()).state, 'partial');
  const { backup } = await store.write(B, { overwritePartial: true });
  assert.deepEqual((await readdir(backup!.location)).sort(), ['ca.crt', 'issuer.crt']);
  assert.deepEqual(await readLikeDapr(dir), B);
});

test('a version directory left by a write killed before the swap is invisible to readers and removed by the next write', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  // What a kill just before the rename over ..data leaves: a full new version and a temp link.
  const orphan = '..warden-20261204T183426Z-0123456789abcdef';
  await mkdir(join(dir, orphan), { mode: 0o700 });
  for (const [part, name] of Object.entries(NAMES) as [typeof X509_PARTS[number], string][]) await writeFile(join(dir, orphan, name), B[part]);
  await symlink(orphan, join(dir, '.warden-data-fedcba9876543210.tmp'));
  assert.deepEqual(await readLikeDapr(dir), A);
  assert.ok((await listLeftovers(dir)).includes(orphan));
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' && read.texts, A);
  assert.deepEqual(await listLeftovers(dir), [], 'a read with the lock free tidies up');
  await store.write(B);
  assert.deepEqual(await readLikeDapr(dir), B);
  assert.deepEqual(await listLeftovers(dir), []);
});

test('version directories Warden did not make (a hand-made kubelet layout) are used, and never deleted', async (t) => {
  const dir = await makeTempRoot(t);
  const theirs = '..2026_12_04_18_34_25.123456789';
  await mkdir(join(dir, theirs));
  for (const [part, name] of Object.entries(NAMES) as [typeof X509_PARTS[number], string][]) {
    await writeFile(join(dir, theirs, name), A[part]);
    await symlink(`..data/${name}`, join(dir, name));
  }
  await symlink(theirs, join(dir, '..data'));
  const store = new FsTrustBundleStore({ dir, clock });
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' && read.texts, A);
  const { backup } = await store.write(B);
  assert.deepEqual(await store.readBackup(backup!.name), A);
  assert.deepEqual(await readLikeDapr(dir), B);
  assert.equal(await readFile(join(dir, theirs, 'ca.crt'), 'utf8'), A.ca, 'their version is left alone');
});

/**
 * A write "killed" after its n-th file-system change, for every n: from that call on every change
 * fails, as if the process had died. A plain reader must then see exactly the old or the new
 * bundle, and a Warden read must agree with it.
 */
async function crashAfter(n: number, dir: string, texts: BundleTexts): Promise<boolean> {
  let calls = 0;
  const restore = failFsWrites((name, path) => (++calls > n ? errnoError('EIO', `simulated crash at ${name} ${path}`) : undefined));
  try {
    await new FsTrustBundleStore({ dir, clock }).write(texts);
    return false; // the write finished: n is past its last change
  } catch {
    return true;
  } finally {
    restore();
  }
}

for (const start of ['versioned', 'plain files'] as const) {
  test(`a write stopped after any of its file-system changes (${start}): plain readers see the old or the new bundle, never a mix`, async (t) => {
    const root = await makeTempRoot(t);
    const seen = { A: 0, B: 0 };
    let n = 0;
    for (; n < 200; n++) {
      const dir = join(root, `n${n}`);
      if (start === 'versioned') {
        await new FsTrustBundleStore({ dir, clock }).write(A);
      } else {
        await mkdir(dir);
        for (const [part, name] of Object.entries(NAMES) as [typeof X509_PARTS[number], string][]) await writeFile(join(dir, name), A[part]);
      }
      const crashed = await crashAfter(n, dir, B);
      const plain = await readLikeDapr(dir);
      const label = JSON.stringify(plain) === JSON.stringify(A) ? 'A' : JSON.stringify(plain) === JSON.stringify(B) ? 'B' : undefined;
      assert.ok(label !== undefined, `after change ${n} a plain reader saw a mix: ${JSON.stringify(Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, v.split('\n')[1]])))}`);
      seen[label]++;
      const read = await new FsTrustBundleStore({ dir, clock }).read();
      assert.deepEqual(read.state === 'complete' && read.texts, label === 'A' ? A : B, `after change ${n}`);
      if (!crashed) break;
    }
    t.diagnostic(`${n} crash points: old bundle after ${seen.A}, new after ${seen.B}`);
    assert.ok(n > 5 && n < 200 && seen.A > 0 && seen.B > 0);
  });
}
