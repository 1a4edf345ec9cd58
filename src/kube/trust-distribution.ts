/**
 * Trust distribution (Dapr PR 10290's design, forward compatible): the trust anchors written to a
 * `dapr-root-ca.crt` ConfigMap (key `ca.crt`) in every namespace with Dapr apps, so sidecars that
 * mount it and read `DAPR_TRUST_ANCHORS_FILE` hot-reload a new root without a restart.
 *
 * Each namespace is read, then created or replaced with the read resourceVersion (optimistic
 * concurrency: a 409 means another writer — Dapr's operator, another replica — changed it
 * meanwhile; it is read again and the write retried, a bounded number of times). A ConfigMap that
 * already holds the anchors byte-identically is not written. Namespaces are found on every call,
 * so a namespace that gained its first Dapr app since the last call gets its ConfigMap.
 *
 * The kubelet copies a changed ConfigMap into pods' volumes within its sync period plus cache TTL
 * (≈60–90 s; `--propagation-delay`): callers count a mounting pod as converged only after that.
 */
import { WardenError } from '../core/errors.js';
import { httpStatusOf, kubeError, type KubeClients } from './client.js';
import { findDaprApps } from './restart-apps.js';
import type { RolloutClients } from './rollout-api.js';

export const ROOT_CA_CONFIGMAP = 'dapr-root-ca.crt';
export const ROOT_CA_KEY = 'ca.crt';
export const DISTRIBUTION_LABELS: Readonly<Record<string, string>> = Object.freeze({ 'app.kubernetes.io/managed-by': 'warden', 'dapr.io/trust-bundle': 'root-ca' });
const MAX_ATTEMPTS = 5;

export interface TrustDistributionOptions {
  /** The Dapr control-plane namespace (its control-plane workloads are not apps). */
  controlPlaneNamespace: string;
  /** Only these app namespaces (default: every namespace with a Dapr app). */
  namespaces?: readonly string[];
  /** The PEM to distribute (the bundle's ca.crt). */
  anchorsPem: string;
}

export interface TrustDistributionResult {
  /** Every namespace written to or checked, sorted. */
  namespaces: string[];
  created: string[];
  updated: string[];
  unchanged: string[];
  /** 409s answered by re-reading and writing again. */
  conflictsRetried: number;
}

/** Namespaces holding a Dapr-enabled Deployment, StatefulSet or DaemonSet (within `namespaces` when given). */
export async function daprAppNamespaces(clients: RolloutClients, opts: Pick<TrustDistributionOptions, 'controlPlaneNamespace' | 'namespaces'>): Promise<string[]> {
  const apps = await findDaprApps(clients, { controlPlaneNamespace: opts.controlPlaneNamespace, ...(opts.namespaces ? { namespaces: opts.namespaces } : {}) });
  return [...new Set(apps.map((a) => a.ref.namespace))].sort();
}

/** Writes `anchorsPem` to `dapr-root-ca.crt` in every namespace with Dapr apps; throws a WardenError naming the namespace on failure. */
export async function distributeTrustAnchors(clients: Pick<KubeClients, 'core'> & RolloutClients, opts: TrustDistributionOptions): Promise<TrustDistributionResult> {
  const namespaces = await daprAppNamespaces(clients, opts);
  const result: TrustDistributionResult = { namespaces, created: [], updated: [], unchanged: [], conflictsRetried: 0 };
  await Promise.all(namespaces.map(async (namespace) => {
    const outcome = await syncOne(clients, namespace, opts.anchorsPem, () => (result.conflictsRetried += 1));
    result[outcome].push(namespace);
  }));
  for (const list of [result.created, result.updated, result.unchanged]) list.sort();
  return result;
}

async function syncOne(clients: Pick<KubeClients, 'core'>, namespace: string, pem: string, onConflict: () => void): Promise<'created' | 'updated' | 'unchanged'> {
  const name = ROOT_CA_CONFIGMAP;
  for (let attempt = 1; ; attempt += 1) {
    let current;
    try {
      current = await clients.core.readNamespacedConfigMap({ namespace, name });
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw kubeError(err, `read ConfigMap ${namespace}/${name}`);
      current = undefined;
    }
    if (current?.data?.[ROOT_CA_KEY] === pem) return 'unchanged';
    try {
      if (current === undefined) {
        await clients.core.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace, labels: { ...DISTRIBUTION_LABELS } }, data: { [ROOT_CA_KEY]: pem } } });
        return 'created';
      }
      await clients.core.replaceNamespacedConfigMap({
        namespace, name,
        body: { ...current, metadata: { ...current.metadata, labels: { ...current.metadata?.labels, ...DISTRIBUTION_LABELS } }, data: { ...current.data, [ROOT_CA_KEY]: pem } },
      });
      return 'updated';
    } catch (err) {
      // 409: changed (or created) by someone else since the read: read again and redo the change.
      if (httpStatusOf(err) !== 409) throw kubeError(err, `${current === undefined ? 'create' : 'update'} ConfigMap ${namespace}/${name}`);
      onConflict();
      if (attempt >= MAX_ATTEMPTS) {
        throw new WardenError('ERR_STORE_CONFLICT', `cannot update ConfigMap ${namespace}/${name}: it changed under ${MAX_ATTEMPTS} attempts in a row (another writer keeps changing it; is something else distributing other anchors?); stop the other writer and retry`, { cause: err });
      }
    }
  }
}
