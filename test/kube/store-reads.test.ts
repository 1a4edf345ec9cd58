/**
 * KubeTrustBundleStore reads against the API test server: missing objects (never created unless
 * `create: true`), absent/partial/complete, ConfigMap mismatches reported (never repaired
 * silently), and watchSecret across updates, dropped streams and 410 Expired.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { makeFakeBundle } from '../stores/fixtures/fake-bundles.js';
import { assertCode, bundleData, configMapData, NAME, openStore, secretData, seedNamespace, until } from './store-fixtures.js';

const A = makeFakeBundle('A');
const B = makeFakeBundle('B');

describe('KubeTrustBundleStore reads', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer({ watchHistory: 5 });
  });
  after(() => server.close());

  it('a missing Secret: ERR_KUBE_NOT_FOUND naming it and suggesting --create; a write creates nothing', async () => {
    const ns = seedNamespace(server, { secret: null, configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    const expected = assertCode('ERR_KUBE_NOT_FOUND', new RegExp(`Secret ${ns}/dapr-trust-bundle not found.*--namespace.*--create`));
    await assert.rejects(store.read(), expected);
    await assert.rejects(store.write(A), expected);
    assert.equal(secretData(server, ns), undefined);
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': A.ca });
    assert.equal(server.requests.count({ verb: 'create', namespace: ns }), 0);
  });

  it('a missing ConfigMap (or both) is named too', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: null });
    const store = await openStore(server, ns);
    await assert.rejects(store.read(), assertCode('ERR_KUBE_NOT_FOUND', new RegExp(`^ConfigMap ${ns}/dapr-trust-bundle not found`)));
    await assert.rejects(store.readConfigMapCa(), assertCode('ERR_KUBE_NOT_FOUND'));
    await assert.rejects(store.write(B), assertCode('ERR_KUBE_NOT_FOUND'));
    assert.deepEqual(secretData(server, ns), bundleData(A), 'the Secret is not written when the ConfigMap is missing');
    const both = seedNamespace(server, { secret: null, configMap: null });
    await assert.rejects((await openStore(server, both)).read(), assertCode('ERR_KUBE_NOT_FOUND', /Secret .* and ConfigMap .* not found/));
    await assert.rejects((await openStore(server, 'no-such-namespace')).read(), assertCode('ERR_KUBE_NOT_FOUND'));
  });

  it('create: true reads missing objects as absent and creates both on write', async () => {
    const ns = seedNamespace(server, { secret: null, configMap: null });
    const store = await openStore(server, ns, { create: true });
    assert.deepEqual(await store.read(), { state: 'absent' });
    const { version, backup } = await store.write(A, { expectedVersion: null });
    assert.equal(backup, undefined);
    assert.deepEqual(secretData(server, ns), bundleData(A));
    assert.equal(server.api.get('secrets', ns, NAME).type, 'Opaque');
    assert.deepEqual(configMapData(server, ns), { 'ca.crt': A.ca });
    assert.deepEqual(await store.read(), { state: 'complete', texts: A, version });
    // Only the ConfigMap missing: it is created from the new ca.crt, the Secret updated.
    const half = seedNamespace(server, { secret: bundleData(A), configMap: null });
    await (await openStore(server, half, { create: true })).write(B);
    assert.deepEqual(configMapData(server, half), { 'ca.crt': B.ca });
  });

  it('an empty Secret (what Helm renders without certificates) is absent', async () => {
    const ns = seedNamespace(server);
    assert.deepEqual(await (await openStore(server, ns)).read(), { state: 'absent' });
  });

  it('a ConfigMap ca.crt that differs, or is missing, is reported on read and changes nothing', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': `${A.ca}\n` } });
    const store = await openStore(server, ns);
    const before = server.requests.count({ verb: ['update', 'patch', 'create'], namespace: ns });
    const read = await store.read();
    assert.ok(read.state === 'complete' && 'anchorsMismatch' in read);
    assert.deepEqual(read.texts, A);
    assert.equal(read.anchorsMismatch.configMapCa, `${A.ca}\n`, 'byte-level: one extra newline is a mismatch, as for Dapr');
    assert.match(read.anchorsMismatch.message, /ConfigMap .* ca\.crt differs from Secret .* ca\.crt.*renew-certificate -k/);
    assert.equal(await store.readConfigMapCa(), `${A.ca}\n`);
    server.api.mutate('configmaps', ns, NAME, (c) => {
      c.data = { 'jwks.json': '{}' };
    });
    const missing = await store.read();
    assert.ok(missing.state === 'complete' && 'anchorsMismatch' in missing);
    assert.equal(missing.anchorsMismatch.configMapCa, undefined);
    assert.match(missing.anchorsMismatch.message, /has no ca\.crt/);
    assert.equal(await store.readConfigMapCa(), undefined);
    assert.equal(server.requests.count({ verb: ['update', 'patch', 'create'], namespace: ns }), before, 'a read writes nothing');
    assert.deepEqual(configMapData(server, ns), { 'jwks.json': '{}' });
  });

  it('custom key names (Helm issuerFilenames) are read and written', async () => {
    const ns = seedNamespace(server, { secret: { 'tls.crt': A.issuerCert, 'tls.key': A.issuerKey, 'ca.crt': A.ca }, configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns, { keys: { issuerCert: 'tls.crt', issuerKey: 'tls.key' } });
    const read = await store.read();
    assert.ok(read.state === 'complete');
    assert.deepEqual(read.texts, A);
    await store.write(B);
    assert.deepEqual(secretData(server, ns), { 'tls.crt': B.issuerCert, 'tls.key': B.issuerKey, 'ca.crt': B.ca });
  });

  it('watchSecret: fires on each change (not the initial state), survives dropped streams, stops when told', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    let calls = 0;
    const errors: unknown[] = [];
    const stop = await store.watchSecret(() => void calls++, { onError: (e) => errors.push(e) });
    try {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(calls, 0, 'no event for the state at the start');
      await store.write(B);
      await until(() => calls === 1);
      server.api.mutate('configmaps', ns, NAME, (c) => {
        c.data = { 'ca.crt': 'x' };
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(calls, 1, 'ConfigMap changes and other Secrets are not reported');
      assert.ok(server.dropWatches() >= 1);
      server.api.mutate('secrets', ns, NAME, (s) => {
        s.metadata.annotations = { touched: '1' };
      });
      await until(() => calls === 2);
      assert.deepEqual(errors, []);
    } finally {
      stop();
    }
    server.api.mutate('secrets', ns, NAME, (s) => {
      s.metadata.annotations = { touched: '2' };
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(calls, 2, 'no calls after stop');
  });

  it('watchSecret: a resourceVersion compacted away (410) is re-listed and reported as a change', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    let calls = 0;
    const stop = await store.watchSecret(() => void calls++);
    try {
      // Delay re-watches, end the stream, and push the history (5 events) past our version.
      const slow = server.faults.addLatency(300, { verb: 'watch', namespace: ns });
      server.dropWatches();
      for (let i = 0; i < 8; i++) {
        server.api.mutate('configmaps', ns, NAME, (c) => {
          c.data = { n: String(i) };
        });
      }
      await until(() => server.requests.count({ verb: 'list', resource: 'secrets', namespace: ns }) >= 1);
      slow.cancel();
      await until(() => calls >= 1);
      server.api.mutate('secrets', ns, NAME, (s) => {
        s.metadata.annotations = { after: 'relist' };
      });
      await until(() => calls >= 2);
    } finally {
      stop();
    }
  });
});
