/**
 * Finding the Dapr control plane as the Dapr CLI does (spec 6.1): the namespace of the first
 * `daprsystem` Configuration listed across all namespaces, else of the `dapr-sentry` Deployment;
 * `--namespace` overrides both. And reading the `daprsystem` Configuration's mTLS settings.
 */
import { WardenError } from '../core/errors.js';
import type { V1DeploymentList } from '@kubernetes/client-node';
import { httpStatusOf, kubeError, kubeFind, type KubeClients } from './client.js';

export const DAPR_SYSTEM_CONFIGURATION = 'daprsystem';
export const SENTRY_DEPLOYMENT = 'dapr-sentry';
const CONFIGURATIONS = { group: 'dapr.io', version: 'v1alpha1', plural: 'configurations' } as const;

/** What Warden reads of `daprsystem` (`spec.mtls`); a field the Configuration leaves out is undefined. */
export interface DaprSystemConfiguration {
  /** `spec.mtls.enabled`; undefined when absent (Dapr's default is enabled). */
  mtlsEnabled?: boolean;
  workloadCertTTL?: string;
  allowedClockSkew?: string;
  controlPlaneTrustDomain?: string;
}

interface ConfigurationObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { mtls?: Record<string, unknown> };
}

/**
 * The Dapr namespace: `override` when given (not checked: the objects' 404s name it), else the
 * namespace of the `daprsystem` Configuration, else of the `dapr-sentry` Deployment.
 * `ERR_DAPR_NOT_FOUND` when there is neither; API failures as `kubeError`.
 */
export async function findDaprNamespace(clients: KubeClients, override?: string): Promise<string> {
  if (override !== undefined && override !== '') return override;
  const found = await findDaprSystemConfiguration(clients);
  if (found) return found.namespace;
  const sentry = await findSentryNamespace(clients);
  if (sentry !== undefined) return sentry;
  throw new WardenError(
    'ERR_DAPR_NOT_FOUND',
    `no Dapr control plane found in ${clients.description}: no Configuration "${DAPR_SYSTEM_CONFIGURATION}" and no Deployment "${SENTRY_DEPLOYMENT}" in any namespace; install Dapr, or pass --namespace with its namespace`,
  );
}

/**
 * The first `daprsystem` Configuration (in `namespace`, or listed across all namespaces as the
 * Dapr CLI does), or undefined when there is none (or the Configuration CRD is not installed).
 */
export async function findDaprSystemConfiguration(
  clients: KubeClients,
  namespace?: string,
): Promise<{ namespace: string; configuration: DaprSystemConfiguration } | undefined> {
  if (namespace !== undefined && namespace !== '') {
    const configuration = await readDaprSystemConfiguration(clients, namespace);
    return configuration && { namespace, configuration };
  }
  const what = `list Configurations "${DAPR_SYSTEM_CONFIGURATION}" (dapr.io) in all namespaces`;
  let list: { items?: ConfigurationObject[] };
  try {
    list = (await clients.custom.listClusterCustomObject({
      ...CONFIGURATIONS,
      fieldSelector: `metadata.name=${DAPR_SYSTEM_CONFIGURATION}`,
    })) as { items?: ConfigurationObject[] };
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined; // no dapr.io CRD: no Dapr
    throw withNamespaceHint(kubeError(err, what), err);
  }
  const first = (list.items ?? []).find((c) => c.metadata?.name === DAPR_SYSTEM_CONFIGURATION && c.metadata.namespace);
  if (!first) return undefined;
  return { namespace: first.metadata!.namespace!, configuration: toDaprSystemConfiguration(first) };
}

/** `daprsystem` in `namespace`; undefined when it does not exist. */
export async function readDaprSystemConfiguration(clients: KubeClients, namespace: string): Promise<DaprSystemConfiguration | undefined> {
  const object = await kubeFind(`read Configuration ${namespace}/${DAPR_SYSTEM_CONFIGURATION}`, () =>
    clients.custom.getNamespacedCustomObject({ ...CONFIGURATIONS, namespace, name: DAPR_SYSTEM_CONFIGURATION }) as Promise<ConfigurationObject>,
  );
  return object && toDaprSystemConfiguration(object);
}

async function findSentryNamespace(clients: KubeClients): Promise<string | undefined> {
  const what = `list Deployments "${SENTRY_DEPLOYMENT}" in all namespaces`;
  let list: V1DeploymentList;
  try {
    list = await clients.apps.listDeploymentForAllNamespaces({ fieldSelector: `metadata.name=${SENTRY_DEPLOYMENT}` });
  } catch (err) {
    throw withNamespaceHint(kubeError(err, what), err);
  }
  return list.items.find((d) => d.metadata?.name === SENTRY_DEPLOYMENT)?.metadata?.namespace;
}

function toDaprSystemConfiguration(object: ConfigurationObject): DaprSystemConfiguration {
  const mtls = object.spec?.mtls ?? {};
  const out: DaprSystemConfiguration = {};
  if (typeof mtls.enabled === 'boolean') out.mtlsEnabled = mtls.enabled;
  for (const key of ['workloadCertTTL', 'allowedClockSkew', 'controlPlaneTrustDomain'] as const) {
    const value = mtls[key];
    if (typeof value === 'string' && value !== '') out[key] = value;
  }
  return out;
}

// A user without cluster-wide list rights (403, not a rejected token) can still name the namespace.
function withNamespaceHint(err: WardenError, cause: unknown): WardenError {
  if (httpStatusOf(cause) !== 403) return err;
  return new WardenError(err.code, `${err.message}, or pass --namespace with Dapr's namespace to skip the cluster-wide lookup`, { cause: err });
}
