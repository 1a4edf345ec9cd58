import assert from 'node:assert/strict';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { hasCode, listLeftovers, makeTempRoot } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');
const NAMES = ['ca.crt', 'issuer.crt', 'issuer.key'] as const;

async function readAll(dir: string): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const n of NAMES) out[n] = await readFile(join(dir, n), 'utf8').catch(() => null);
  return out;
}

for (const missingName of NAMES) {
  test(`missing only ${missingName}: partial, write refused and nothing touched, overwritePartial replaces`, async (t) => {
    const dir = await makeTempRoot(t);
    const store = new FsTrustBundleStore({ dir, clock });
    await store.write(A);
    await unlink(join(dir, missingName));

    const result = await store.read();
    assert.deepEqual(result, {
      state: 'partial',
      present: NAMES.filter((n) => n !== missingName).map((n) => join(dir, n)),
      missing: [join(dir, missingName)],
    });

    const before = await readAll(dir);
    await assert.rejects(store.write(B), hasCode('ERR_BUNDLE_PARTIAL', missingName, 'Restore'));
    await assert.rejects(store.write(B, { backup: false }), hasCode('ERR_BUNDLE_PARTIAL'));
    assert.deepEqual(await readAll(dir), before);
    assert.deepEqual(await store.listBackups(), []);
    assert.deepEqual(await listLeftovers(dir), []);

    const written = await store.write(B, { overwritePartial: true });
    assert.deepEqual(await store.read(), { state: 'complete', texts: B, version: written.version });
    // The two surviving files were saved; the backup is listed but cannot be restored as a bundle.
    assert.ok(written.backup);
    assert.deepEqual((await readdir(written.backup.location)).sort(), NAMES.filter((n) => n !== missingName).sort());
    await assert.rejects(store.readBackup(written.backup.name), hasCode('ERR_BUNDLE_PARTIAL', missingName));
  });
}

test('only ca.crt present: two missing, both named', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await unlink(join(dir, 'issuer.crt'));
  await unlink(join(dir, 'issuer.key'));
  assert.deepEqual(await store.read(), { state: 'partial', present: [join(dir, 'ca.crt')], missing: [join(dir, 'issuer.crt'), join(dir, 'issuer.key')] });
  await assert.rejects(store.write(B), hasCode('ERR_BUNDLE_PARTIAL', 'issuer.crt', 'issuer.key'));
});

test('a partial bundle is never "absent": expectedVersion null still conflicts with overwritePartial', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await unlink(join(dir, 'issuer.key'));
  await assert.rejects(store.write(B, { overwritePartial: true, expectedVersion: null }), hasCode('ERR_STORE_CONFLICT'));
  await assert.rejects(store.write(B, { expectedVersion: null }), hasCode('ERR_BUNDLE_PARTIAL'));
  assert.equal((await store.read()).state, 'partial');
});

test('overwritePartial with backup: false takes no backup', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await unlink(join(dir, 'ca.crt'));
  const result = await store.write(B, { overwritePartial: true, backup: false });
  assert.equal(result.backup, undefined);
  assert.deepEqual(await store.listBackups(), []);
});
