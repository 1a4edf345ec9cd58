/**
 * A dropped connection (TCP reset: an API server restarting, a load balancer closing keep-alive
 * connections) does not fail a read: reads are tried again, as client-go retries a GET on a reset
 * connection. Writes are not (one that dropped may have been applied; resourceVersion decides).
 * The API test server resets the connection of the next N matching requests (faults.resetNext).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isConnectionDrop } from '../../src/kube/client.js';
import { isTransient } from '../../src/kube/rollout-errors.js';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { makeFakeBundle } from '../stores/fixtures/fake-bundles.js';
import { assertBuilt, tempHome } from '../cli/helpers.js';
import { buildBundle } from '../support/bundles.js';
import { runK } from './cli-read-fixtures.js';
import { assertCode, bundleData, clientsFor, NAME, openStore, secretData, seedNamespace } from './store-fixtures.js';

before(assertBuilt);

const A = makeFakeBundle('A');
const B = makeFakeBundle('B');

describe('Kubernetes reads survive a dropped connection', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer();
  });
  after(() => server.close());

  const secretRequests = (ns: string, verb: string) => server.requests.filter({ resource: 'secrets', namespace: ns, name: NAME, verb });

  it('two resets on the Secret read: the store reads it on the third attempt', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    const rule = server.faults.resetNext(2, { resource: 'secrets', namespace: ns, verb: 'get' });
    const read = await store.read();
    assert.equal(read.state, 'complete');
    assert.deepEqual(read.state === 'complete' && read.texts, A);
    assert.equal(rule.hits, 2);
    assert.deepEqual(secretRequests(ns, 'get').map((r) => r.fault ?? r.status), ['reset', 'reset', 200]);
  });

  it('a connection that keeps dropping: ERR_KUBE_UNREACHABLE after 3 attempts, naming the reset', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    server.faults.resetNext(10, { resource: 'secrets', namespace: ns, verb: 'get' });
    await assert.rejects(store.read(), assertCode('ERR_KUBE_UNREACHABLE', /ECONNRESET/));
    assert.equal(secretRequests(ns, 'get').length, 3);
  });

  it('a write whose connection drops is not sent again, and the stored bundle is unchanged', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    const store = await openStore(server, ns);
    const before = await store.read();
    assert.equal(before.state, 'complete');
    const writes = (): number => secretRequests(ns, 'update').length + secretRequests(ns, 'patch').length;
    const rule = server.faults.resetNext(1, { resource: 'secrets', namespace: ns, name: NAME, verb: ['update', 'patch'] });
    await assert.rejects(store.write(B, { expectedVersion: before.version }), assertCode('ERR_KUBE_UNREACHABLE', /ECONNRESET/));
    assert.equal(rule.hits, 1);
    assert.equal(writes(), 1, 'one attempt at the write');
    assert.deepEqual(secretData(server, ns), bundleData(A));
  });

  it('what a reset looks like to the client: a connection drop, and transient for the rollout retries', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A) });
    const clients = await clientsFor(server);
    server.faults.resetNext(1, { resource: 'secrets', namespace: ns, verb: 'get' });
    const err = await clients.core.readNamespacedSecret({ namespace: ns, name: NAME }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error, 'the reset read failed');
    assert.equal(isConnectionDrop(err), true, String(err));
    assert.equal(isTransient(err), true);
    // Neither is a bug's TypeError, nor an answer from the server.
    assert.equal(isConnectionDrop(new TypeError('x is not a function')), false, 'drop(TypeError)');
    assert.equal(isTransient(new TypeError('x is not a function')), false, 'transient(TypeError)');
    const notFound = await clients.core.readNamespacedSecret({ namespace: ns, name: 'none' }).then(() => undefined, (e: unknown) => e);
    assert.equal(isConnectionDrop(notFound), false);
  });

  it('`warden mtls expiry -k` answers through two dropped connections', async (t) => {
    const { home } = await tempHome(t);
    const built = await buildBundle({ now: new Date() });
    const cluster = await startKubeApiServer();
    t.after(() => cluster.close());
    seedDaprControlPlane(cluster, { trustBundle: built.texts, namespace: 'dapr-system' });
    const rule = cluster.faults.resetNext(2, { resource: 'secrets', namespace: 'dapr-system', name: NAME, verb: 'get' });
    const result = await runK(cluster, home, ['mtls', 'expiry', '-k']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(rule.hits, 2);
    assert.match(result.stdout, /^Root certificate expires in \d+ hours\. Expiry date: /);
    assert.equal(result.stderr, '');
  });
});
