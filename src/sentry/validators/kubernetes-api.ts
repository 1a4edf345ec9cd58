/**
 * The Kubernetes API calls of the KUBERNETES validator, through @kubernetes/client-node 1.4
 * (types only here: the package is loaded by whoever builds the clients). Pods and Configurations
 * are read with direct GETs behind short TTL caches rather than cluster-wide informers:
 * - a pod whose sidecar asks for its first certificate was created seconds ago; a GET always
 *   finds it, an informer may not have seen it yet, and daprd does not retry PermissionDenied;
 * - Sentry then holds no copy of every pod in the cluster (Dapr's cache does);
 * - the price is one GET per request next to the TokenReview every request costs anyway; cached
 *   pods are only reused for the token's own pod UID, so a StatefulSet pod recreated under the
 *   same name is never judged by its predecessor's annotations.
 */
import type { AuthenticationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { TtlCache } from './kubernetes-cache.js';

/** The clients the validator needs (a subset of src/kube's KubeClients). */
export interface ValidatorKubeClients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  auth: AuthenticationV1Api;
}

/** What the validator uses of a pod. */
export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string | undefined;
  serviceAccountName: string | undefined;
  annotations: Readonly<Record<string, string>>;
}

export interface TokenReviewResult {
  authenticated: boolean;
  username: string;
  error: string | undefined;
}

export interface KubeIdentityApiOptions {
  clients: ValidatorKubeClients;
  /** How long a pod GET is reused (default 10 s; 0 disables). */
  podCacheTtlMs?: number;
  /** How long a Configuration GET is reused (default 10 s; 0 disables). */
  configurationCacheTtlMs?: number;
  /** Monotonic clock for the caches (tests). */
  now?: () => number;
}

const DAPR_GROUP = { group: 'dapr.io', version: 'v1alpha1', plural: 'configurations' } as const;

export class KubeIdentityApi {
  private readonly pods: TtlCache<PodIdentity>;
  private readonly configurations: TtlCache<string | undefined>;

  constructor(private readonly options: KubeIdentityApiOptions) {
    this.pods = new TtlCache({ ttlMs: options.podCacheTtlMs ?? 10_000, now: options.now });
    this.configurations = new TtlCache({ ttlMs: options.configurationCacheTtlMs ?? 10_000, now: options.now });
  }

  /** Creates a TokenReview; rejects with the API error (see `apiErrorMessage`). */
  async reviewToken(token: string, audiences: readonly string[]): Promise<TokenReviewResult> {
    const review = await this.options.clients.auth.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...audiences] } },
    });
    const status = review.status;
    return {
      authenticated: status?.authenticated === true,
      username: status?.user?.username ?? '',
      error: status?.error === undefined || status.error === '' ? undefined : status.error,
    };
  }

  /** The pod, from the cache when it holds the same pod (`uid`, when known). */
  getPod(namespace: string, name: string, uid: string | undefined): Promise<PodIdentity> {
    return this.pods.get(
      `${namespace}/${name}`,
      async () => podIdentity(await this.options.clients.core.readNamespacedPod({ name, namespace })),
      // Without a UID to compare, a cached entry could be an older pod of the same name.
      (pod) => uid !== undefined && pod.uid === uid,
    );
  }

  /** `spec.accessControl.trustDomain` of a Dapr Configuration (undefined when unset). */
  getConfigurationTrustDomain(namespace: string, name: string): Promise<string | undefined> {
    return this.configurations.get(`${namespace}/${name}`, async () => {
      const config: unknown = await this.options.clients.custom.getNamespacedCustomObject({ ...DAPR_GROUP, namespace, name });
      const td = record(record(record(config)?.['spec'])?.['accessControl'])?.['trustDomain'];
      return typeof td === 'string' && td !== '' ? td : undefined;
    });
  }

  /**
   * One round trip that proves what validation needs: the API answers with these credentials, pods
   * can be read, and the Dapr Configuration CRD is installed. Rejects with the API error otherwise.
   */
  async probe(): Promise<void> {
    await this.options.clients.core.listPodForAllNamespaces({ limit: 1 });
    await this.options.clients.custom.listClusterCustomObject({ ...DAPR_GROUP, limit: 1 });
  }
}

function podIdentity(pod: {
  metadata?: { namespace?: string; name?: string; uid?: string; annotations?: Record<string, string> };
  spec?: { serviceAccountName?: string };
}): PodIdentity {
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid,
    serviceAccountName: pod.spec?.serviceAccountName,
    annotations: { ...(pod.metadata?.annotations ?? {}) },
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The text client-go's error would carry: the `message` of the API's `kind: Status` answer (what
 * `StatusError.Error()` returns), else the error's own message (network errors).
 */
export function apiErrorMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (body !== undefined) {
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      const message = record(parsed)?.['message'];
      if (typeof message === 'string' && message !== '') return message;
    } catch {
      // not JSON: fall through
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return `the server responded with HTTP ${code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
