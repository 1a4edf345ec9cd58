/**
 * The Kubernetes rotation lock stamps its lease renewals and judges staleness with one clock, the
 * injected one. It used to renew with `new Date()` while `lock()` and staleness used the caller's
 * clock, so under a clock other than the wall clock a held lock looked stale (or a dead one fresh).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { loadKubeClients } from '../../src/kube/client.js';
import { KubeJournalStore } from '../../src/rotation-engine/kube-journal.js';
import { waitUntil } from '../support/wait-until.js';
import { cluster } from './support.js';

const LOCK = 'dapr-trust-bundle-rotation-lock';
const RENEWED = 'warden.dapr.io/lock-renewed-at';

describe('rotate -k lock: one clock for renewals and staleness', () => {
  test('a renewal is stamped with the injected clock, not the wall clock', async (t) => {
    const c = await cluster(t);
    const clients = await loadKubeClients({ kubeconfig: c.server.kubeconfigPath });
    const clock = new FixedClock(Date.parse('2031-06-01T12:00:00Z'));
    // The shortest lease renews every second (its floor); the test waits for that write, not a time.
    const j = new KubeJournalStore({ clients, namespace: c.namespace, clock, leaseMs: 3000 });
    const held = await j.lock(clock.now());
    try {
      const firstRv = c.server.api.find('secrets', c.namespace, LOCK)?.metadata?.resourceVersion;
      clock.advance(60_000);
      const renewed = await waitUntil('a lease renewal', () => {
        const lock = c.server.api.find('secrets', c.namespace, LOCK);
        return lock?.metadata?.resourceVersion !== firstRv ? lock : undefined;
      }, 60_000);
      assert.equal(renewed?.metadata?.annotations?.[RENEWED], '2031-06-01T12:01:00.000Z');
    } finally {
      await held.release(); // before the cluster's own after-hook closes the API server
    }
  });

  test('lockHolder judges staleness by the injected clock', async (t) => {
    const c = await cluster(t);
    const clients = await loadKubeClients({ kubeconfig: c.server.kubeconfigPath });
    const clock = new FixedClock(Date.now());
    const other = new KubeJournalStore({ clients, namespace: c.namespace, owner: { pid: 1, hostname: 'elsewhere' }, leaseMs: 60_000, clock });
    await other.lock(clock.now()); // never released: a live lease of another host
    const reader = new KubeJournalStore({ clients, namespace: c.namespace, leaseMs: 60_000, clock });
    assert.match((await reader.lockHolder()) ?? '', /pid 1 on elsewhere/);
    clock.advance(10 * 60_000); // past the lease on the injected clock; the wall clock has hardly moved
    assert.equal(await reader.lockHolder(), undefined);
  });
});
