/**
 * findDaprApps and restartDaprApps against the API test server: which workloads are Dapr apps,
 * namespace filtering, the concurrency bound (asserted from the server's restart log), progress
 * events, and failures reported rather than swallowed.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { findDaprApps, isDaprEnabled, restartDaprApps, type AppRestartProgress } from '../../src/kube/restarts.js';
import { runBounded } from '../../src/kube/restart-pool.js';
import { makeClients, type KubeClients } from '../support/kube-api/client.js';
import { seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer, type RolloutEvent } from '../support/kube-api/index.js';
import { HANG_MS, until } from '../support/wait.js';

const NS = 'dapr-system';
const key = (e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`;

/** The most workloads the server saw rolling out at once: restarted and not yet completed/failed. */
function maxInFlight(events: RolloutEvent[]): number {
  const open = new Set<string>();
  let max = 0;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (e.type === 'restarted') open.add(key(e));
    if (e.type === 'completed' || e.type === 'failed') open.delete(key(e));
    max = Math.max(max, open.size);
  }
  return max;
}

describe('Dapr apps', () => {
  let server: KubeApiServer;
  let clients: KubeClients;
  beforeEach(async () => {
    server = await startKubeApiServer({ rolloutDelayMs: 80 });
    seedDaprControlPlane(server);
    clients = makeClients(server.kubeconfigPath);
  });
  afterEach(() => server.close());

  it('isDaprEnabled reads dapr.io/enabled as Dapr\'s injector does (kit IsTruthy)', () => {
    for (const v of ['true', 'TRUE', ' yes', 'y', 't', 'on', '1']) assert.equal(isDaprEnabled({ 'dapr.io/enabled': v }), true, v);
    for (const v of ['false', '0', '', 'enabled', 'truthy']) assert.equal(isDaprEnabled({ 'dapr.io/enabled': v }), false, v);
    assert.equal(isDaprEnabled(undefined), false);
  });

  it('finds Dapr-enabled Deployments, StatefulSets and DaemonSets in every namespace, and nothing else', async () => {
    const seeded = seedDaprApps(server, { namespaces: ['team-a', 'team-b', 'team-c'], count: 9, nonDaprCount: 4, kinds: ['deployments', 'statefulsets', 'daemonsets'] });
    // A workload in the control-plane namespace that is an app, and a control-plane-annotated one elsewhere.
    const podTemplate = (annotations: Record<string, string>) => ({
      selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' }, annotations }, spec: { containers: [{ name: 'x', image: 'x' }] } },
    });
    server.api.create('deployments', NS, { metadata: { name: 'dashboard-app' }, spec: podTemplate({ 'dapr.io/enabled': 'yes' }) });
    server.api.create('deployments', 'team-a', { metadata: { name: 'odd-cp' }, spec: podTemplate({ 'dapr.io/enabled': 'true', 'dapr.io/control-plane': 'operator' }) });
    const apps = await findDaprApps(clients, { controlPlaneNamespace: NS });
    const expected = seeded.filter((a) => a.daprEnabled).map((a) => `${a.namespace}/${a.resource}/${a.name}`);
    const plural = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' } as const;
    assert.deepEqual(apps.map((a) => `${a.ref.namespace}/${plural[a.ref.kind]}/${a.ref.name}`).sort(), [...expected, `${NS}/deployments/dashboard-app`].sort());
    assert.ok(apps.every((a) => !a.ref.name.startsWith('dapr-')), 'control plane excluded');
    assert.deepEqual(apps.filter((a) => a.ref.namespace === 'team-a').map((a) => a.ref.name), ['app-0', 'app-3', 'app-6'], 'sorted by namespace, kind, name');
    assert.equal(apps.find((a) => a.ref.name === 'app-0')?.appId, 'app-0');
    assert.equal(server.requests.count({ verb: 'list' }), 3, 'one list per kind across all namespaces');

    server.requests.clear();
    const some = await findDaprApps(clients, { namespaces: ['team-b', 'team-c', 'team-b'], controlPlaneNamespace: NS });
    assert.deepEqual([...new Set(some.map((a) => a.ref.namespace))], ['team-b', 'team-c']);
    assert.equal(some.length, 6);
    assert.equal(server.requests.count({ verb: 'list' }), 6, 'one list per kind per namespace');
    assert.deepEqual(await findDaprApps(clients, { namespaces: ['no-such-namespace'] }), []);
  });

  it('12 apps in 3 namespaces with max 5: never more than 5 rolling out at once, all restarted, progress reported', async () => {
    seedDaprApps(server, { namespaces: ['a', 'b', 'c'], count: 12 });
    const apps = await findDaprApps(clients, { controlPlaneNamespace: NS });
    assert.equal(apps.length, 12);
    // The first app is quick, the next four held until the 6th has started: a pool refills at once,
    // a batcher would wait for all five (and never start the 6th: the wait below would fail).
    const held = apps.slice(1, 5).map((a) => ({ resource: 'deployments', namespace: a.ref.namespace, name: a.ref.name }));
    for (const ref of held) server.rollout.configure(ref, { outcome: 'hang' });
    const progress: AppRestartProgress[] = [];
    const running = restartDaprApps(clients, apps, { maxConcurrent: 5, timeoutMs: HANG_MS, onProgress: (p) => progress.push(p) });
    await until(() => server.rollout.restarts.filter((e) => e.generation > 1).length >= 6, 'the 6th app to be restarted while four are held');
    for (const ref of held) server.rollout.configure(ref, { outcome: 'succeed' });
    const summary = await running;
    assert.equal(summary.restarted.length, 12);
    assert.deepEqual(summary.failed, []);
    const log = server.rollout.events.filter((e) => e.generation > 1);
    assert.equal(log.filter((e) => e.type === 'restarted').length, 12, 'each app restarted once');
    assert.equal(maxInFlight(log), 5, 'the bound was reached and never exceeded');
    assert.equal(Math.max(...progress.map((p) => p.inFlight.length)), 5);
    const last = progress.at(-1)!;
    assert.deepEqual({ done: last.done, total: last.total, failed: last.failed, inFlight: last.inFlight.length }, { done: 12, total: 12, failed: 0, inFlight: 0 });
    // No batching: the 6th app starts as soon as the first finishes, not when all five have.
    const sixth = log.filter((e) => e.type === 'restarted')[5]!;
    const completedBefore = log.filter((e) => e.type === 'completed' && e.seq < sixth.seq).length;
    assert.equal(completedBefore, 1, `the 6th started after ${completedBefore} completions`);
  });

  it('failures are reported, not swallowed: the others still restart; a bound of 1 is sequential', async () => {
    seedDaprApps(server, { namespaces: ['a', 'b'], count: 6 });
    server.rollout.configure({ resource: 'deployments', namespace: 'b', name: 'app-3' }, { outcome: 'fail' });
    server.rollout.configure({ resource: 'deployments', namespace: 'a', name: 'app-2' }, { outcome: 'hang' });
    server.faults.failNext(100, { match: { verb: 'patch', namespace: 'a', name: 'app-4' } });
    const apps = await findDaprApps(clients);
    // app-2 hangs until this timeout; long enough that the others' 60 ms rollouts never reach it on a loaded machine.
    const summary = await restartDaprApps(clients, apps, { maxConcurrent: 1, timeoutMs: 5000 });
    assert.deepEqual(summary.failed.map((f) => [f.ref.name, f.error.code]).sort(), [['app-2', 'ERR_ROLLOUT_TIMEOUT'], ['app-3', 'ERR_ROLLOUT_FAILED'], ['app-4', 'ERR_ROLLOUT_FAILED']]);
    assert.match(summary.failed.find((f) => f.ref.name === 'app-4')!.error.message, /HTTP 500: Internal error occurred: injected fault/);
    assert.deepEqual(summary.restarted.map((r) => r.name).sort(), ['app-0', 'app-1', 'app-5']);
    assert.equal(maxInFlight(server.rollout.events.filter((e) => e.generation > 1 && e.name !== 'app-2')), 1);
  });

  it('runBounded: order, bound, and refusal of a nonsensical bound', async () => {
    const seen: number[] = [];
    let active = 0;
    let peak = 0;
    await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      active += 1;
      peak = Math.max(peak, active);
      seen.push(n);
      await new Promise((r) => setTimeout(r, 10 * (8 - n)));
      active -= 1;
    });
    assert.equal(peak, 3);
    assert.deepEqual(seen.slice(0, 3), [1, 2, 3]);
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6, 7]);
    await assert.rejects(runBounded([1], 0, async () => undefined), RangeError);
  });
});
