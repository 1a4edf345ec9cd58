/**
 * distributeTrustAnchors against the API test server: `dapr-root-ca.crt` created in every namespace
 * with Dapr apps, left alone when it already holds the anchors, replaced with the read
 * resourceVersion (other keys and labels kept), 409s answered by reading again, a namespace that
 * gains Dapr apps picked up on the next call.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { loadKubeClients, type KubeClients } from '../../src/kube/client.js';
import { distributeTrustAnchors, ROOT_CA_CONFIGMAP } from '../../src/kube/trust-distribution.js';
import { seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';

const NS = 'dapr-system';
const pem = () => generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: NS }).bundle.toTexts().ca;
const OLD = pem();
const NEW = pem();

describe('trust distribution (dapr-root-ca.crt)', () => {
  let server: KubeApiServer;
  let clients: KubeClients;
  const caOf = (ns: string) => (server.api.find('configmaps', ns, ROOT_CA_CONFIGMAP)?.data as Record<string, string> | undefined)?.['ca.crt'];
  const writes = () => server.requests.count({ verb: ['create', 'update', 'patch'], resource: 'configmaps' });
  beforeEach(async () => {
    server = await startKubeApiServer();
    seedDaprControlPlane(server, { withPods: false });
    seedDaprApps(server, { namespaces: ['team-a', 'team-b'], count: 2, nonDaprCount: 0 });
    seedDaprApps(server, { namespaces: ['no-dapr'], count: 0, nonDaprCount: 2, prefix: 'plain' });
    clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
  });
  afterEach(() => server.close());

  it('creates it in every namespace with Dapr apps (not the others, not the control plane), then leaves it alone', async () => {
    const first = await distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD });
    assert.deepEqual(first, { namespaces: ['team-a', 'team-b'], created: ['team-a', 'team-b'], updated: [], unchanged: [], conflictsRetried: 0 });
    assert.equal(caOf('team-a'), OLD);
    assert.equal(caOf('no-dapr'), undefined);
    assert.equal(caOf(NS), undefined);
    const before = writes();
    const again = await distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD });
    assert.deepEqual(again.unchanged, ['team-a', 'team-b']);
    assert.equal(writes(), before, 'no write when it already holds the anchors');
  });

  it('updates with the read resourceVersion, keeping other keys and labels; --app-namespaces limits it', async () => {
    server.api.create('configmaps', 'team-a', { metadata: { name: ROOT_CA_CONFIGMAP, labels: { owner: 'dapr-operator' } }, data: { 'ca.crt': OLD, extra: 'kept' } });
    const r = await distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD + NEW, namespaces: ['team-a'] });
    assert.deepEqual([r.updated, r.created], [['team-a'], []]);
    const cm = server.api.get('configmaps', 'team-a', ROOT_CA_CONFIGMAP);
    assert.deepEqual(cm.data, { 'ca.crt': OLD + NEW, extra: 'kept' });
    assert.equal(cm.metadata.labels?.owner, 'dapr-operator');
    assert.equal(cm.metadata.labels?.['app.kubernetes.io/managed-by'], 'warden');
    assert.equal(caOf('team-b'), undefined, 'outside --app-namespaces');
    const update = server.requests.filter({ verb: 'update', resource: 'configmaps' })[0];
    assert.ok(update, 'a PUT (replace), which the server checks against the resourceVersion');
  });

  it('a 409 (someone changed it between read and write) is answered by reading again; endless conflicts are ERR_STORE_CONFLICT', async () => {
    server.api.create('configmaps', 'team-a', { metadata: { name: ROOT_CA_CONFIGMAP }, data: { 'ca.crt': OLD } });
    server.faults.failNext(1, { status: 409, message: 'the object has been modified; please apply your changes to the latest version and try again', match: { verb: 'update', resource: 'configmaps', namespace: 'team-a' } });
    server.faults.failNext(1, { status: 409, message: 'configmaps "dapr-root-ca.crt" already exists', match: { verb: 'create', resource: 'configmaps', namespace: 'team-b' } });
    const r = await distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: NEW });
    assert.equal(r.conflictsRetried, 2);
    assert.deepEqual([r.updated, r.created], [['team-a'], ['team-b']]);
    assert.equal(caOf('team-a'), NEW);
    assert.equal(caOf('team-b'), NEW);
    server.faults.failNext(5, { status: 409, match: { verb: 'update', resource: 'configmaps', namespace: 'team-a' } });
    await assert.rejects(distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD, namespaces: ['team-a'] }),
      (e: unknown) => isWardenError(e, 'ERR_STORE_CONFLICT') && /team-a\/dapr-root-ca\.crt: it changed under 5 attempts/.test(e.message));
  });

  it('a real stale write: the server refuses the old resourceVersion, the retry carries the new one and keeps the other writer\'s keys', async () => {
    server.api.create('configmaps', 'team-a', { metadata: { name: ROOT_CA_CONFIGMAP }, data: { 'ca.crt': OLD } });
    // The other writer changes it right after Warden's first read.
    const hold = server.faults.hold({ verb: 'update', resource: 'configmaps', namespace: 'team-a' });
    const run = distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: NEW, namespaces: ['team-a'] });
    await hold.arrived;
    server.api.mutate('configmaps', 'team-a', ROOT_CA_CONFIGMAP, (cm) => { (cm.data as Record<string, string>).other = 'x'; });
    hold.release();
    const r = await run;
    assert.equal(r.conflictsRetried, 1);
    assert.deepEqual(server.api.get('configmaps', 'team-a', ROOT_CA_CONFIGMAP).data, { 'ca.crt': NEW, other: 'x' });
  });

  it('a namespace that gains its first Dapr app gets the ConfigMap on the next call', async () => {
    await distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD });
    seedDaprApps(server, { namespaces: ['team-new'], count: 1, prefix: 'late' });
    const r = await distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD });
    assert.deepEqual([r.created, r.unchanged], [['team-new'], ['team-a', 'team-b']]);
    assert.equal(caOf('team-new'), OLD);
  });

  it('a forbidden write names the namespace and the object', async () => {
    server.faults.failNext(1, { status: 403, message: 'configmaps is forbidden', match: { verb: 'create', resource: 'configmaps', namespace: 'team-b' } });
    await assert.rejects(distributeTrustAnchors(clients, { controlPlaneNamespace: NS, anchorsPem: OLD }),
      (e: unknown) => isWardenError(e, 'ERR_KUBE_FORBIDDEN') && /create ConfigMap team-b\/dapr-root-ca\.crt/.test(e.message));
  });
});
