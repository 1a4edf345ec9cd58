/**
 * The fs store and the JWT pair (`jwt.key`, `jwks.json`, spec 3.1): written in the same atomic
 * version as the X.509 files, 0600, read back only as a pair, kept by X.509-only writes (what
 * renew-certificate writes), backed up and restorable.
 */
import assert from 'node:assert/strict';
import { lstat, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { makeTempRoot, modeOf } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');
const JWT_A = { jwtKey: '-----BEGIN PRIVATE KEY-----\nJWT-A\n-----END PRIVATE KEY-----\n', jwks: '{"keys":[{"kid":"a"}]}' };
const JWT_B = { jwtKey: '-----BEGIN PRIVATE KEY-----\nJWT-B\n-----END PRIVATE KEY-----\n', jwks: '{"keys":[{"kid":"b"}]}' };

test('the JWT pair is published in the same ..data version as the X.509 files, every file 0600', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write({ ...A, ...JWT_A });
  for (const name of ['ca.crt', 'issuer.crt', 'issuer.key', 'jwt.key', 'jwks.json']) {
    assert.equal(await readlink(join(dir, name)), `..data/${name}`, `${name} is a link into the one version`);
    assert.equal(await modeOf(join(dir, '..data', name)), 0o600, name);
  }
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' ? read.texts : undefined, { ...A, ...JWT_A });
});

test('an X.509-only write (renew-certificate) keeps the stored JWT pair; the version changes with the pair', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  const first = await store.write({ ...A, ...JWT_A });
  const withoutJwt = await new FsTrustBundleStore({ dir: await makeTempRoot(t), clock }).write(A);
  assert.notEqual(first.version, withoutJwt.version, 'the pair is part of the version');
  await store.write(B);
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' ? read.texts : undefined, { ...B, ...JWT_A });
});

test('backups hold the JWT pair (0600) and readBackup gives it back; a rollback write restores it', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write({ ...A, ...JWT_A });
  const { backup } = await store.write({ ...B, ...JWT_B });
  assert.ok(backup);
  assert.equal(await readFile(join(backup.location, 'jwt.key'), 'utf8'), JWT_A.jwtKey);
  assert.equal(await modeOf(join(backup.location, 'jwt.key')), 0o600);
  assert.equal(await modeOf(join(backup.location, 'jwks.json')), 0o600);
  const saved = await store.readBackup(backup.name);
  assert.deepEqual(saved, { ...A, ...JWT_A });
  await store.write(saved);
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' ? read.texts : undefined, { ...A, ...JWT_A });
});

test('jwt.key without jwks.json reads as no JWT pair (Dapr: both or neither)', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await writeFile(join(dir, 'jwt.key'), JWT_A.jwtKey, { mode: 0o600 });
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' ? read.texts : undefined, A);
});

test('a plain jwt.key / jwks.json beside a versioned bundle is migrated into the next version, content kept', async (t) => {
  const dir = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock });
  await store.write(A);
  await writeFile(join(dir, 'jwt.key'), JWT_A.jwtKey, { mode: 0o600 });
  await writeFile(join(dir, 'jwks.json'), JWT_A.jwks, { mode: 0o600 });
  const { backup } = await store.write(B);
  assert.deepEqual(await store.readBackup(backup!.name), { ...A, ...JWT_A });
  assert.ok((await lstat(join(dir, 'jwt.key'))).isSymbolicLink());
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' ? read.texts : undefined, { ...B, ...JWT_A });
});

test('absolute JWT file names elsewhere use the transaction; files 0600', async (t) => {
  const dir = await makeTempRoot(t);
  const other = await makeTempRoot(t);
  const store = new FsTrustBundleStore({ dir, clock, jwtKeyFile: join(other, 'signing.key'), jwksFile: join(other, 'keys.json') });
  assert.equal(store.layout.versioned, false);
  await store.write({ ...A, ...JWT_A });
  assert.equal(await readFile(join(other, 'signing.key'), 'utf8'), JWT_A.jwtKey);
  assert.equal(await modeOf(join(other, 'signing.key')), 0o600);
  assert.deepEqual(store.watchPaths().sort(), [dir, other].sort());
  // The reloader reacts only to these names: the JWT pair must be among them (a jwks.json change alone is a credential change).
  assert.deepEqual(store.watchFiles(), [...['ca.crt', 'issuer.crt', 'issuer.key'].map((f) => join(dir, f)), join(other, 'signing.key'), join(other, 'keys.json')]);
  const read = await store.read();
  assert.deepEqual(read.state === 'complete' ? read.texts : undefined, { ...A, ...JWT_A });
});
