/**
 * The trust gate on an injected clock (no real waiting): how often it polls and reports, the
 * deadline, proceeding once the pods are replaced, and the kubelet propagation wait after a
 * distribution write during the gate.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import type { RotationRecord } from '../../src/core/rotation-phases/record.js';
import { loadKubeClients, type KubeClients } from '../../src/kube/client.js';
import type { PhaseContext } from '../../src/rotation-engine/backend.js';
import { awaitTrustConvergence, type TrustGateOptions } from '../../src/rotation-engine/backends/kube-trust-gate.js';
import type { RotationEvent } from '../../src/rotation-engine/events.js';
import { ROOT_CA_CONFIGMAP, seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { ClockSleeper, makeBundle, T0 } from '../rotation/helpers.js';

const NS = 'dapr-system';
const MINUTE = 60_000;

async function setup(t: { after(fn: () => Promise<void>): void }, anchors: 'env' | 'file') {
  const clock = new FixedClock(T0);
  const oldTexts = makeBundle(clock).toTexts();
  const newTexts = makeBundle(clock).toTexts();
  const server: KubeApiServer = await startKubeApiServer();
  t.after(() => server.close());
  seedDaprControlPlane(server, { trustBundle: oldTexts, withPods: false });
  seedDaprApps(server, { namespaces: ['team-a'], count: 2 });
  const sim = simulateDaprPods(server, { anchors }); // the apps are injected with the old root only
  t.after(async () => sim.stop());
  // add-anchor's write: both roots in the Secret and the ConfigMap (the control plane mounts them).
  const both = oldTexts.ca + newTexts.ca;
  server.api.mutate('configmaps', NS, 'dapr-trust-bundle', (cm) => { cm.data = { 'ca.crt': both }; });
  server.api.mutate('secrets', NS, 'dapr-trust-bundle', (sec) => { (sec.data as Record<string, string>)['ca.crt'] = Buffer.from(both).toString('base64'); });
  const clients: KubeClients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
  const events: RotationEvent[] = [];
  const record = {
    material: { anchorsPem: newTexts.ca },
    settings: { propagationDelayMs: 90_000, timeoutMs: 10 * MINUTE, force: false },
  } as unknown as RotationRecord;
  const ctx: PhaseContext = { record, writtenAt: clock.now(), signal: new AbortController().signal, report: (e) => events.push(e) };
  return { clock, server, sim, clients, events, ctx, both };
}

function gateOptions(s: Awaited<ReturnType<typeof setup>>, sleeper: ClockSleeper, extra: Partial<TrustGateOptions> = {}): TrustGateOptions {
  return { clients: s.clients, namespace: NS, appNamespaces: undefined, policy: 'none', maxConcurrent: 5, clock: s.clock, sleeper, pollIntervalMs: MINUTE, ...extra };
}

describe('the trust gate on an injected clock', () => {
  test('polls every interval, reports the same pods once, and refuses at the deadline (by the injected clock)', async (t) => {
    const s = await setup(t, 'env');
    const sleeper = new ClockSleeper(s.clock);
    const deadline = s.clock.now().getTime() + 10 * MINUTE;
    await assert.rejects(awaitTrustConvergence('add-anchor', s.ctx, gateOptions(s, sleeper), deadline, {}),
      (e: unknown) => isWardenError(e, 'ERR_TRUST_NOT_CONVERGED') && /after 10m0s 2 running Dapr pod\(s\)/.test(e.message) && /restart policy: none/.test(e.message));
    assert.deepEqual(sleeper.calls, Array(10).fill(MINUTE), 'ten polls a minute apart, then the deadline');
    const reports = s.events.filter((e) => e.kind === 'trust-not-converged');
    assert.equal(reports.length, 1, 'the same set of pods is reported once');
    assert.equal(reports[0]?.kind === 'trust-not-converged' ? reports[0].pods.length : 0, 2);
  });

  test('proceeds once the pods are replaced (re-injected), reporting the change', async (t) => {
    const s = await setup(t, 'env');
    const sleeper = new ClockSleeper(s.clock, () => {
      if (sleeper.calls.length === 3) for (const name of ['app-0', 'app-1']) s.sim.replacePods('deployments', 'team-a', name);
    });
    const result = await awaitTrustConvergence('add-anchor', s.ctx, gateOptions(s, sleeper), s.clock.now().getTime() + 10 * MINUTE, {});
    assert.equal(result.checked, 7, '2 apps and 5 control-plane pods');
    assert.equal(sleeper.calls.length, 3);
    assert.deepEqual(s.events.map((e) => e.kind), ['trust-not-converged', 'trust-converged']);
  });

  test('a distribution write during the gate holds mounting pods back for the propagation delay', async (t) => {
    const s = await setup(t, 'file');
    const sleeper = new ClockSleeper(s.clock);
    const result = await awaitTrustConvergence('add-anchor', s.ctx, gateOptions(s, sleeper, { distributeAnchorsPem: s.both }), s.clock.now().getTime() + 10 * MINUTE, {});
    assert.equal((s.server.api.get('configmaps', 'team-a', ROOT_CA_CONFIGMAP).data as Record<string, string>)['ca.crt'], s.both);
    assert.deepEqual(s.events.map((e) => e.kind), ['trust-distributed', 'trust-converged'], 'no pod is named while only the kubelet sync is awaited');
    assert.equal(sleeper.calls.length, 2, 'the pods read the ConfigMap at once, but 90 s must pass (two 1-minute polls)');
    assert.equal(result.restarted.length, 0);
  });
});
