/**
 * The rollout primitives: kubectl's completion rules (pure), and restartWorkload/waitForRollout
 * against the API test server — dropped watches, watches refused (poll instead), deletion,
 * abort, paused deployments, and agreement with the real `kubectl rollout status`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import { rolloutVerdict } from '../../src/kube/rollout-status.js';
import { restartedAtValue, restartWorkload, waitForRollout, type WorkloadRef } from '../../src/kube/rollouts.js';
import { makeClients, type KubeClients } from '../support/kube-api/client.js';
import { seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { HANG_MS, until } from '../support/wait.js';
import { waitUntil } from '../support/wait-until.js';

const NS = 'dapr-system';
const sentry: WorkloadRef = { kind: 'Deployment', namespace: NS, name: 'dapr-sentry' };

describe('rolloutVerdict: kubectl rollout status rules', () => {
  const deploy = (status: object, spec: object = { replicas: 2 }, generation = 3) => rolloutVerdict('Deployment', { metadata: { name: 'd', generation }, spec, status });
  it('Deployment: observed, updated, old replicas gone, available; ProgressDeadlineExceeded fails', () => {
    assert.deepEqual(deploy({ observedGeneration: 2 }), { done: false, failed: false, message: 'Waiting for deployment spec update to be observed...' });
    assert.equal(deploy({ observedGeneration: 3, updatedReplicas: 1, replicas: 3 }).message, 'Waiting for deployment "d" rollout to finish: 1 out of 2 new replicas have been updated...');
    assert.equal(deploy({ observedGeneration: 3, updatedReplicas: 2, replicas: 3 }).message, 'Waiting for deployment "d" rollout to finish: 1 old replicas are pending termination...');
    assert.equal(deploy({ observedGeneration: 3, updatedReplicas: 2, replicas: 2, availableReplicas: 1 }).message, 'Waiting for deployment "d" rollout to finish: 1 of 2 updated replicas are available...');
    assert.deepEqual(deploy({ observedGeneration: 4, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }), { done: true, failed: false, message: 'deployment "d" successfully rolled out' });
    const stuck = deploy({ observedGeneration: 3, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] });
    assert.deepEqual(stuck, { done: false, failed: true, message: 'deployment "d" exceeded its progress deadline' });
  });
  it('StatefulSet: observed (0 never is), ready, partitioned or revision-based completion; OnDelete fails', () => {
    const sts = (status: object, spec: object = { replicas: 3 }) => rolloutVerdict('StatefulSet', { metadata: { name: 's', generation: 1 }, spec, status });
    assert.equal(sts({ observedGeneration: 0 }).message, 'Waiting for statefulset spec update to be observed...');
    assert.equal(sts({ observedGeneration: 1, readyReplicas: 2 }).message, 'Waiting for 1 pods to be ready...');
    const partitioned = { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } };
    assert.equal(sts({ observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1 }, partitioned).message, 'Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...');
    assert.equal(sts({ observedGeneration: 1, readyReplicas: 3, updatedReplicas: 2 }, partitioned).done, true);
    assert.equal(sts({ observedGeneration: 1, readyReplicas: 3, updateRevision: 'b', currentRevision: 'a', updatedReplicas: 1 }).message, 'waiting for statefulset rolling update to complete 1 pods at revision b...');
    assert.deepEqual(sts({ observedGeneration: 1, readyReplicas: 3, updateRevision: 'b', currentRevision: 'b', currentReplicas: 3 }),
      { done: true, failed: false, message: 'statefulset rolling update complete 3 pods at revision b...' });
    assert.equal(sts({}, { replicas: 1, updateStrategy: { type: 'OnDelete' } }).failed, true);
  });
  it('DaemonSet: observed, updated on every node, available', () => {
    const ds = (status: object) => rolloutVerdict('DaemonSet', { metadata: { name: 'x', generation: 2 }, status });
    assert.equal(ds({ observedGeneration: 1 }).message, 'Waiting for daemon set spec update to be observed...');
    assert.equal(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 2 }).message, 'Waiting for daemon set "x" rollout to finish: 2 out of 3 new pods have been updated...');
    assert.equal(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 }).message, 'Waiting for daemon set "x" rollout to finish: 2 of 3 updated pods are available...');
    assert.equal(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }).done, true);
  });
});

describe('restartWorkload and waitForRollout against the API server', () => {
  let server: KubeApiServer;
  let clients: KubeClients;
  let cacheDir: string;
  before(async () => {
    server = await startKubeApiServer({ rolloutDelayMs: 150 });
    seedDaprControlPlane(server);
    seedDaprApps(server, { namespaces: ['apps'], count: 3, kinds: ['deployments', 'statefulsets', 'daemonsets'] });
    clients = makeClients(server.kubeconfigPath);
    cacheDir = await mkdtemp(join(tmpdir(), 'warden-kubectl-'));
  });
  after(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('restartedAt is kubectl\'s RFC 3339 to the second', () => {
    assert.equal(restartedAtValue(new Date('2026-03-04T05:06:07.891Z')), '2026-03-04T05:06:07Z');
  });

  it('restarts and waits each kind (one PATCH, one WATCH each), resolving with kubectl\'s line', async () => {
    for (const [kind, name, line] of [
      ['Deployment', 'app-0', 'deployment "app-0" successfully rolled out'],
      ['StatefulSet', 'app-1', 'partitioned roll out complete: 1 new pods have been updated...'],
      ['DaemonSet', 'app-2', 'daemon set "app-2" successfully rolled out'],
    ] as const) {
      const ref: WorkloadRef = { kind, namespace: 'apps', name };
      server.requests.clear();
      const patched = await restartWorkload(clients, ref, new Date('2026-01-01T00:00:00Z'));
      assert.equal(await waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: patched }), line);
      const completed = server.rollout.events.find((e) => e.type === 'completed' && e.name === name && e.generation === patched.metadata?.generation);
      assert.ok(completed, `${name} really completed its new generation`);
      assert.deepEqual(server.requests.entries.map((r) => r.verb), ['get', 'patch', 'watch'], `${kind}: read, patch, watch`);
    }
  });

  it('a second restart within the same second still rolls out (kubectl\'s value would not change)', async () => {
    const ref: WorkloadRef = { kind: 'Deployment', namespace: 'apps', name: 'app-0' };
    const at = new Date('2026-01-01T00:00:05.100Z');
    const first = await restartWorkload(clients, ref, at);
    await waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: first });
    const second = await restartWorkload(clients, ref, new Date(at.getTime() + 500));
    assert.equal(second.metadata?.generation, (first.metadata?.generation ?? 0) + 1, 'the template changed, so a new generation rolls out');
    const annotations = (second.spec as { template?: { metadata?: { annotations?: Record<string, string> } } }).template?.metadata?.annotations;
    assert.equal(annotations?.['kubectl.kubernetes.io/restartedAt'], '2026-01-01T00:00:05.600Z');
    await waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: second });
  });

  it('the real kubectl rollout status agrees the restart we made has finished', async () => {
    const patched = await restartWorkload(clients, sentry, new Date('2026-01-01T00:00:01Z'));
    await waitForRollout(clients, sentry, { timeoutMs: HANG_MS, from: patched });
    const out = await new Promise<string>((resolve, reject) => {
      execFile('kubectl', ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, 'rollout', 'status', '-n', NS, 'deploy/dapr-sentry', '--timeout=120s'], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
    });
    assert.equal(out.trim(), 'deployment "dapr-sentry" successfully rolled out');
  });

  it('survives the API server dropping the watch mid-rollout (resumes from its resourceVersion)', async () => {
    // Held until the watch is open and dropped, then let go: no race with the rollout's own timing.
    const behaviour = { resource: 'deployments', namespace: NS, name: 'dapr-operator' };
    server.rollout.configure(behaviour, { outcome: 'hang' });
    const ref: WorkloadRef = { kind: 'Deployment', namespace: NS, name: 'dapr-operator' };
    const patched = await restartWorkload(clients, ref, new Date('2026-01-01T00:00:02Z'));
    const waiting = waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: patched });
    const operatorWatches = () => server.requests.filter({ verb: 'watch', resource: 'deployments' }).filter((r) => r.query.fieldSelector === 'metadata.name=dapr-operator');
    await until(() => operatorWatches().some((r) => r.status === 200 && r.durationMs === undefined), 'the rollout watch to open');
    assert.ok(server.dropWatches() >= 1, 'a watch was open');
    server.rollout.configure(behaviour, { outcome: 'succeed' });
    assert.equal(await waiting, 'deployment "dapr-operator" successfully rolled out');
    assert.ok(operatorWatches().length >= 2, 're-watched');
  });

  it('polls when the API refuses watches (RBAC without watch), and still sees the end', async () => {
    const ref: WorkloadRef = { kind: 'StatefulSet', namespace: NS, name: 'dapr-placement-server' };
    const refused = server.faults.failNext(1, { status: 403, message: 'cannot watch', match: { verb: 'watch', resource: 'statefulsets' } });
    const patched = await restartWorkload(clients, ref, new Date('2026-01-01T00:00:03Z'));
    const statuses: string[] = [];
    const line = await waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: patched, pollMs: 50, onStatus: (m) => statuses.push(m) });
    assert.equal(refused.hits, 1);
    assert.match(line, /partitioned roll out complete/);
    assert.equal(statuses[0], 'Waiting for statefulset spec update to be observed...');
  });

  it('a deleted workload fails at once (not at the timeout); a missing one too', async () => {
    const ref: WorkloadRef = { kind: 'Deployment', namespace: NS, name: 'dapr-sidecar-injector' };
    server.rollout.configure({ resource: 'deployments', namespace: NS, name: ref.name }, { outcome: 'hang' });
    const patched = await restartWorkload(clients, ref, new Date('2026-01-01T00:00:04Z'));
    const watchesBefore = server.openWatches;
    const waiting = waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: patched });
    // Delete only once the wait is watching, so this is a deletion during the rollout.
    await waitUntil('the rollout watch', () => server.openWatches > watchesBefore);
    server.api.delete('deployments', NS, ref.name);
    await assert.rejects(waiting, (err: unknown) => isWardenError(err, 'ERR_ROLLOUT_FAILED') && /was deleted while rolling out/.test((err as Error).message));
    await assert.rejects(waitForRollout(clients, { kind: 'Deployment', namespace: NS, name: 'nope' }, { timeoutMs: HANG_MS }),
      (err: unknown) => isWardenError(err, 'ERR_ROLLOUT_FAILED') && /cannot read deployment\/nope in dapr-system \(not found: was it deleted\?\): HTTP 404/.test((err as Error).message));
    await assert.rejects(restartWorkload(clients, { kind: 'Deployment', namespace: NS, name: 'nope' }, new Date()), (err: unknown) => isWardenError(err, 'ERR_ROLLOUT_FAILED'));
  });

  it('an abort signal stops the wait with its reason and leaves no timers behind', async () => {
    const ref: WorkloadRef = { kind: 'StatefulSet', namespace: NS, name: 'dapr-scheduler-server' };
    server.rollout.configure({ resource: 'statefulsets', namespace: NS, name: ref.name }, { outcome: 'hang' });
    const patched = await restartWorkload(clients, ref, new Date('2026-01-01T00:00:05Z'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop now')), 100);
    await assert.rejects(waitForRollout(clients, ref, { timeoutMs: HANG_MS, from: patched, signal: controller.signal }), /stop now/);
  });

  it('refuses what kubectl refuses, before patching: a paused Deployment, an OnDelete StatefulSet', async () => {
    server.api.patch('deployments', 'apps', 'app-0', 'application/merge-patch+json', { spec: { paused: true } });
    server.api.patch('statefulsets', 'apps', 'app-1', 'application/merge-patch+json', { spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: null } } });
    server.requests.clear();
    await assert.rejects(restartWorkload(clients, { kind: 'Deployment', namespace: 'apps', name: 'app-0' }, new Date()),
      (err: unknown) => isWardenError(err, 'ERR_ROLLOUT_FAILED') && /can't restart paused deployment \(run 'kubectl rollout resume deployment\/app-0 -n apps' first\)/.test((err as Error).message));
    await assert.rejects(restartWorkload(clients, { kind: 'StatefulSet', namespace: 'apps', name: 'app-1' }, new Date()),
      (err: unknown) => isWardenError(err, 'ERR_ROLLOUT_FAILED') && /can only restart StatefulSet with RollingUpdate strategy \(it uses OnDelete/.test((err as Error).message));
    assert.equal(server.requests.count({ verb: 'patch' }), 0, 'nothing was patched');
  });
});
