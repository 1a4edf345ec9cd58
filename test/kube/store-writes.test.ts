/**
 * KubeTrustBundleStore writes against the API test server: resourceVersion conflicts (forced and
 * real concurrent writers), faults between the Secret and the ConfigMap write, partial bundles,
 * keys Warden must not touch, and backups (Secrets and local copies).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { makeFakeBundle } from '../stores/fixtures/fake-bundles.js';
import { assertCode, bundleData, configMapData, NAME, openStore, secretData, seedNamespace, until } from './store-fixtures.js';

const A = makeFakeBundle('A');
const B = makeFakeBundle('B');
const C = makeFakeBundle('C');

describe('KubeTrustBundleStore writes', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer();
  });
  after(() => server.close());

  it('writes the Secret and the ConfigMap ca.crt byte-identical; version is <secret rv>/<configmap rv>', async () => {
    const ns = seedNamespace(server);
    const store = await openStore(server, ns);
    const { version } = await store.write(A);
    const secret = server.api.get('secrets', ns, NAME);
    const cm = server.api.get('configmaps', ns, NAME);
    assert.equal(version, `${secret.metadata.resourceVersion}/${cm.metadata.resourceVersion}`);
    assert.deepEqual(secretData(server, ns), bundleData(A));
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': A.ca });
    assert.equal(secret.metadata.labels?.app, 'dapr-sentry', 'labels are kept');
  });

  it('keeps the Secret\'s other keys (jwt.key, jwks.json) and the ConfigMap\'s other keys', async () => {
    const ns = seedNamespace(server, { secret: { ...bundleData(A), 'jwt.key': 'JWT-KEY', 'jwks.json': '{"keys":[]}' }, configMap: { 'ca.crt': A.ca, 'jwks.json': '{"keys":[]}' } });
    const store = await openStore(server, ns);
    const result = await store.write(B);
    assert.deepEqual(secretData(server, ns), { ...bundleData(B), 'jwt.key': 'JWT-KEY', 'jwks.json': '{"keys":[]}' });
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': B.ca, 'jwks.json': '{"keys":[]}' });
    // The JWT pair is trust material too (jwt.key signs JWT-SVIDs): the backup holds it, and a restore puts it back.
    assert.deepEqual(await store.readBackup(result.backup!.name), { ...A, jwtKey: 'JWT-KEY', jwks: '{"keys":[]}' });
    assert.equal(secretData(server, ns, result.backup!.name)!['jwt.key'], 'JWT-KEY');
  });

  it('writes the JWT pair to the Secret (jwt.key, jwks.json) and jwks.json to the ConfigMap, as Dapr\'s Sentry does', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    await store.write({ ...B, jwtKey: 'KEY-B', jwks: '{"keys":["b"]}' });
    assert.deepEqual(secretData(server, ns), { ...bundleData(B), 'jwt.key': 'KEY-B', 'jwks.json': '{"keys":["b"]}' });
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': B.ca, 'jwks.json': '{"keys":["b"]}' });
    const read = await store.read();
    assert.equal(read.state, 'complete');
    assert.deepEqual(read.state === 'complete' ? read.texts : undefined, { ...B, jwtKey: 'KEY-B', jwks: '{"keys":["b"]}' });
    // A later X.509-only write (renew-certificate) keeps the pair in both objects.
    await store.write(C);
    assert.deepEqual(secretData(server, ns), { ...bundleData(C), 'jwt.key': 'KEY-B', 'jwks.json': '{"keys":["b"]}' });
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': C.ca, 'jwks.json': '{"keys":["b"]}' });
  });

  it('one JWT key without the other reads as no JWT pair (Dapr: both or neither)', async () => {
    const ns = seedNamespace(server, { secret: { ...bundleData(A), 'jwt.key': 'ALONE' }, configMap: { 'ca.crt': A.ca } });
    const read = await (await openStore(server, ns)).read();
    assert.deepEqual(read.state === 'complete' ? read.texts : undefined, A);
  });

  it('forced conflict on the Secret update: ERR_STORE_CONFLICT, nothing written, no backup left', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    const before = { secret: server.api.get('secrets', ns, NAME), cm: server.api.get('configmaps', ns, NAME) };
    const rule = server.faults.conflictNext(1, { resource: 'secrets', namespace: ns, name: NAME });
    await assert.rejects(store.write(B), assertCode('ERR_STORE_CONFLICT', /changed by another writer.*nothing was written/));
    assert.equal(rule.hits, 1);
    assert.deepEqual(server.api.get('secrets', ns, NAME), before.secret);
    assert.deepEqual(server.api.get('configmaps', ns, NAME), before.cm);
    assert.deepEqual(await store.listBackups(), []);
  });

  it('a real concurrent writer between read and write wins; ours gets ERR_STORE_CONFLICT and writes nothing', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    // Hold our Secret update in flight; meanwhile another client replaces the bundle.
    const held = server.faults.hold({ verb: 'update', resource: 'secrets', namespace: ns });
    try {
      const ours = store.write(B);
      await held.arrived;
      server.api.mutate('secrets', ns, NAME, (s) => {
        s.data = { ...(s.data as object), 'ca.crt': Buffer.from(C.ca).toString('base64') };
      });
      held.release();
      await assert.rejects(ours, assertCode('ERR_STORE_CONFLICT'));
    } finally {
      held.release();
    }
    assert.equal(secretData(server, ns)!['ca.crt'], C.ca, 'the other writer\'s change stands');
    assert.equal(secretData(server, ns)!['issuer.key'], A.issuerKey);
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': A.ca }, 'our ConfigMap write never happened');
    assert.deepEqual(await store.listBackups(), []);
  });

  it('expectedVersion from before another writer\'s change is refused without a backup', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    const read = await store.read();
    assert.equal(read.state, 'complete');
    server.api.mutate('configmaps', ns, NAME, (c) => {
      c.data = { ...(c.data as object), 'jwks.json': '{}' };
    });
    await assert.rejects(store.write(B, { expectedVersion: read.state === 'complete' ? read.version : '' }), assertCode('ERR_STORE_CONFLICT'));
    assert.deepEqual(secretData(server, ns), bundleData(A));
    assert.deepEqual(await store.listBackups(), []);
  });

  it('a 500 on the ConfigMap update after the Secret was written is retried; both end identical', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    server.faults.failNext(2, { match: { verb: 'update', resource: 'configmaps', namespace: ns } });
    const result = await store.write(B);
    assert.deepEqual(secretData(server, ns), bundleData(B));
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': B.ca });
    assert.deepEqual(server.requests.filter({ verb: 'update', resource: 'configmaps', namespace: ns }).map((r) => r.status), [500, 500, 200]);
    const read = await store.read();
    assert.deepEqual(read, { state: 'complete', texts: B, version: result.version });
  });

  it('a ConfigMap changed by someone else between our reads is re-read and updated, keeping their keys', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    server.faults.conflictNext(1, { resource: 'configmaps', namespace: ns, name: NAME });
    server.api.mutate('configmaps', ns, NAME, (c) => {
      c.data = { ...(c.data as object), 'jwks.json': 'theirs' };
    });
    await store.write(B);
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': B.ca, 'jwks.json': 'theirs' });
  });

  it('a ConfigMap that keeps failing: the error says the Secret was written and they differ; read reports it; resync repairs', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns, { configMapAttempts: 3 });
    const rule = server.faults.failNext(100, { match: { verb: 'update', resource: 'configmaps', namespace: ns } });
    await assert.rejects(store.write(B), assertCode('ERR_KUBE_API', /written to Secret .*dapr-trust-bundle, but ConfigMap .* could not be updated .*500.*now differ/s));
    assert.equal(rule.hits, 3);
    rule.cancel();
    assert.deepEqual(secretData(server, ns), bundleData(B), 'the Secret (source of truth) holds the new bundle');
    const read = await store.read();
    assert.ok(read.state === 'complete' && 'anchorsMismatch' in read, 'the mismatch is reported to readers');
    assert.equal(read.anchorsMismatch.configMapCa, A.ca);
    assert.match(read.anchorsMismatch.message, /differs from Secret .* new CA/);
    assert.equal(await store.resyncConfigMap(), true);
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': B.ca });
    assert.equal(await store.resyncConfigMap(), false, 'nothing left to do');
    const again = await store.read();
    assert.ok(again.state === 'complete' && !('anchorsMismatch' in again));
  });

  it('stops retrying the ConfigMap when another writer has replaced the Secret meanwhile', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns, { retryDelayMs: 200 });
    server.faults.failNext(1, { match: { verb: 'update', resource: 'configmaps', namespace: ns } });
    const ours = store.write(B);
    await until(() => server.requests.count({ verb: 'update', resource: 'configmaps', namespace: ns, status: 500 }) === 1);
    // The other writer: its Secret, then its ConfigMap (as a well-behaved writer does).
    server.api.mutate('secrets', ns, NAME, (s) => {
      s.data = Object.fromEntries(Object.entries(bundleData(C)).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    });
    server.api.mutate('configmaps', ns, NAME, (c) => {
      c.data = { 'ca.crt': C.ca };
    });
    await assert.rejects(ours, assertCode('ERR_STORE_CONFLICT', /replaced by another writer/));
    assert.deepEqual(secretData(server, ns), bundleData(C));
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': C.ca }, 'we did not overwrite the other writer\'s ConfigMap');
  });

  it('a 500 on the Secret update: nothing written, backup removed, ERR_KUBE_API', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    server.faults.failNext(1, { match: { verb: 'update', resource: 'secrets', namespace: ns } });
    await assert.rejects(store.write(B), assertCode('ERR_KUBE_API', /500.*nothing was written/));
    assert.deepEqual(secretData(server, ns), bundleData(A));
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': A.ca });
    assert.deepEqual(await store.listBackups(), []);
  });

  it('a partial Secret is refused (ERR_BUNDLE_PARTIAL) unless overwritePartial; its parts are backed up', async () => {
    const ns = seedNamespace(server, { secret: { 'ca.crt': A.ca, 'jwt.key': 'J' }, configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    assert.deepEqual(await store.read(), {
      state: 'partial',
      present: [`Secret ${ns}/${NAME} key ca.crt`],
      missing: [`Secret ${ns}/${NAME} key issuer.crt`, `Secret ${ns}/${NAME} key issuer.key`],
    });
    await assert.rejects(store.write(B), assertCode('ERR_BUNDLE_PARTIAL', /issuer\.crt.*issuer\.key.*nothing was written/));
    assert.deepEqual(secretData(server, ns), { 'ca.crt': A.ca, 'jwt.key': 'J' });
    const result = await store.write(B, { overwritePartial: true });
    assert.deepEqual(secretData(server, ns), { ...bundleData(B), 'jwt.key': 'J' });
    assert.deepEqual(secretData(server, ns, result.backup!.name), { 'ca.crt': A.ca });
    await assert.rejects(store.readBackup(result.backup!.name), assertCode('ERR_BUNDLE_PARTIAL'));
  });

  it('a Secret with only other keys (jwt.key) is absent', async () => {
    const ns = seedNamespace(server, { secret: { 'jwt.key': 'J' }, configMap: {} });
    const store = await openStore(server, ns);
    assert.deepEqual(await store.read(), { state: 'absent' });
    const { backup } = await store.write(A, { expectedVersion: null });
    assert.equal(backup, undefined);
    assert.deepEqual(secretData(server, ns), { ...bundleData(A), 'jwt.key': 'J' });
  });

  it('backup Secrets: name, labels, annotation, data; listed newest first; local copies 0700/0600', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-kube-backup-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const backupDir = join(dir, 'backups');
    const clock = new FixedClock(new Date('2026-11-29T23:45:12.345Z'));
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns, { clock, backupDir });
    const first = (await store.write(B)).backup!;
    assert.equal(first.name, 'dapr-trust-bundle-backup-20261129t234512z');
    assert.equal(first.location, `Secret ${ns}/${first.name}`);
    const secret = server.api.get('secrets', ns, first.name);
    assert.deepEqual(secret.metadata.labels, { 'app.kubernetes.io/managed-by': 'warden', 'warden.dapr.io/backup': 'true', 'warden.dapr.io/backup-of': NAME });
    assert.equal(secret.metadata.annotations?.['warden.dapr.io/created-at'], '2026-11-29T23:45:12.345Z');
    assert.deepEqual(secretData(server, ns, first.name), bundleData(A));
    const second = (await store.write(C)).backup!;
    assert.equal(second.name, 'dapr-trust-bundle-backup-20261129t234512z-2');
    assert.deepEqual((await store.listBackups()).map((b) => b.name), [second.name, first.name]);
    const local = store.localBackupDir(first.name)!;
    assert.equal(local, join(backupDir, first.name));
    assert.equal((await stat(backupDir)).mode & 0o777, 0o700);
    assert.equal((await stat(local)).mode & 0o777, 0o700);
    assert.deepEqual((await readdir(local)).sort(), ['ca.crt', 'issuer.crt', 'issuer.key']);
    for (const [file, text] of Object.entries(bundleData(A))) {
      assert.equal(await readFile(join(local, file), 'utf8'), text);
      assert.equal((await stat(join(local, file))).mode & 0o777, 0o600);
    }
    assert.deepEqual(await store.readBackup(second.name), B);
    // Unrelated Secrets that look like backups are not listed or read.
    server.api.create('secrets', ns, { metadata: { name: `${NAME}-backup-20000101t000000z` }, stringData: bundleData(A) });
    assert.equal((await store.listBackups()).length, 2);
    await assert.rejects(store.readBackup(`${NAME}-backup-20000101t000000z`), assertCode('ERR_BUNDLE_NOT_FOUND', /not a Warden backup/));
  });

  it('a local backup copy that cannot be written aborts the write before anything changes', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-kube-backup-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'file'), 'x');
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns, { backupDir: join(dir, 'file', 'sub') });
    await assert.rejects(store.write(B), assertCode('ERR_STORE_IO'));
    assert.deepEqual(secretData(server, ns), bundleData(A));
    assert.deepEqual(await store.listBackups(), [], 'the backup Secret is removed again');
  });
});
