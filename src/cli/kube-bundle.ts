/**
 * The cluster side of the bundle commands with `-k`: clients from the kubeconfig, Dapr's
 * namespace, and the bundle read through `KubeTrustBundleStore`. Loaded only by `-k` paths
 * (bundle-source.ts imports it dynamically), so self-hosted commands never load the Kubernetes client.
 * Clients and the namespace are made once per process: the expiry banner after a command reuses them.
 */
import { basename } from 'node:path';
import { errorFinding } from '../core/checks/types.js';
import { WardenError } from '../core/errors.js';
import { loadKubeClients, type KubeClients } from '../kube/client.js';
import { findDaprNamespace } from '../kube/discovery.js';
import { KubeTrustBundleStore } from '../stores/kube-store.js';
import type { BundleSource } from './bundle-source-shape.js';
import type { Io } from './io.js';
import type { KubeCliOptions } from './kube-options.js';
import type { CredentialOptions } from './options.js';

export interface KubeSession {
  clients: KubeClients;
  namespace: string;
  store: KubeTrustBundleStore;
}

export interface KubeSessionOptions extends KubeCliOptions, Partial<CredentialOptions> {
  /** Store options for writers (`renew-certificate -k`). */
  create?: boolean;
  backupDir?: string;
}

const clientsByConfig = new Map<string, Promise<KubeClients>>();
const namespaces = new Map<string, Promise<string>>();

/** The kubeconfig's clients, made once per (kubeconfig, context). */
export function openKubeClients(opts: KubeCliOptions, io: Pick<Io, 'env'>): Promise<KubeClients> {
  const key = JSON.stringify([opts.kubeconfig ?? null, opts.context ?? null]);
  let clients = clientsByConfig.get(key);
  if (!clients) {
    clients = loadKubeClients({
      ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context !== undefined ? { context: opts.context } : {}),
      env: io.env,
    });
    clientsByConfig.set(key, clients);
  }
  return clients;
}

/** Clients, Dapr's namespace (`--namespace` or discovered) and the store over its trust bundle. */
export async function openKubeSession(opts: KubeSessionOptions, io: Pick<Io, 'env' | 'clock'>): Promise<KubeSession> {
  const clients = await openKubeClients(opts, io);
  const key = JSON.stringify([opts.kubeconfig ?? null, opts.context ?? null, opts.namespace ?? null]);
  let namespace = namespaces.get(key);
  if (!namespace) {
    namespace = findDaprNamespace(clients, opts.namespace);
    namespaces.set(key, namespace);
  }
  const ns = await namespace;
  const store = new KubeTrustBundleStore({
    clients,
    namespace: ns,
    clock: io.clock,
    // Dapr's Sentry names the Secret keys after the base names of its file flags (spec 3.2).
    keys: {
      ...(opts.issuerCaFilename ? { ca: basename(opts.issuerCaFilename) } : {}),
      ...(opts.issuerCertificateFilename ? { issuerCert: basename(opts.issuerCertificateFilename) } : {}),
      ...(opts.issuerKeyFilename ? { issuerKey: basename(opts.issuerKeyFilename) } : {}),
    },
    ...(opts.create !== undefined ? { create: opts.create } : {}),
    ...(opts.backupDir !== undefined ? { backupDir: opts.backupDir } : {}),
  });
  return { clients, namespace: ns, store };
}

/**
 * The cluster's bundle for `expiry`, `verify` and `export` with `-k`. A Secret without the keys is
 * ERR_BUNDLE_NOT_FOUND, with some of them ERR_BUNDLE_PARTIAL; a ConfigMap `ca.crt` that differs
 * from the Secret's becomes an ERR_TRUST_ANCHORS_MISMATCH finding.
 */
export async function readKubeBundleSource(opts: KubeSessionOptions & CredentialOptions, io: Io): Promise<BundleSource> {
  if (opts.issuerCredentials !== undefined) {
    throw new WardenError('ERR_USAGE', '--issuer-credentials names a directory, -k reads the cluster\'s bundle: use one or the other');
  }
  const { store, namespace } = await openKubeSession(opts, io);
  const result = await store.read();
  if (result.state === 'absent') {
    throw new WardenError(
      'ERR_BUNDLE_NOT_FOUND',
      `${store.secretRef} holds no trust bundle (${store.keys.ca}, ${store.keys.issuerCert} and ${store.keys.issuerKey} are missing): ` +
        'Dapr\'s Sentry fills it on its first start (Dapr: "root certificate not loaded yet, please try again in few minutes"); ' +
        "or create one with 'warden mtls renew-certificate -k'",
    );
  }
  if (result.state === 'partial') {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `incomplete trust bundle in ${store.secretRef}: ${result.missing.join(', ')} missing; ` +
        `restore the missing key from a backup Secret (${store.secretName}-backup-*), or replace the bundle with 'warden mtls renew-certificate -k --force'`,
    );
  }
  const label = (key: string) => `${store.secretRef} key ${key}`;
  return {
    texts: result.texts,
    labels: { ca: label(store.keys.ca), issuerCert: label(store.keys.issuerCert), issuerKey: label(store.keys.issuerKey) },
    where: store.description,
    json: { namespace, secret: store.secretName, configMap: store.configMapName },
    storageFindings: 'anchorsMismatch' in result
      ? [errorFinding('ERR_TRUST_ANCHORS_MISMATCH', store.configMapRef, result.anchorsMismatch.message)]
      : [],
  };
}
