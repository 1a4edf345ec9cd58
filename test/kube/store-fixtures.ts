/** Shared bits for the Kubernetes store tests: a namespace with the Helm-rendered objects, stores over it, object access. */
import assert from 'node:assert/strict';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { isWardenError } from '../../src/core/errors.js';
import { loadKubeClients, type KubeClients } from '../../src/kube/client.js';
import { KubeTrustBundleStore, type KubeStoreOptions } from '../../src/stores/kube-store.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { HANG_MS, until as waitUntil } from '../support/wait.js';

export const NAME = 'dapr-trust-bundle';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

let counter = 0;

/** A fresh namespace with the Secret/ConfigMap (data as given; none: the empty objects Helm renders). */
export function seedNamespace(
  server: KubeApiServer,
  opts: { secret?: Record<string, string> | null; configMap?: Record<string, string> | null } = {},
): string {
  const namespace = `store-${process.pid}-${++counter}`;
  server.api.create('namespaces', undefined, { metadata: { name: namespace } });
  if (opts.secret !== null) {
    const data = opts.secret && Object.fromEntries(Object.entries(opts.secret).map(([k, v]) => [k, b64(v)]));
    server.api.create('secrets', namespace, { metadata: { name: NAME, labels: { app: 'dapr-sentry' } }, type: 'Opaque', ...(data ? { data } : {}) });
  }
  if (opts.configMap !== null) {
    server.api.create('configmaps', namespace, { metadata: { name: NAME, labels: { app: 'dapr-sentry' } }, ...(opts.configMap ? { data: opts.configMap } : {}) });
  }
  return namespace;
}

export function bundleData(texts: BundleTexts): Record<string, string> {
  return { 'ca.crt': texts.ca, 'issuer.crt': texts.issuerCert, 'issuer.key': texts.issuerKey };
}

/** The Secret's data, decoded (undefined when the Secret is missing). */
export function secretData(server: KubeApiServer, namespace: string, name = NAME): Record<string, string> | undefined {
  const secret = server.api.find('secrets', namespace, name);
  if (!secret) return undefined;
  return Object.fromEntries(Object.entries((secret.data ?? {}) as Record<string, string>).map(([k, v]) => [k, unb64(v)]));
}

export function configMapData(server: KubeApiServer, namespace: string): Record<string, string> | undefined {
  const cm = server.api.find('configmaps', namespace, NAME);
  return cm ? ((cm.data ?? {}) as Record<string, string>) : undefined;
}

const clientsCache = new WeakMap<KubeApiServer, KubeClients>();

export async function clientsFor(server: KubeApiServer): Promise<KubeClients> {
  let c = clientsCache.get(server);
  if (!c) {
    c = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    clientsCache.set(server, c);
  }
  return c;
}

export async function openStore(server: KubeApiServer, namespace: string, opts: Partial<KubeStoreOptions> = {}): Promise<KubeTrustBundleStore> {
  return new KubeTrustBundleStore({ clients: await clientsFor(server), namespace, retryDelayMs: 10, ...opts });
}

export function assertCode(code: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(isWardenError(err), `expected a WardenError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

/** Resolves once `condition` holds; the bound only catches a hang (see test/support/wait.ts). */
export function until(condition: () => boolean, timeoutMs = HANG_MS): Promise<void> {
  return waitUntil(condition, 'a store condition', timeoutMs, 5);
}
