import assert from 'node:assert/strict';
import { access, readFile, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { defaultCredentialsDir, FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { hasCode, makeTempRoot, modeOf } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');

test('custom relative names, including a subdirectory, are joined with dir', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, caFile: 'tls-ca.pem', issuerCertFile: 'tls.crt', issuerKeyFile: join('private', 'tls.key'), clock });
  await store.write(A);
  assert.equal(await readFile(join(dir, 'tls-ca.pem'), 'utf8'), A.ca);
  assert.equal(await readFile(join(dir, 'tls.crt'), 'utf8'), A.issuerCert);
  assert.equal(await readFile(join(dir, 'private', 'tls.key'), 'utf8'), A.issuerKey);
  await assert.rejects(access(join(dir, 'ca.crt')));
  assert.deepEqual(store.watchPaths(), [dir, join(dir, 'private')]);
  const { backup } = await store.write(B);
  assert.deepEqual((await readdir(backup!.location)).sort(), ['tls-ca.pem', 'tls.crt', 'tls.key']);
  assert.deepEqual(await store.readBackup(backup!.name), A);
  // The default-named store in the same directory sees nothing.
  assert.deepEqual(await new FsTrustBundleStore({ dir }).read(), { state: 'absent' });
});

test('absolute names are used as they are; bookkeeping stays in dir', async (t) => {
  const root = await makeTempRoot(t);
  const dir = join(root, 'certs');
  const elsewhere = join(root, 'elsewhere');
  const keyPath = join(elsewhere, 'signing.key');
  const store = new FsTrustBundleStore({ dir, issuerKeyFile: keyPath, clock });
  await store.write(A);
  assert.equal(await readFile(keyPath, 'utf8'), A.issuerKey);
  assert.equal(await modeOf(keyPath), 0o600);
  assert.deepEqual((await readdir(elsewhere)), ['signing.key']);
  assert.deepEqual(store.watchPaths(), [dir, elsewhere]);
  assert.match(store.description, new RegExp(`directory ${dir}.*${keyPath}`));
  const { backup } = await store.write(B);
  assert.equal(relative(dir, backup!.location), join('.backup', '20261129T234512Z'));
  assert.deepEqual(await store.readBackup(backup!.name), A);
  const read = await new FsTrustBundleStore({ dir: join(root, 'unrelated'), caFile: join(dir, 'ca.crt'), issuerCertFile: join(dir, 'issuer.crt'), issuerKeyFile: keyPath }).read();
  assert.deepEqual(read.state === 'complete' && read.texts, B);
});

test('a relative dir is resolved once, against the working directory', async (t) => {
  const root = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir: relative(process.cwd(), join(root, 'certs')) });
  assert.equal(store.description, `directory ${join(root, 'certs')}`);
  assert.deepEqual(store.watchPaths(), [join(root, 'certs')]);
});

test('default dir is $HOME/.dapr/certs', async (t) => {
  const home = await makeTempRoot(t);
  const saved = process.env.HOME;
  process.env.HOME = home;
  try {
    assert.equal(homedir(), home);
    assert.equal(defaultCredentialsDir(), join(home, '.dapr', 'certs'));
    const store = new FsTrustBundleStore({ clock });
    assert.equal(store.description, `directory ${join(home, '.dapr', 'certs')}`);
    await store.write(A);
    assert.equal(await readFile(join(home, '.dapr', 'certs', 'issuer.key'), 'utf8'), A.issuerKey);
  } finally {
    process.env.HOME = saved;
  }
});

test('file names that would collide are refused up front', () => {
  assert.throws(() => new FsTrustBundleStore({ dir: '/x', caFile: 'issuer.crt' }), hasCode('ERR_CONFIG_INVALID'));
  assert.throws(() => new FsTrustBundleStore({ dir: '/x', caFile: '/y/issuer.crt' }), hasCode('ERR_CONFIG_INVALID', 'base names'));
  assert.throws(() => new FsTrustBundleStore({ dir: '/x', issuerKeyFile: ' ' }), hasCode('ERR_CONFIG_INVALID', 'empty'));
});
