/**
 * Pods, service accounts and service-account tokens for testing the KUBERNETES validator
 * (spec 1.5): a Running pod with the annotations the validator reads, and a projected-style
 * token bound to it that the server's TokenReview accepts.
 */
import { kubeTime, type JsonObject, type KubeObject } from './objects.js';
import type { KubeApiServer } from './server.js';

export interface CreatePodOptions {
  namespace: string;
  name: string;
  /** Created if missing (default 'default', which every namespace has). */
  serviceAccount?: string;
  labels?: Record<string, string>;
  /** e.g. `{ 'dapr.io/app-id': 'orders', 'dapr.io/config': 'appconfig' }` or `{ 'dapr.io/control-plane': 'operator' }`. */
  annotations?: Record<string, string>;
  /** Default `ghcr.io/example/app:1.0`. */
  image?: string;
  /** Default 'node-1'. */
  nodeName?: string;
  /** The pod's containers and volumes (default: one container 'app' running `image`, no volumes). */
  containers?: JsonObject[];
  volumes?: JsonObject[];
  /** Default 'Running' (with Ready condition and a pod IP). */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
}

/** Creates the service account if it does not exist yet; returns it. */
export function ensureServiceAccount(server: KubeApiServer, namespace: string, name: string): KubeObject {
  return server.api.find('serviceaccounts', namespace, name)
    ?? server.api.create('serviceaccounts', namespace, { metadata: { name } });
}

let podIp = 10;

/** Creates a pod (and its service account when missing) and moves it to `phase` as the kubelet would. */
export function createPod(server: KubeApiServer, opts: CreatePodOptions): KubeObject {
  const serviceAccount = opts.serviceAccount ?? 'default';
  ensureServiceAccount(server, opts.namespace, serviceAccount);
  const pod = server.api.create('pods', opts.namespace, {
    metadata: { name: opts.name, labels: opts.labels ?? { app: opts.name }, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      serviceAccountName: serviceAccount,
      nodeName: opts.nodeName ?? 'node-1',
      containers: opts.containers ?? [{ name: 'app', image: opts.image ?? 'ghcr.io/example/app:1.0' }],
      ...(opts.volumes ? { volumes: opts.volumes } : {}),
    },
  });
  const phase = opts.phase ?? 'Running';
  if (phase === 'Pending') return pod;
  const now = kubeTime(server.clock.now());
  const ip = `10.244.0.${(podIp = (podIp % 250) + 1)}`;
  return server.api.mutate('pods', opts.namespace, opts.name, (p) => {
    const ready = phase === 'Running' ? 'True' : 'False';
    p.status = {
      phase, qosClass: 'BestEffort', hostIP: '172.18.0.2', podIP: ip, podIPs: [{ ip }], startTime: now,
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type, status: type === 'Ready' || type === 'ContainersReady' ? ready : 'True', lastProbeTime: null, lastTransitionTime: now,
      })),
    } satisfies JsonObject;
  }, { subresource: 'status' })!;
}

export interface MintTokenHelperOptions {
  namespace: string;
  /** Bind the token to this pod; its service account is used unless `serviceAccount` is given. */
  podName?: string;
  /** Default: the pod's service account, or 'default'. Created if missing. */
  serviceAccount?: string;
  /** Default: the API server's audience. Dapr's Sentry asks for `sentryAudiences(...)`. */
  audiences?: readonly string[];
  expirationSeconds?: number;
  /** Claims merged over the generated ones (to craft odd tokens). */
  claims?: JsonObject;
}

/** The audiences Dapr's Sentry requests in its TokenReview (spec 1.5 step 3). */
export function sentryAudiences(trustDomain = 'cluster.local', namespace = 'dapr-system'): string[] {
  return ['dapr.io/sentry', `spiffe://${trustDomain}/ns/${namespace}/dapr-sentry`];
}

/** A service-account token the server's TokenReview accepts (until expiry, or until the pod/SA is deleted). */
export function mintServiceAccountToken(server: KubeApiServer, opts: MintTokenHelperOptions): string {
  const pod = opts.podName ? server.api.get('pods', opts.namespace, opts.podName) : undefined;
  const podSa = (pod?.spec as JsonObject | undefined)?.serviceAccountName;
  const serviceAccount = opts.serviceAccount ?? (typeof podSa === 'string' ? podSa : 'default');
  ensureServiceAccount(server, opts.namespace, serviceAccount);
  return server.tokens.mint({
    namespace: opts.namespace, serviceAccount, podName: opts.podName, audiences: opts.audiences,
    expirationSeconds: opts.expirationSeconds, claims: opts.claims,
  }).token;
}
