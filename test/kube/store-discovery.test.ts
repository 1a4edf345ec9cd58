/**
 * What the store stands on: loadKubeClients (kubeconfig as kubectl finds it, --context, request
 * counting, patch content types), kubeError's mapping of real API failures, and finding Dapr's
 * namespace and `daprsystem` Configuration as the Dapr CLI does.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubeCall, loadKubeClients, patchOptions, PatchStrategy } from '../../src/kube/client.js';
import { findDaprNamespace, findDaprSystemConfiguration, readDaprSystemConfiguration } from '../../src/kube/discovery.js';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { assertCode } from './store-fixtures.js';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('loadKubeClients and kubeError', () => {
  let server: KubeApiServer;
  let dir: string;
  before(async () => {
    server = await startKubeApiServer();
    dir = await mkdtemp(join(tmpdir(), 'warden-kubeconfig-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('--kubeconfig and --context: the named context\'s credentials are used (a bad token is ERR_KUBE_FORBIDDEN)', async () => {
    const path = join(dir, 'two-contexts');
    await writeFile(path, server.kubeconfigWith([{ name: 'good' }, { name: 'bad', token: 'nope' }], 'bad'));
    const bad = await loadKubeClients({ kubeconfig: path });
    assert.match(bad.description, /^context bad \(https:\/\/127\.0\.0\.1:\d+\)$/);
    await assert.rejects(kubeCall('list namespaces', () => bad.core.listNamespace()), assertCode('ERR_KUBE_FORBIDDEN', /^cannot list namespaces: .*401 Unauthorized/));
    const good = await loadKubeClients({ kubeconfig: path, context: 'good' });
    assert.ok((await good.core.listNamespace()).items.length >= 4);
    await assert.rejects(loadKubeClients({ kubeconfig: path, context: 'other' }), assertCode('ERR_USAGE', /"other" is not in the kubeconfig \(contexts: good, bad\)/));
  });

  it('$KUBECONFIG: files merged, first wins, missing ones skipped; else $HOME/.kube/config; else ERR_KUBE_UNREACHABLE', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await writeFile(first, server.kubeconfigWith([{ name: 'shared', token: 'nope' }]));
    await writeFile(second, server.kubeconfigWith([{ name: 'shared' }, { name: 'extra' }], 'extra'));
    const merged = await loadKubeClients({ env: { KUBECONFIG: `${join(dir, 'missing')}:${first}:${second}`, HOME: dir } });
    assert.equal(merged.kubeConfig.getCurrentContext(), 'shared', 'current context from the first file that sets one');
    assert.deepEqual(merged.kubeConfig.getContexts().map((c) => c.name), ['shared', 'extra']);
    assert.equal(merged.kubeConfig.getCurrentUser()?.token, 'nope', 'the first file\'s user wins');

    const home = join(dir, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    await writeFile(join(home, '.kube', 'config'), server.kubeconfigYaml);
    const fromHome = await loadKubeClients({ env: { HOME: home } });
    assert.ok((await fromHome.core.listNamespace()).items.length > 0);

    await assert.rejects(loadKubeClients({ env: { HOME: join(dir, 'empty') } }), assertCode('ERR_KUBE_UNREACHABLE', /no kubeconfig found.*--kubeconfig/));
    await assert.rejects(loadKubeClients({ kubeconfig: join(dir, 'nope') }), assertCode('ERR_KUBE_UNREACHABLE', /cannot load the kubeconfig/));
    await assert.rejects(loadKubeClients({ inCluster: true, env: {} }), assertCode('ERR_KUBE_UNREACHABLE', /not running in a Kubernetes pod/));
  });

  it('no server listening: ERR_KUBE_UNREACHABLE at once', async () => {
    const path = join(dir, 'closed');
    const port = await closedPort();
    await writeFile(path, server.kubeconfigYaml.replace(server.url, `https://127.0.0.1:${port}`));
    // An hour-long request timeout: "at once" is proven by the refusal arriving at all inside the
    // hang bound, not by a stopwatch a loaded machine could trip.
    const clients = await loadKubeClients({ kubeconfig: path, requestTimeoutMs: 3_600_000 });
    const started = performance.now();
    await assert.rejects(kubeCall('read Secret x/y', () => clients.core.readNamespacedSecret({ namespace: 'x', name: 'y' })), assertCode('ERR_KUBE_UNREACHABLE', /ECONNREFUSED/));
    assert.ok(performance.now() - started < 120_000, 'a hang bound');
  });

  it('a slow server hits the request timeout: ERR_KUBE_UNREACHABLE', async () => {
    const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath, requestTimeoutMs: 100 });
    const slow = server.faults.addLatency(500, { verb: 'list', resource: 'namespaces' });
    try {
      await assert.rejects(kubeCall('list namespaces', () => clients.core.listNamespace()), assertCode('ERR_KUBE_UNREACHABLE', /timed out/));
    } finally {
      slow.cancel();
    }
  });

  it('HTTP failures map to codes: 404, 409, 403, 500; requestCount counts every request', async () => {
    const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    const before = clients.requestCount();
    await assert.rejects(kubeCall('read ConfigMap default/nope', () => clients.core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' })), assertCode('ERR_KUBE_NOT_FOUND', /configmaps "nope" not found \(404\)/));
    server.api.create('configmaps', 'default', { metadata: { name: 'c1' } });
    await assert.rejects(kubeCall('create', () => clients.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c1' } } })), assertCode('ERR_STORE_CONFLICT', /already exists/));
    server.faults.failNext(1, { status: 403, message: 'secrets is forbidden', match: { resource: 'secrets' } });
    await assert.rejects(kubeCall('list secrets', () => clients.core.listNamespacedSecret({ namespace: 'default' })), assertCode('ERR_KUBE_FORBIDDEN', /403 Forbidden/));
    server.faults.failNext(1, { match: { resource: 'secrets' } });
    await assert.rejects(kubeCall('list secrets', () => clients.core.listNamespacedSecret({ namespace: 'default' })), assertCode('ERR_KUBE_API', /answered 500: Internal error occurred: injected fault/));
    assert.equal(clients.requestCount() - before, 4);
    const controller = await clients.watch.watch('/api/v1/namespaces/default/configmaps', {}, () => undefined, () => undefined);
    controller.abort();
    assert.equal(clients.requestCount() - before, 5, 'watches count');
  });

  it('patchOptions sends the merge-patch content type', async () => {
    const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    server.api.create('configmaps', 'default', { metadata: { name: 'p1' }, data: { a: '1' } });
    const patched = await clients.core.patchNamespacedConfigMap({ namespace: 'default', name: 'p1', body: { data: { b: '2' } } }, patchOptions(PatchStrategy.MergePatch));
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    assert.equal(server.requests.filter({ verb: 'patch', name: 'p1' }).at(-1)?.contentType, 'application/merge-patch+json');
  });
});

describe('findDaprNamespace and the daprsystem Configuration', () => {
  const servers: KubeApiServer[] = [];
  const start = async () => {
    const s = await startKubeApiServer();
    servers.push(s);
    return { server: s, clients: await loadKubeClients({ kubeconfig: s.kubeconfigPath }) };
  };
  after(() => Promise.all(servers.map((s) => s.close())));

  it('the namespace of the daprsystem Configuration, its mTLS settings; --namespace overrides', async () => {
    const { server, clients } = await start();
    seedDaprControlPlane(server, { namespace: 'dapr-prod', trustDomain: 'prod.example', workloadCertTTL: '12h', allowedClockSkew: '5m' });
    assert.equal(await findDaprNamespace(clients), 'dapr-prod');
    assert.equal(await findDaprNamespace(clients, 'elsewhere'), 'elsewhere');
    assert.deepEqual(await readDaprSystemConfiguration(clients, 'dapr-prod'), {
      mtlsEnabled: true, workloadCertTTL: '12h', allowedClockSkew: '5m', controlPlaneTrustDomain: 'prod.example',
    });
    assert.equal(await readDaprSystemConfiguration(clients, 'default'), undefined);
    assert.equal((await findDaprSystemConfiguration(clients))?.namespace, 'dapr-prod');
    assert.equal(await findDaprSystemConfiguration(clients, 'default'), undefined);
  });

  it('an absent spec.mtls.enabled is undefined; without a Configuration the dapr-sentry Deployment decides', async () => {
    const { server, clients } = await start();
    seedDaprControlPlane(server, { namespace: 'dapr-a', mtlsEnabled: null });
    assert.equal((await readDaprSystemConfiguration(clients, 'dapr-a'))?.mtlsEnabled, undefined);
    const other = await start();
    seedDaprControlPlane(other.server, { namespace: 'dapr-b', withConfiguration: false });
    assert.equal(await findDaprNamespace(other.clients), 'dapr-b');
    assert.equal(await findDaprSystemConfiguration(other.clients), undefined);
  });

  it('no Dapr at all: ERR_DAPR_NOT_FOUND; a user without list rights is told about --namespace', async () => {
    const { server, clients } = await start();
    await assert.rejects(findDaprNamespace(clients), assertCode('ERR_DAPR_NOT_FOUND', /no Configuration "daprsystem" and no Deployment "dapr-sentry".*--namespace/));
    server.faults.failNext(1, { status: 403, message: 'forbidden', match: { resource: 'configurations' } });
    await assert.rejects(findDaprNamespace(clients), assertCode('ERR_KUBE_FORBIDDEN', /pass --namespace/));
  });
});
