/**
 * The Sentry Configuration in Kubernetes mode (spec 2.3): the `dapr.io/v1alpha1` Configuration
 * named by `--config` (default `daprsystem`) in Sentry's namespace, read through the API once at
 * start-up, with the same fields and checks as the self-hosted YAML file (config.ts). A missing
 * Configuration is not fatal: Dapr then logs an error and uses the defaults (24h, 15m), and so
 * does Warden, at warn level.
 */
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { httpStatusOf, kubeError } from '../kube/client.js';
import { DEFAULT_SENTRY_CONFIG, parseSentryConfig, type SentryConfig } from './config.js';

export const DEFAULT_KUBE_CONFIGURATION = 'daprsystem';

export interface KubeSentryConfig {
  config: SentryConfig;
  /** `spec.mtls.controlPlaneTrustDomain`, which Dapr's Sentry ignores (`--trust-domain` wins), to warn on a mismatch. */
  controlPlaneTrustDomain?: string | undefined;
}

export async function loadKubeSentryConfig(
  clients: { custom: CustomObjectsApi },
  namespace: string,
  name: string,
  logger: Logger,
): Promise<KubeSentryConfig> {
  const where = `Configuration ${namespace}/${name}`;
  let object: unknown;
  try {
    object = await clients.custom.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', plural: 'configurations', namespace, name });
  } catch (err) {
    if (httpStatusOf(err) === 404 || (err as { code?: unknown }).code === 404) {
      logger.warn({ configuration: where },
        `${where} not found; using the defaults (workloadCertTTL 24h, allowedClockSkew 15m). ` +
        'Pass --config with the name of the Configuration to use, or create it (Dapr\'s Helm chart creates "daprsystem")');
      return { config: { ...DEFAULT_SENTRY_CONFIG } };
    }
    throw kubeError(err, `read ${where}`);
  }
  // The API's JSON is YAML too: one parser and one set of checks for both modes.
  const config = parseSentryConfig(JSON.stringify(object), where);
  logger.info({ configuration: where, workloadCertTTL: config.workloadCertTtlMs, allowedClockSkew: config.allowedClockSkewMs },
    `Using Sentry configuration from ${where}`);
  const td = (object as { spec?: { mtls?: { controlPlaneTrustDomain?: unknown } } } | null)?.spec?.mtls?.controlPlaneTrustDomain;
  return { config, controlPlaneTrustDomain: typeof td === 'string' && td !== '' ? td : undefined };
}
