import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { hasCode, listLeftovers, makeTempRoot } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');

test('a missing directory or missing files are ENOENT: absent, not an error', async (t) => {
  const root = await makeTempRoot(t);
  assert.deepEqual(await new FsTrustBundleStore({ dir: join(root, 'nope', 'certs') }).read(), { state: 'absent' });
  assert.deepEqual(await new FsTrustBundleStore({ dir: root }).read(), { state: 'absent' });
  assert.deepEqual(await new FsTrustBundleStore({ dir: root }).listBackups(), []);
});

test('a directory where issuer.crt should be is ERR_BUNDLE_FILE_NOT_REGULAR naming it, for read and write', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  const target = join(dir, 'issuer.crt');
  await rm(target);
  await mkdir(target);
  await assert.rejects(store.read(), hasCode('ERR_BUNDLE_FILE_NOT_REGULAR', target, 'a directory'));
  await assert.rejects(store.write(B), hasCode('ERR_BUNDLE_FILE_NOT_REGULAR', target));
  assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), A.ca, 'the failed write changed nothing');
  assert.deepEqual(await listLeftovers(dir), []);
});

test('a regular file where the directory should be is ERR_STORE_IO (ENOTDIR), not absent', async (t) => {
  const root = await makeTempRoot(t);
  const notADir = join(root, 'certs');
  await writeFile(notADir, 'oops');
  const store = new FsTrustBundleStore({ dir: notADir, clock });
  await assert.rejects(store.read(), hasCode('ERR_STORE_IO', notADir, 'ENOTDIR'));
  await assert.rejects(store.write(A), hasCode('ERR_STORE_IO', notADir));
  await assert.rejects(store.listBackups(), hasCode('ERR_STORE_IO'));
  assert.equal(await readFile(notADir, 'utf8'), 'oops');
});

test('a failure while staging rolls back: old bundle intact, no leftovers', async (t) => {
  const dir = await makeTempRoot(t);
  // A key file name so long that its staged sibling (28 characters more) exceeds NAME_MAX, so
  // staging fails after ca.crt and issuer.crt were staged.
  const longName = 'k'.repeat(240);
  for (const [name, text] of [['ca.crt', A.ca], ['issuer.crt', A.issuerCert], [longName, A.issuerKey]] as const) {
    await writeFile(join(dir, name), text, { mode: 0o600 });
  }
  const store = new FsTrustBundleStore({ dir, issuerKeyFile: longName, clock });
  const before = await store.read();
  assert.equal(before.state, 'complete');
  await assert.rejects(store.write(B), hasCode('ERR_STORE_IO', 'ENAMETOOLONG'));
  assert.deepEqual(await listLeftovers(dir), [], 'the failed write cleaned up after itself');
  assert.deepEqual(await store.read(), before);
});

test('a backup file that is a directory is refused, naming it', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  const { backup } = await store.write(B);
  const victim = join(backup!.location, 'issuer.key');
  await rm(victim);
  await mkdir(victim);
  await assert.rejects(store.readBackup(backup!.name), hasCode('ERR_BUNDLE_FILE_NOT_REGULAR', victim));
});
