/**
 * The one watch loop over a named Kubernetes object (src/sentry/kube-watch.ts, what the sentry
 * reloads on), against the API test server: every change of the Secret (not the state at the
 * start, not other objects), across dropped streams and a resourceVersion compacted away (410),
 * and nothing after stop.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { watchNamedObject } from '../../src/sentry/kube-watch.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { makeFakeBundle } from '../stores/fixtures/fake-bundles.js';
import { bundleData, clientsFor, NAME, seedNamespace, until } from '../kube/store-fixtures.js';

const A = makeFakeBundle('A');
const silent = pino({ level: 'silent' });

describe('watchNamedObject: one Secret', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer({ watchHistory: 5 });
  });
  after(() => server.close());

  async function watch(ns: string, onChange: () => void): Promise<() => void> {
    const clients = await clientsFor(server);
    const readVersion = async (): Promise<string | undefined> =>
      (await clients.core.readNamespacedSecret({ namespace: ns, name: NAME })).metadata?.resourceVersion;
    return watchNamedObject({
      watch: clients.watch, path: `/api/v1/namespaces/${ns}/secrets`, name: NAME, readVersion, onChange,
      initialVersion: await readVersion(), logger: silent, what: `Secret ${ns}/${NAME}`, retryMs: 20, maxRetryMs: 200,
    });
  }

  const watches = (ns: string): number => server.requests.count({ verb: 'watch', resource: 'secrets', namespace: ns });
  const touch = (ns: string, value: string): void => {
    server.api.mutate('secrets', ns, NAME, (s) => {
      s.metadata.annotations = { touched: value };
    });
  };

  it('fires on each change of the Secret (not the initial state, not the ConfigMap), survives dropped streams, stops when told', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    let calls = 0;
    const stop = await watch(ns, () => void calls++);
    try {
      await until(() => watches(ns) >= 1);
      assert.equal(calls, 0, 'no event for the state at the start');
      touch(ns, '1');
      await until(() => calls === 1);
      server.api.mutate('configmaps', ns, NAME, (c) => {
        c.data = { 'ca.crt': 'x' };
      });
      assert.ok(server.dropWatches() >= 1);
      await until(() => watches(ns) >= 2);
      assert.equal(calls, 1, 'ConfigMap changes and a dropped stream are not reported');
      touch(ns, '2');
      await until(() => calls === 2);
    } finally {
      stop();
    }
    // A second watcher seeing the next change proves it reached every open stream.
    let witness = 0;
    const stopWitness = await watch(ns, () => void witness++);
    try {
      await until(() => watches(ns) >= 3);
      const before = watches(ns);
      touch(ns, '3');
      await until(() => witness === 1);
      assert.equal(calls, 2, 'no calls after stop');
      assert.equal(watches(ns), before, 'no new watch after stop');
    } finally {
      stopWitness();
    }
  });

  it('a change made while its resourceVersion was compacted away (410) is still reported, once', async () => {
    const ns = seedNamespace(server, { secret: bundleData(A), configMap: { 'ca.crt': A.ca } });
    let calls = 0;
    const stop = await watch(ns, () => void calls++);
    try {
      await until(() => watches(ns) >= 1);
      // Delay re-watches, end the stream, change the Secret, and push the history (5 events) past our version.
      const slow = server.faults.addLatency(300, { verb: 'watch', namespace: ns });
      server.dropWatches();
      touch(ns, 'during the gap');
      for (let i = 0; i < 8; i++) {
        server.api.mutate('configmaps', ns, NAME, (c) => {
          c.data = { n: String(i) };
        });
      }
      await until(() => calls >= 1, 60_000);
      slow.cancel();
      touch(ns, 'after the gap');
      await until(() => calls >= 2);
      assert.equal(calls, 2, 'each change once');
    } finally {
      stop();
    }
  });
});

