/**
 * The Kubernetes renew site: the `dapr-trust-bundle` Secret + ConfigMap, the journal Secret
 * `dapr-trust-bundle-rotation` and its lock Secret (the ones `warden mtls rotate -k` uses), the
 * engine's Kubernetes backend (ordered restarts), Events on the trust-bundle Secret, and a
 * `coordination.k8s.io/v1` Lease (`warden-sentry-auto-renew` in the sentry's namespace) so that of
 * several replicas only one acts. A new leader continues the journal where a dead one stopped.
 */
import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { RotationSettings } from '../../core/rotation-phases/record.js';
import { loadKubeClients, type KubeClients } from '../../kube/client.js';
import { LeaseElector } from '../../kube/lease.js';
import type { Sleeper } from '../../rotation-engine/backend.js';
import { KUBE_PROPAGATION_DELAY_MS, KubeRotationBackend } from '../../rotation-engine/backends/kube.js';
import { KubeJournalStore } from '../../rotation-engine/kube-journal.js';
import { KubeTrustBundleStore } from '../../stores/kube-store.js';
import type { SentryOptions } from '../options.js';
import { STARTED_BY_SENTRY, startedBySettings } from '../../core/rotation-phases/started-by.js';
import type { BundleEvent, RenewSite } from './site.js';
import { runTrustSync } from './trust-sync.js';

export interface KubeRenewSiteDeps {
  options: SentryOptions;
  clock: Clock;
  sleeper: Sleeper;
  logger: Logger;
}

export async function openKubeRenewSite({ options, clock, sleeper, logger }: KubeRenewSiteDeps): Promise<RenewSite> {
  const clients: KubeClients = options.kubeClients
    ?? await loadKubeClients({ ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}), ...(options.kubeContext ? { context: options.kubeContext } : {}), ...(options.kubeEnv ? { env: options.kubeEnv } : {}) });
  const namespace = options.namespace;
  const store = new KubeTrustBundleStore({
    clients, namespace, clock, create: false,
    keys: { ca: basename(options.issuerCaFilename), issuerCert: basename(options.issuerCertificateFilename), issuerKey: basename(options.issuerKeyFilename) },
  });
  const identity = options.autoRenewIdentity ?? `${hostname()}_${process.pid}`;
  // The journal's lock names this process (pid + host): a replica that died on this host is seen
  // dead at once, one on another host once the lock's lease (2 min) runs out.
  const journal = new KubeJournalStore({ clients, namespace, clock });
  const elector = new LeaseElector({
    clients, namespace, name: options.autoRenewLeaseName, identity, clock,
    leaseDurationMs: options.autoRenewLeaseDurationMs,
    sleep: (ms, signal) => sleeper.sleep(ms, signal),
    onChange: (what, detail) => {
      if (what === 'error') logger.warn({ lease: options.autoRenewLeaseName, err: detail }, 'Auto-renew: Lease request failed');
      else logger.info({ lease: options.autoRenewLeaseName, identity }, `Auto-renew: Lease ${what}: ${detail}`);
    },
  });
  elector.start();
  const stopSync = new AbortController();
  const sync = options.distributeTrust
    ? runTrustSync({ clients, namespace, store, journal, leadership: elector, sleeper, logger, intervalMs: options.distributeTrustIntervalMs }, stopSync.signal)
    : Promise.resolve();
  return {
    mode: 'kubernetes',
    store,
    journal,
    leadership: elector,
    newSettings: (): RotationSettings => ({
      propagationDelayMs: options.autoRenewPropagationDelayMs ?? KUBE_PROPAGATION_DELAY_MS,
      timeoutMs: options.autoRenewTimeoutMs,
      force: false,
      mode: 'kubernetes',
      namespace,
      // What `rotate -k --restarts/--distribute-trust` records: a resume (by a person or another replica) keeps them.
      restarts: options.autoRenewRestarts,
      ...(options.distributeTrust ? { distributeTrust: true } : {}),
      ...startedBySettings(STARTED_BY_SENTRY, identity),
    }),
    createBackend: () => new KubeRotationBackend({ clients, namespace, store, journal, clock, sleeper }),
    recordEvent: (event) => recordSecretEvent(clients, namespace, store.secretRef, event, clock, identity),
    close: async () => {
      stopSync.abort();
      await sync;
    },
  };
}

/** A core/v1 Event about the trust-bundle Secret (what `kubectl describe secret dapr-trust-bundle` shows). */
async function recordSecretEvent(clients: KubeClients, namespace: string, secretRef: string, event: BundleEvent, clock: Clock, identity: string): Promise<void> {
  const secretName = secretRef.split('/').at(-1) ?? 'dapr-trust-bundle';
  const now = clock.now().toISOString();
  await clients.core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { generateName: `${secretName}.`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Secret', name: secretName, namespace },
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: { component: 'warden-sentry', host: identity },
      reportingComponent: 'warden-sentry',
      reportingInstance: identity,
      firstTimestamp: now as unknown as Date,
      lastTimestamp: now as unknown as Date,
      count: 1,
    },
  });
}
