/**
 * `--distribute-trust` between rotations (src/sentry/auto-renew/trust-sync.ts) with several sentry
 * replicas: only the replica holding the auto-renew Lease writes `dapr-root-ca.crt`. A follower
 * (a real LeaseElector, the Lease held by another replica) runs the same loop and leaves a missing
 * or stale ConfigMap alone, pass after pass; once the holder lets the Lease go and it takes over, the
 * same loop puts them right. Every wait counts the loop's own passes; no fixed sleeps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { loadKubeClients } from '../../src/kube/client.js';
import { LeaseElector } from '../../src/kube/lease.js';
import type { Sleeper } from '../../src/rotation-engine/backend.js';
import { KubeJournalStore } from '../../src/rotation-engine/kube-journal.js';
import { syncTrustOnce, runTrustSync } from '../../src/sentry/auto-renew/trust-sync.js';
import { KubeTrustBundleStore } from '../../src/stores/kube-store.js';
import { ROOT_CA_CONFIGMAP, seedDaprApps, seedDaprControlPlane, startKubeApiServer } from '../support/kube-api/index.js';
import { NS, TD, waitFor } from './harness.js';

const LEASE = 'warden-sentry-auto-renew';

const realSleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  if (signal?.aborted) return resolve();
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

describe('--distribute-trust between rotations: only the Lease holder syncs dapr-root-ca.crt', () => {
  it('a follower replica leaves a missing and a stale dapr-root-ca.crt alone over several passes; after it takes the Lease over, the same loop syncs both', { timeout: 60_000 }, async (t) => {
    const server = await startKubeApiServer();
    t.after(() => server.close());
    const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: TD, namespace: NS });
    seedDaprControlPlane(server, { namespace: NS, trustDomain: TD, trustBundle: bundle.toTexts(), withPods: false });
    seedDaprApps(server, { namespaces: ['team-a', 'team-b'], count: 2 });
    server.api.create('configmaps', 'team-b', { metadata: { name: ROOT_CA_CONFIGMAP }, data: { 'ca.crt': 'stale' } });
    // Another replica holds the Lease, renewed just now for an hour.
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    server.api.create('leases', NS, { metadata: { name: LEASE }, spec: { holderIdentity: 'sentry-0_1', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now, leaseTransitions: 0 } });

    const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    const store = new KubeTrustBundleStore({ clients, namespace: NS, clock: systemClock, create: false });
    const journal = new KubeJournalStore({ clients, namespace: NS });
    let electorAttempts = 0;
    const elector = new LeaseElector({
      clients, namespace: NS, name: LEASE, identity: 'sentry-1_1', clock: systemClock, leaseDurationMs: 3_000, retryPeriodMs: 50,
      sleep: (ms, signal) => { electorAttempts++; return realSleep(ms, signal); },
    });
    elector.start();
    t.after(() => elector.stop());
    await waitFor('the follower to have tried the Lease', () => electorAttempts >= 2, 10_000);
    assert.equal(elector.isLeader(), false);

    const logger = pino({ level: 'silent' });
    const deps = { clients, namespace: NS, store, journal, leadership: elector, logger };
    const ca = (ns: string) => (server.api.find('configmaps', ns, ROOT_CA_CONFIGMAP)?.data as Record<string, string> | undefined)?.['ca.crt'];
    assert.equal(await syncTrustOnce(deps), 'follower');

    // The loop, as the sentry runs it: count its passes.
    let passes = 0;
    const sleeper: Sleeper = { sleep: (ms, signal) => { passes++; return realSleep(ms, signal); } };
    const stop = new AbortController();
    const loop = runTrustSync({ ...deps, sleeper, intervalMs: 20 }, stop.signal);
    t.after(async () => { stop.abort(); await loop; });
    await waitFor('three follower passes', () => passes >= 3, 10_000);
    assert.equal(ca('team-a'), undefined, 'the follower created nothing');
    assert.equal(ca('team-b'), 'stale', 'the follower updated nothing');

    // The holder steps down (releases the Lease as LeaseElector.stop does): this replica takes over.
    const lease = server.api.find('leases', NS, LEASE)!;
    server.api.update('leases', NS, LEASE, { ...lease, spec: { ...(lease.spec as object), renewTime: null, holderIdentity: '' } });
    await waitFor('this replica to lead', () => elector.isLeader(), 10_000);
    const expected = bundle.toTexts().ca;
    await waitFor('the leader to sync dapr-root-ca.crt', () => ca('team-a') === expected && ca('team-b') === expected, 10_000);
  });
});
