/**
 * `warden sentry --auto-renew --distribute-trust` between rotations: the replica holding the Lease
 * keeps `dapr-root-ca.crt` in every namespace with Dapr apps equal to the bundle's ca.crt, every
 * interval, so a namespace that gains its first Dapr app (or a ConfigMap someone edited or
 * deleted) is put right without a rotation. During a rotation it stands aside: the engine's
 * Kubernetes backend distributes each phase's anchors itself (the same `--distribute-trust` in the
 * rotation's settings), and writing the store's ca.crt then would race it.
 */
import type { Logger } from 'pino';
import type { KubeClients } from '../../kube/client.js';
import { distributeTrustAnchors } from '../../kube/trust-distribution.js';
import type { Sleeper } from '../../rotation-engine/backend.js';
import type { JournalStore } from '../../rotation-engine/journal.js';
import type { KubeTrustBundleStore } from '../../stores/kube-store.js';
import type { Leadership } from './site.js';

export interface TrustSyncDeps {
  clients: KubeClients;
  namespace: string;
  store: KubeTrustBundleStore;
  journal: JournalStore;
  leadership: Leadership;
  sleeper: Sleeper;
  logger: Logger;
  intervalMs: number;
}

export type TrustSyncOutcome = 'synced' | 'unchanged' | 'rotating' | 'follower' | 'no-bundle' | 'failed';

/** One pass: what it did (tests and the loop's log). */
export async function syncTrustOnce(deps: Omit<TrustSyncDeps, 'sleeper' | 'intervalMs'>): Promise<TrustSyncOutcome> {
  if (!deps.leadership.isLeader()) return 'follower';
  const record = await deps.journal.read();
  if (record?.status === 'in-progress') return 'rotating';
  const read = await deps.store.read();
  if (read.state !== 'complete') return 'no-bundle';
  const d = await distributeTrustAnchors(deps.clients, { controlPlaneNamespace: deps.namespace, anchorsPem: read.texts.ca });
  if (d.created.length + d.updated.length === 0) return 'unchanged';
  deps.logger.info({ scope: 'dapr.sentry.autorenew', created: d.created, updated: d.updated, namespaces: d.namespaces.length },
    `Trust distribution: dapr-root-ca.crt ${[...d.created.map((n) => `${n} (created)`), ...d.updated.map((n) => `${n} (updated)`)].join(', ')} (${d.namespaces.length} namespace(s) with Dapr apps)`);
  return 'synced';
}

/** Runs `syncTrustOnce` every interval until `signal` aborts; failures are logged and tried again next time. */
export async function runTrustSync(deps: TrustSyncDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await syncTrustOnce(deps);
    } catch (err) {
      if (signal.aborted) break;
      deps.logger.warn({ err: (err as Error).message }, `Trust distribution: could not sync dapr-root-ca.crt; trying again in ${Math.round(deps.intervalMs / 1000)}s`);
    }
    await deps.sleeper.sleep(deps.intervalMs, signal);
  }
}
