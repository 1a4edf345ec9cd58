/**
 * restartControlPlane against the Kubernetes API test server: the order (sentry rolled out
 * before wave 2 starts; wave 2 concurrent), workloads missing in a Dapr version, rollouts that
 * hang, fail or meet 500s — always asserted from the server's restart log, not from our events.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import { CONTROL_PLANE_WAVES, findControlPlane, restartControlPlane, type RestartEvent } from '../../src/kube/restarts.js';
import { makeClients, type KubeClients } from '../support/kube-api/client.js';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer, type RolloutEvent } from '../support/kube-api/index.js';
import { HANG_MS } from '../support/wait.js';

const NS = 'dapr-system';
const WAVE_2 = ['dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-sidecar-injector'];

function eventOf(events: RolloutEvent[], type: RolloutEvent['type'], name: string): RolloutEvent {
  const found = events.find((e) => e.type === type && e.name === name && e.generation > 1);
  assert.ok(found, `no ${type} event for ${name}: ${JSON.stringify(events.map((e) => `${e.type} ${e.name}`))}`);
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a rejection');
}

describe('restartControlPlane', () => {
  let server: KubeApiServer;
  let clients: KubeClients;
  beforeEach(async () => {
    server = await startKubeApiServer({ rolloutDelayMs: 120 });
    clients = makeClients(server.kubeconfigPath);
  });
  afterEach(() => server.close());

  it('restarts dapr-sentry first and waits for it; then the other four (scheduler included) concurrently', async () => {
    seedDaprControlPlane(server);
    // Wave 2 is held until all four have been restarted: a sequential restart would never get there.
    const held = WAVE_2.map((name) => ({ resource: name.includes('-server') ? 'statefulsets' : 'deployments', namespace: NS, name }));
    for (const ref of held) server.rollout.configure(ref, { outcome: 'hang' });
    const events: RestartEvent[] = [];
    const running = restartControlPlane(clients, NS, { timeoutMs: HANG_MS, onEvent: (e) => events.push(e) });
    await Promise.all(WAVE_2.map((name) => server.rollout.waitFor({ type: 'restarted', name, generation: 2 })));
    for (const ref of held) server.rollout.configure(ref, { outcome: 'succeed' });
    const result = await running;
    const log = server.rollout.events;
    const sentryDone = eventOf(log, 'completed', 'dapr-sentry');
    assert.equal(log.filter((e) => e.type === 'restarted').length, 5, 'each restarted exactly once');
    for (const name of WAVE_2) {
      assert.ok(eventOf(log, 'restarted', name).seq > sentryDone.seq, `${name} restarted only after the sentry rolled out`);
      assert.ok(eventOf(log, 'completed', name), `${name} rolled out`);
    }
    // Concurrent: every wave-2 restart happened before any wave-2 rollout completed.
    const lastRestart = Math.max(...WAVE_2.map((n) => eventOf(log, 'restarted', n).seq));
    const firstDone = Math.min(...WAVE_2.map((n) => eventOf(log, 'completed', n).seq));
    assert.ok(lastRestart < firstDone, 'wave 2 restarts overlap');
    assert.deepEqual(result.restarted.map((r) => r.name), CONTROL_PLANE_WAVES.flat());
    assert.deepEqual(result.skipped, []);
    // The restart is kubectl's: the pod-template annotation, an RFC 3339 time, sent as a strategic-merge patch.
    assert.match(eventOf(log, 'restarted', 'dapr-sentry').restartedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (const r of server.requests.filter({ verb: 'patch' })) assert.equal(r.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(events.filter((e) => e.type === 'wave').map((e) => (e as { names: string[] }).names), [['dapr-sentry'], WAVE_2]);
  });

  it('a Dapr without a scheduler: skipped with a note, the rest restarted', async () => {
    seedDaprControlPlane(server, { withScheduler: false, version: '1.13.6' });
    const events: RestartEvent[] = [];
    const result = await restartControlPlane(clients, NS, { timeoutMs: HANG_MS, onEvent: (e) => events.push(e) });
    assert.deepEqual(result.skipped, ['dapr-scheduler-server']);
    const skipped = events.find((e) => e.type === 'skipped');
    assert.deepEqual(skipped && { name: skipped.name, reason: skipped.reason }, {
      name: 'dapr-scheduler-server', reason: 'not installed in dapr-system (not part of this Dapr version)',
    });
    assert.deepEqual(server.rollout.restarts.map((e) => e.name).sort(), ['dapr-operator', 'dapr-placement-server', 'dapr-sentry', 'dapr-sidecar-injector']);
  });

  it('finds a control-plane workload whatever kind it is (placement as a Deployment in old charts)', async () => {
    seedDaprControlPlane(server, { withScheduler: false });
    server.api.delete('statefulsets', NS, 'dapr-placement-server');
    server.api.create('deployments', NS, {
      metadata: { name: 'dapr-placement-server' },
      spec: { selector: { matchLabels: { app: 'p' } }, template: { metadata: { labels: { app: 'p' } }, spec: { containers: [{ name: 'p', image: 'p' }] } } },
    });
    server.rollout.completeNow({ resource: 'deployments', namespace: NS, name: 'dapr-placement-server' });
    const waves = await findControlPlane(clients, NS);
    assert.deepEqual(waves[1]!.targets.map((t) => `${t.ref.kind}/${t.ref.name}`), ['Deployment/dapr-operator', 'Deployment/dapr-placement-server', 'Deployment/dapr-sidecar-injector']);
    await restartControlPlane(clients, NS, { timeoutMs: HANG_MS, waves });
    assert.ok(server.rollout.restarts.some((e) => e.resource === 'deployments' && e.name === 'dapr-placement-server'));
  });

  it('a rollout that never finishes: fails at the timeout naming it; the others in its wave are still waited for', async () => {
    seedDaprControlPlane(server);
    server.rollout.configure({ resource: 'statefulsets', namespace: NS, name: 'dapr-scheduler-server' }, { outcome: 'hang' });
    const started = Date.now();
    // Long enough for the others' 120 ms rollouts on a loaded machine: they must not time out too.
    const err = await rejection(restartControlPlane(clients, NS, { timeoutMs: 5000 }));
    const elapsed = Date.now() - started;
    assert.ok(isWardenError(err, 'ERR_RESTART_FAILED'), String(err));
    assert.match(err.message, /statefulset\/dapr-scheduler-server did not roll out \(timed out after 5s waiting for statefulset\/dapr-scheduler-server in dapr-system to roll out; last status: Waiting for statefulset spec update to be observed\.\.\.\)/);
    assert.doesNotMatch(err.message, /dapr-operator|dapr-placement|dapr-sidecar-injector/, 'only the failed one is named');
    // At its timeout, not later (the bound only rules out waiting for something else: a loaded machine is slow).
    assert.ok(elapsed >= 5000 && elapsed < 60_000, `gave up after ${elapsed} ms`);
    for (const name of ['dapr-operator', 'dapr-placement-server', 'dapr-sidecar-injector']) assert.ok(eventOf(server.rollout.events, 'completed', name));
  });

  it('a failing sentry rollout (ProgressDeadlineExceeded) fails at once, and wave 2 is never started', async () => {
    seedDaprControlPlane(server);
    server.rollout.configure({ resource: 'deployments', namespace: NS, name: 'dapr-sentry' }, { outcome: 'fail', delayMs: 100 });
    const started = Date.now();
    const err = await rejection(restartControlPlane(clients, NS, { timeoutMs: HANG_MS }));
    assert.ok(isWardenError(err, 'ERR_RESTART_FAILED'), String(err));
    assert.match(err.message, /deployment\/dapr-sentry did not roll out \(deployment\/dapr-sentry in dapr-system: deployment "dapr-sentry" exceeded its progress deadline\)/);
    assert.match(err.message, /dapr-operator, dapr-placement-server, dapr-scheduler-server, dapr-sidecar-injector were not restarted/);
    assert.ok(Date.now() - started < HANG_MS / 2, 'no waiting for the timeout');
    assert.deepEqual(server.rollout.restarts.map((e) => e.name), ['dapr-sentry']);
  });

  it('500s: a transient one is retried; a persistent one fails that workload, named, while the rest complete', async () => {
    seedDaprControlPlane(server);
    const transient = server.faults.failNext(2, { match: { verb: 'patch', name: 'dapr-operator' } });
    await restartControlPlane(clients, NS, { timeoutMs: HANG_MS });
    assert.equal(transient.hits, 2);
    assert.ok(eventOf(server.rollout.events, 'completed', 'dapr-operator'));

    server.rollout.events.length = 0;
    server.faults.failNext(100, { match: { verb: 'patch', name: 'dapr-sidecar-injector' } });
    // Also break the watch of the placement rollout mid-way: it must recover by itself.
    const brokenWatch = server.faults.failNext(1, { match: { verb: 'watch', resource: 'statefulsets' } });
    const err = await rejection(restartControlPlane(clients, NS, { timeoutMs: HANG_MS }));
    assert.equal(brokenWatch.hits, 1);
    assert.ok(isWardenError(err, 'ERR_RESTART_FAILED'));
    assert.match(err.message, /deployment\/dapr-sidecar-injector did not roll out \(cannot restart deployment\/dapr-sidecar-injector in dapr-system: HTTP 500: Internal error occurred: injected fault\)/);
    for (const name of ['dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server']) assert.ok(server.rollout.events.some((e) => e.type === 'completed' && e.name === name));
  });

  it('a missing right to read the control plane stops before anything is restarted', async () => {
    seedDaprControlPlane(server);
    server.faults.failNext(10, { status: 403, message: 'forbidden', match: { verb: 'get', name: 'dapr-operator' } });
    const err = await rejection(restartControlPlane(clients, NS, { timeoutMs: HANG_MS }));
    assert.ok(isWardenError(err, 'ERR_RESTART_FAILED'));
    assert.match(err.message, /cannot read deployment\/dapr-operator in dapr-system: HTTP 403.*nothing was restarted/);
    assert.deepEqual(server.rollout.restarts, []);
  });
});
