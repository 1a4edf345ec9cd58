/**
 * A cluster whose CA is due for automatic renewal now (a 30-day CA born 21 days ago), with two Dapr
 * apps in team-a and simulated pods reading their anchors from the env (`DAPR_TRUST_ANCHORS`) or
 * the mounted `dapr-root-ca.crt` ConfigMap. Shared by the auto-renew tests.
 */
import { generateTrustBundle } from '../../src/core/bundle.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import { seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { NS, TD } from './harness.js';

export async function dueCluster(t: { after(fn: () => unknown): void }, anchors: 'env' | 'file' = 'env'): Promise<{ server: KubeApiServer; old: ReturnType<typeof generateTrustBundle>['bundle'] }> {
  const server = await startKubeApiServer({ rolloutDelayMs: 30 });
  t.after(() => server.close());
  const born = { now: () => new Date(Date.now() - 21 * DAY_MS) };
  const old = generateTrustBundle({ clock: born, trustDomain: TD, namespace: NS, validityMs: 30 * DAY_MS, clockSkewMs: 60_000 }).bundle;
  seedDaprControlPlane(server, { namespace: NS, trustDomain: TD, trustBundle: old.toTexts(), workloadCertTTL: '4s', allowedClockSkew: '1s', withPods: false });
  seedDaprApps(server, { namespaces: ['team-a'], count: 2 });
  const sim = simulateDaprPods(server, { anchors });
  t.after(() => sim.stop());
  return { server, old };
}
