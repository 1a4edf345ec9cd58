/**
 * readTrustConvergence against the API test server: the anchors each Dapr pod was actually given
 * (env value, env valueFrom, mounted ConfigMap file, subPath), pods without daprd, the control
 * plane, namespaces, finished pods, owners, and API failures.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { generateTrustBundle } from '../../src/core/bundle.js';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { systemClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { podNames, readTrustConvergence, type PodTrust } from '../../src/kube/trust-convergence.js';
import { makeClients, type KubeClients } from '../support/kube-api/client.js';
import {
  ManualServerClock, ROOT_CA_CONFIGMAP, seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer,
  type DaprPodSimulator, type KubeApiServer,
} from '../support/kube-api/index.js';

const NS = 'dapr-system';
const bundle = (): BundleTexts => generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: NS }).bundle.toTexts();
const OLD = bundle();
const NEW = bundle();
const BOTH = OLD.ca + NEW.ca;

const byName = (pods: PodTrust[]) => Object.fromEntries(pods.map((p) => [p.name, p]));

function setBundleConfigMap(server: KubeApiServer, ca: string): void {
  server.api.mutate('configmaps', NS, 'dapr-trust-bundle', (cm) => { cm.data = { 'ca.crt': ca }; });
  server.api.mutate('secrets', NS, 'dapr-trust-bundle', (s) => { (s.data as Record<string, string>)['ca.crt'] = Buffer.from(ca).toString('base64'); });
}

function rawPod(server: KubeApiServer, namespace: string, name: string, daprd: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): void {
  const containers = [{ name: 'app', image: 'x' }, ...(daprd ? [{ name: 'daprd', image: 'daprd', ...daprd }] : [])];
  server.api.create('pods', namespace, {
    metadata: { name, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name } },
    spec: { containers, ...extra },
  });
}

function startPod(server: KubeApiServer, namespace: string, name: string, at: Date, phase = 'Running'): void {
  server.api.mutate('pods', namespace, name, (p) => {
    p.status = { phase, containerStatuses: [{ name: 'daprd', state: { running: { startedAt: at.toISOString().replace(/\.\d+Z$/, 'Z') } } }] };
  }, { subresource: 'status' });
}

describe('trust convergence, pod by pod', () => {
  let server: KubeApiServer;
  let clients: KubeClients;
  let sim: DaprPodSimulator;
  let clock: ManualServerClock;
  beforeEach(async () => {
    clock = new ManualServerClock(new Date('2026-12-04T10:00:00Z'));
    server = await startKubeApiServer({ clock });
    seedDaprControlPlane(server, { trustBundle: OLD, withPods: false });
    seedDaprApps(server, { namespaces: ['team-a', 'team-b'], count: 4, nonDaprCount: 2 });
    sim = simulateDaprPods(server);
    clients = makeClients(server.kubeconfigPath);
  });
  afterEach(async () => {
    sim.stop();
    await server.close();
  });

  it('env anchors: old only → not converged (naming the missing root), both → converged, new only → converged', async () => {
    const before = await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, appsOnly: true });
    assert.equal(before.pods.length, 4, 'the four Dapr apps, not the two others');
    assert.equal(before.notConverged, 4);
    for (const p of before.pods) {
      assert.equal(p.state, 'not-converged');
      assert.equal(p.source, 'env DAPR_TRUST_ANCHORS');
      assert.equal(p.container, 'daprd');
      assert.equal(p.missing.length, 1);
      assert.match(p.missing[0]!, /\(sha256:[0-9a-f]{12}\)$/);
      assert.match(p.reason, /a restart re-injects it/);
      assert.equal(p.owner?.kind, 'Deployment');
    }
    setBundleConfigMap(server, BOTH);
    sim.replacePods('deployments', 'team-a', 'app-0');
    rawPod(server, 'team-b', 'new-only', { env: [{ name: 'DAPR_TRUST_ANCHORS', value: NEW.ca }] });
    const after = await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, appsOnly: true });
    const pods = byName(after.pods);
    const app0 = after.pods.find((p) => p.owner?.name === 'app-0')!;
    assert.equal(app0.state, 'converged', app0.reason);
    assert.equal(pods['new-only']?.state, 'converged');
    assert.equal(pods['new-only']?.owner, undefined, 'a bare pod has no workload to restart');
    assert.equal(after.converged, 2);
    assert.equal(after.notConverged, 3);
    assert.deepEqual(after.pending.map((p) => p.owner?.name).sort(), ['app-1', 'app-2', 'app-3']);
    // Both roots required: the new-only pod lacks the old one.
    const both = await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: BOTH, appsOnly: true });
    assert.equal(byName(both.pods)['new-only']?.state, 'not-converged');
    assert.equal(both.pods.find((p) => p.owner?.name === 'app-0')?.state, 'converged');
  });

  it('ConfigMap-file anchors (DAPR_TRUST_ANCHORS_FILE): converged once the mounted dapr-root-ca.crt holds the root', async () => {
    sim.stop();
    sim = simulateDaprPods(server, { anchors: 'file' });
    const read = () => readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-a'], appsOnly: true });
    const missing = await read();
    assert.equal(missing.pods.length, 2);
    for (const p of missing.pods) {
      assert.equal(p.state, 'not-converged');
      assert.match(p.reason, /ConfigMap team-a\/dapr-root-ca\.crt does not exist/);
      assert.match(p.source, /^ConfigMap team-a\/dapr-root-ca\.crt key ca\.crt \(mounted file \/var\/run\/secrets\/dapr\.io\/root-ca\/ca\.crt\)$/);
    }
    server.api.create('configmaps', 'team-a', { metadata: { name: ROOT_CA_CONFIGMAP }, data: { 'ca.crt': OLD.ca } });
    assert.equal((await read()).notConverged, 2, 'the old root only');
    server.api.mutate('configmaps', 'team-a', ROOT_CA_CONFIGMAP, (cm) => { cm.data = { 'ca.crt': BOTH }; });
    const done = await read();
    assert.equal(done.converged, 2, JSON.stringify(done.pending));
    assert.match(done.pods[0]!.reason, /mounted; the kubelet syncs/);
    assert.ok(done.pods.every((p) => p.reloads === true), 'a watched mounted file follows the ConfigMap');
    assert.equal(server.requests.count({ verb: 'get', resource: 'configmaps' }), 3, 'one ConfigMap read per check, shared by the pods');
  });

  it('items remapping and subPath mounts: a subPath copy is read at start, so it counts only for a start after the write', async () => {
    server.api.create('configmaps', 'team-a', { metadata: { name: 'anchors' }, data: { roots: BOTH } });
    const mount = (subPath?: string) => ({
      env: [{ name: 'DAPR_TRUST_ANCHORS_FILE', value: '/certs/trust/ca.pem' }],
      volumeMounts: [{ name: 'a', mountPath: subPath ? '/certs/trust/ca.pem' : '/certs/trust', ...(subPath ? { subPath } : {}) }],
    });
    rawPod(server, 'team-a', 'items', mount(), { volumes: [{ name: 'a', configMap: { name: 'anchors', items: [{ key: 'roots', path: 'ca.pem' }] } }] });
    rawPod(server, 'team-a', 'sub-old', mount('roots'), { volumes: [{ name: 'a', configMap: { name: 'anchors' } }] });
    rawPod(server, 'team-a', 'sub-new', mount('roots'), { volumes: [{ name: 'a', configMap: { name: 'anchors' } }] });
    rawPod(server, 'team-a', 'nowhere', { env: [{ name: 'DAPR_TRUST_ANCHORS_FILE', value: '/elsewhere/ca.crt' }] });
    const writtenAt = new Date('2026-12-04T10:05:00.400Z');
    startPod(server, 'team-a', 'sub-old', new Date('2026-12-04T10:04:59Z'));
    startPod(server, 'team-a', 'sub-new', new Date('2026-12-04T10:05:00Z'));
    const r = byName((await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-a'], anchorsWrittenAt: writtenAt })).pods);
    assert.equal(r.items?.state, 'converged', r.items?.reason);
    assert.equal(r['sub-old']?.state, 'not-converged');
    assert.match(r['sub-old']?.reason ?? '', /before the anchors were written/);
    assert.equal(r['sub-new']?.state, 'converged', 'same second as the write counts (restartedAt has whole seconds)');
    assert.equal(r.items?.reloads, true);
    assert.equal(r['sub-new']?.reloads, undefined, 'a subPath copy never follows the ConfigMap');
    assert.equal(r.nowhere?.state, 'unknown');
    assert.match(r.nowhere?.reason ?? '', /no volume is mounted there/);
  });

  it('env valueFrom: read at container start, so converged only when started after the write; unknown without the write time', async () => {
    server.api.create('configmaps', 'team-b', { metadata: { name: 'roots' }, data: { 'ca.crt': BOTH } });
    const valueFrom = { env: [{ name: 'DAPR_TRUST_ANCHORS', valueFrom: { configMapKeyRef: { name: 'roots', key: 'ca.crt' } } }] };
    rawPod(server, 'team-b', 'early', valueFrom);
    rawPod(server, 'team-b', 'late', valueFrom);
    rawPod(server, 'team-b', 'bad-key', { env: [{ name: 'DAPR_TRUST_ANCHORS', valueFrom: { configMapKeyRef: { name: 'roots', key: 'nope' } } }] });
    startPod(server, 'team-b', 'early', new Date('2026-12-04T09:00:00Z'));
    startPod(server, 'team-b', 'late', new Date('2026-12-04T11:00:00Z'));
    const opts = { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-b'] };
    const known = byName((await readTrustConvergence(clients, { ...opts, anchorsWrittenAt: new Date('2026-12-04T10:00:00Z') })).pods);
    assert.equal(known.early?.state, 'not-converged');
    assert.equal(known.late?.state, 'converged');
    assert.match(known['bad-key']?.reason ?? '', /has no key nope/);
    const unknown = byName((await readTrustConvergence(clients, opts)).pods);
    assert.equal(unknown.late?.state, 'unknown');
    assert.match(unknown.late?.reason ?? '', /when the anchors were written is not known/);
  });

  it('a Dapr pod without daprd is unknown (naming the injector); finished pods and non-Dapr pods are left out', async () => {
    rawPod(server, 'team-a', 'not-injected', undefined);
    rawPod(server, 'team-a', 'no-env', {});
    rawPod(server, 'team-a', 'done', { env: [{ name: 'DAPR_TRUST_ANCHORS', value: OLD.ca }] });
    startPod(server, 'team-a', 'done', new Date(), 'Succeeded');
    server.api.create('pods', 'team-a', { metadata: { name: 'plain' }, spec: { containers: [{ name: 'x', image: 'x' }] } });
    rawPod(server, 'team-a', 'garbage', { env: [{ name: 'DAPR_TRUST_ANCHORS', value: 'not a pem' }] });
    const r = byName((await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-a'] })).pods);
    assert.equal(r['not-injected']?.state, 'unknown');
    assert.match(r['not-injected']?.reason ?? '', /no daprd container.*sidecar injector/);
    assert.equal(r['no-env']?.state, 'unknown');
    assert.match(r['no-env']?.reason ?? '', /sets neither DAPR_TRUST_ANCHORS nor DAPR_TRUST_ANCHORS_FILE/);
    assert.equal(r.garbage?.state, 'not-converged');
    assert.equal(r.done, undefined);
    assert.equal(r.plain, undefined);
  });

  it('the control plane: its mounted dapr-trust-bundle (ConfigMap; the sentry\'s Secret) decides, listed first', async () => {
    const read = () => readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-a'] });
    const before = await read();
    const cp = before.pods.filter((p) => p.role === 'control-plane');
    assert.deepEqual(cp.map((p) => p.appId).sort(), ['injector', 'operator', 'placement', 'scheduler', 'sentry']);
    assert.ok(before.pods.slice(0, 5).every((p) => p.role === 'control-plane'), 'control plane first');
    assert.ok(cp.every((p) => p.state === 'not-converged'));
    assert.match(cp.find((p) => p.appId === 'sentry')!.source, /^Secret dapr-system\/dapr-trust-bundle key ca\.crt/);
    assert.match(cp.find((p) => p.appId === 'operator')!.source, /^ConfigMap dapr-system\/dapr-trust-bundle key ca\.crt \(mounted file \/var\/run\/secrets\/dapr\.io\/tls\/ca\.crt\)/);
    assert.equal(cp.find((p) => p.appId === 'placement')?.owner?.kind, 'StatefulSet');
    setBundleConfigMap(server, BOTH);
    const after = await read();
    assert.ok(after.pods.filter((p) => p.role === 'control-plane').every((p) => p.state === 'converged'));
    assert.equal(after.pods.filter((p) => p.role === 'app').length, 2, 'team-a apps only');
    assert.ok(after.pods.filter((p) => p.role === 'app').every((p) => p.state === 'not-converged'), 'env copies do not follow the ConfigMap');
  });

  it('a pod rolled out after the bundle changed converges: the rollout simulation re-injects the anchors', async () => {
    setBundleConfigMap(server, BOTH);
    const restarted = await server.rollout.waitFor({ type: 'completed', namespace: 'team-b', name: 'app-1' });
    assert.ok(restarted);
    server.api.mutate('deployments', 'team-b', 'app-1', (d) => {
      ((d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations)['kubectl.kubernetes.io/restartedAt'] = '2026-12-04T10:01:00Z';
    });
    const generation = server.api.get('deployments', 'team-b', 'app-1').metadata.generation!;
    clock.advance(1000);
    await server.rollout.waitFor({ type: 'completed', namespace: 'team-b', name: 'app-1', generation });
    const r = await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-b'], appsOnly: true });
    assert.deepEqual(r.pods.map((p) => [p.owner?.name, p.state]), [['app-1', 'converged'], ['app-3', 'not-converged']]);
    assert.equal(sim.podsOf('team-b', 'app-1').length, 1, 'the old pod is gone');
    assert.equal(podNames(r.pending), r.pending.map((p) => `team-b/${p.name}`).join(', '));
  });

  it('API failures are WardenErrors naming what was read; a forbidden ConfigMap makes the pod unknown, not the check fail', async () => {
    server.faults.failNext(1, { status: 403, message: 'pods is forbidden', match: { verb: 'list', resource: 'pods' } });
    await assert.rejects(readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca }),
      (e: unknown) => isWardenError(e, 'ERR_KUBE_FORBIDDEN') && /list pods in all namespaces/.test(e.message));
    sim.stop();
    sim = simulateDaprPods(server, { anchors: 'file' });
    server.faults.failNext(1, { status: 403, message: 'configmaps is forbidden', match: { verb: 'get', resource: 'configmaps', namespace: 'team-a' } });
    const r = await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['team-a'], appsOnly: true });
    assert.ok(r.pods.every((p) => p.state === 'unknown' && /cannot read it: .*403/.test(p.reason)), JSON.stringify(r.pods.map((p) => p.reason)));
    await assert.rejects(readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: '' }), (e: unknown) => isWardenError(e, 'ERR_USAGE'));
  });

  it('lists pods in pages (limit/continue) and stays within one LIST per namespace page', async () => {
    seedDaprApps(server, { namespaces: ['big'], count: 0 });
    for (let i = 0; i < 520; i += 1) rawPod(server, 'big', `p-${i}`, { env: [{ name: 'DAPR_TRUST_ANCHORS', value: BOTH }] });
    const before = server.requests.count({ verb: 'list', resource: 'pods' });
    const r = await readTrustConvergence(clients, { controlPlaneNamespace: NS, requiredAnchors: NEW.ca, namespaces: ['big'], appsOnly: true });
    assert.equal(r.converged, 520);
    assert.equal(server.requests.count({ verb: 'list', resource: 'pods' }) - before, 2, 'two pages of 500');
  });
});
