/**
 * The second half of a Kubernetes bundle write: the ConfigMap's `ca.crt` made equal to what the
 * Secret (the source of truth) just got. Retried, re-reading the ConfigMap, on conflicts and
 * transient failures; stopped with ERR_STORE_CONFLICT if another writer has replaced the
 * Secret's `ca.crt` meanwhile (its ConfigMap write is its own). If it still fails, the error says
 * that the Secret was written and the two now differ (Dapr's Sentry would regenerate the CA).
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { WardenError } from '../core/errors.js';
import { httpStatusOf, kubeError, type KubeClients } from '../kube/client.js';
import { bundlePartsOf, configMapCaOf, resourceVersionOf, type KubeBundleKeys } from './kube-objects.js';

export interface ConfigMapSyncContext {
  clients: KubeClients;
  namespace: string;
  configMapName: string;
  keys: KubeBundleKeys;
  /** Create the ConfigMap when it is missing (else ERR_KUBE_NOT_FOUND from `notFound`). */
  create: boolean;
  attempts: number;
  /** First retry delay; doubles, at most 5 s. */
  retryDelayMs: number;
  secretRef: string;
  configMapRef: string;
  readSecret(): Promise<V1Secret | undefined>;
  readConfigMap(): Promise<V1ConfigMap | undefined>;
  notFound(what: string): WardenError;
}

/**
 * Sets the ConfigMap's `ca.crt` to `ca` (starting from `configMap` as read), and its `jwks.json`
 * to `jwks` when given (Dapr publishes the JWKS there too); returns its resourceVersion.
 */
export async function syncConfigMapCa(ctx: ConfigMapSyncContext, ca: string, configMap: V1ConfigMap | undefined, jwks?: string): Promise<string> {
  let current = configMap;
  let lastError: unknown;
  for (let attempt = 0; attempt < ctx.attempts; attempt++) {
    if (attempt > 0) {
      await sleep(Math.min(ctx.retryDelayMs * 2 ** (attempt - 1), 5_000));
      try {
        if (bundlePartsOf(await ctx.readSecret(), ctx.keys).ca !== ca) throw overtaken(ctx);
        current = await ctx.readConfigMap();
      } catch (err) {
        if (err instanceof WardenError && err.code === 'ERR_STORE_CONFLICT') throw err;
        lastError = err;
        continue;
      }
    }
    try {
      return await putConfigMapCa(ctx, current, ca, jwks);
    } catch (err) {
      lastError = err;
      // Retrying cannot help: missing object, no rights, or a request the server refuses.
      if (err instanceof WardenError || [400, 401, 403, 404, 422].includes(httpStatusOf(err) ?? 0)) break;
    }
  }
  const mapped = kubeError(lastError, `update ${ctx.configMapRef}`);
  throw new WardenError(
    mapped.code,
    `The new trust bundle was written to ${ctx.secretRef}, but ${ctx.configMapRef} ${ctx.keys.ca} could not be updated (${mapped.message}). ` +
      `The two ${ctx.keys.ca} now differ: do not restart Dapr's Sentry before they match (it would generate a new CA). ` +
      `Run the command again once the API server accepts the write; 'warden mtls verify -k' shows whether they match.`,
    { cause: lastError },
  );
}

async function putConfigMapCa(ctx: ConfigMapSyncContext, configMap: V1ConfigMap | undefined, ca: string, jwks: string | undefined): Promise<string> {
  const { namespace, clients } = ctx;
  const wanted: Record<string, string> = { [ctx.keys.ca]: ca, ...(jwks === undefined ? {} : { [ctx.keys.jwks]: jwks }) };
  if (!configMap) {
    if (!ctx.create) throw ctx.notFound(ctx.configMapRef);
    const created = await clients.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: ctx.configMapName, labels: { app: 'dapr-sentry' } }, data: wanted },
    });
    return resourceVersionOf(created);
  }
  if (configMapCaOf(configMap, ctx.keys) === ca && (jwks === undefined || configMap.data?.[ctx.keys.jwks] === jwks)) return resourceVersionOf(configMap);
  // metadata.resourceVersion makes the update conditional: a concurrent change is a 409 (retried).
  const body: V1ConfigMap = { ...configMap, data: { ...configMap.data, ...wanted } };
  return resourceVersionOf(await clients.core.replaceNamespacedConfigMap({ namespace, name: ctx.configMapName, body }));
}

function overtaken(ctx: ConfigMapSyncContext): WardenError {
  return new WardenError(
    'ERR_STORE_CONFLICT',
    `${ctx.secretRef} was replaced by another writer before ${ctx.configMapRef} could be updated: that writer's bundle is now current ` +
      `and updating the ConfigMap is its job. Check with 'warden mtls verify -k' and redo the change if needed.`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
