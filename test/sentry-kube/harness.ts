/**
 * `warden sentry --mode kubernetes` in-process against the Kubernetes API test server: a seeded
 * Dapr control plane (namespace dapr-system, trust domain cluster.local), the sentry on port 0 with
 * the server's kubeconfig, logs captured, and helpers for app/control-plane pods with tokens.
 */
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import type { SentryOptions } from '../../src/sentry/options.js';
import { runSentry, type RunningSentry } from '../../src/sentry/server.js';
import {
  createPod, mintServiceAccountToken, seedDaprControlPlane, sentryAudiences, startKubeApiServer,
  type DaprControlPlaneOptions, type KubeApiServer,
} from '../support/kube-api/index.js';
import { connectSentry, csrPem, uriSansOf, x509Chain, type SentryTestClient, type SignRequestInput } from '../support/sentry-client.js';
import { captureLogger, type LogRecord } from '../support/sentry-harness.js';

export const NS = 'dapr-system';
export const TD = 'cluster.local';
export const SENTRY_ID = `spiffe://${TD}/ns/${NS}/dapr-sentry`;
/** A resolv.conf as the kubelet writes it for a pod in dapr-system (cluster domain cluster.local). */
export const POD_RESOLV_CONF = fileURLToPath(new URL('./fixtures/pod-resolv.conf', import.meta.url));
/** A resolv.conf with no search list (a workstation or CI runner): no cluster-domain lookup, no DNS traffic. */
export const OUTSIDE_POD_RESOLV_CONF = fileURLToPath(new URL('./fixtures/outside-pod-resolv.conf', import.meta.url));

export interface KubeSentry {
  sentry: RunningSentry;
  logs: LogRecord[];
  address: string;
  /** A client trusting `anchors` (default: the Secret's ca.crt now). */
  client(anchors?: string): SentryTestClient;
  get(path: string, port?: number): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** Starts the sentry in Kubernetes mode against `server`. */
export async function startKubeSentry(
  server: KubeApiServer,
  options: Partial<SentryOptions> = {},
  { logs = [], waitReady = true }: { logs?: LogRecord[]; waitReady?: boolean } = {},
): Promise<KubeSentry> {
  const sentry = await runSentry({
    mode: 'kubernetes',
    kubeconfig: server.kubeconfigPath,
    namespace: NS,
    trustDomain: TD,
    port: 0, listenAddress: '127.0.0.1',
    healthzPort: 0, healthzListenAddress: '127.0.0.1',
    metricsPort: 0, metricsListenAddress: '127.0.0.1',
    handleSignals: false,
    shutdownGraceMs: 1_000,
    reloadDebounceMs: 300,
    kubeSecretPollMs: 200,
    // The cluster domain as a pod in a cluster whose domain is cluster.local finds it, without DNS traffic
    // (the lookup itself runs real queries in test/sentry/cluster-domain.test.ts).
    clusterDomainSources: { resolvConfPath: POD_RESOLV_CONF, resolves: async (fqdn) => fqdn === 'kubernetes.default.svc.cluster.local.' },
    logger: captureLogger(logs),
    ...options,
  });
  const address = `127.0.0.1:${sentry.port}`;
  const clients: SentryTestClient[] = [];
  const get = async (path: string, port = sentry.healthzPort): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  if (waitReady) {
    try {
      await waitFor('the sentry to be healthy', async () => (await get('/healthz')).status === 200, 60_000);
    } catch (err) {
      await sentry.close();
      throw err;
    }
  }
  return {
    sentry, logs, address,
    client: (anchors) => {
      const c = connectSentry({ address, anchorsPem: anchors ?? secretTexts(server).ca, expectedId: sentry.spiffeId });
      clients.push(c);
      return c;
    },
    get,
    close: async () => {
      for (const c of clients) c.close();
      await sentry.close();
    },
  };
}

/** An API server with a Dapr control plane seeded (bundle in the Secret/ConfigMap when given). */
export async function startCluster(seed: DaprControlPlaneOptions = {}, namespaces: readonly string[] = []): Promise<KubeApiServer> {
  const server = await startKubeApiServer({ namespaces });
  seedDaprControlPlane(server, { namespace: NS, trustDomain: TD, ...seed });
  return server;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: unknown): string | undefined => (typeof text === 'string' ? Buffer.from(text, 'base64').toString('utf8') : undefined);

/** The Secret's bundle texts as stored now (missing keys → ''). */
export function secretTexts(server: KubeApiServer): BundleTexts {
  const data = (server.api.get('secrets', NS, 'dapr-trust-bundle').data ?? {}) as Record<string, string>;
  return { ca: unb64(data['ca.crt']) ?? '', issuerCert: unb64(data['issuer.crt']) ?? '', issuerKey: unb64(data['issuer.key']) ?? '' };
}

/** The ConfigMap's ca.crt now (undefined when the key is missing). */
export function configMapCa(server: KubeApiServer): string | undefined {
  return ((server.api.get('configmaps', NS, 'dapr-trust-bundle').data ?? {}) as Record<string, string>)['ca.crt'];
}

/** Writes the Secret's three keys (and the ConfigMap's ca.crt unless `configMap: false`) as another client would. */
export function writeBundleObjects(server: KubeApiServer, texts: Partial<BundleTexts>, opts: { configMap?: boolean | string } = {}): void {
  server.api.mutate('secrets', NS, 'dapr-trust-bundle', (s) => {
    const data: Record<string, string> = {};
    if (texts.ca !== undefined) data['ca.crt'] = b64(texts.ca);
    if (texts.issuerCert !== undefined) data['issuer.crt'] = b64(texts.issuerCert);
    if (texts.issuerKey !== undefined) data['issuer.key'] = b64(texts.issuerKey);
    (s as { data?: Record<string, string> }).data = data;
  });
  if (opts.configMap !== false) {
    const ca = typeof opts.configMap === 'string' ? opts.configMap : texts.ca;
    server.api.mutate('configmaps', NS, 'dapr-trust-bundle', (c) => {
      (c as { data?: Record<string, string> }).data = ca === undefined ? {} : { 'ca.crt': ca };
    });
  }
}

export interface PodRequestOptions {
  namespace?: string;
  pod: string;
  annotations?: Record<string, string>;
  serviceAccount?: string;
  /** Default: the sentry's two audiences. */
  audiences?: readonly string[];
  /** Token for this service account instead of the pod's. */
  tokenServiceAccount?: string;
  /** Create the pod (default true). */
  create?: boolean;
}

/** Creates a pod (unless told not to) and a token bound to it; returns the token. */
export function podToken(server: KubeApiServer, o: PodRequestOptions): string {
  const namespace = o.namespace ?? 'default';
  if (o.create !== false) {
    createPod(server, { namespace, name: o.pod, serviceAccount: o.serviceAccount ?? 'default', annotations: o.annotations ?? {} });
  }
  return mintServiceAccountToken(server, {
    namespace, podName: o.pod, audiences: o.audiences ?? sentryAudiences(TD, NS),
    ...(o.tokenServiceAccount !== undefined ? { serviceAccount: o.tokenServiceAccount } : {}),
  });
}

/** The URI SANs of the first certificate of a PEM chain (node's parser, independent of src/core). */
export function leafUris(chainPem: Buffer | string): string[] {
  const leaf = x509Chain(chainPem)[0];
  if (leaf === undefined) throw new Error('no certificate in the chain');
  return uriSansOf({ subjectaltname: leaf.subjectAltName });
}

/** Polls `cond` every 25 ms; returns the time it took. */
/** Polls `cond` until it holds; `timeoutMs` only bounds a hang (keep it generous: CI is a loaded 2-core machine). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - start;
}

const key = generateKeyPairSync('ed25519').privateKey;
export const CSR = csrPem(key);

/** A request as daprd sends it in Kubernetes: the KUBERNETES validator, a token, a fresh CSR. */
export function kubeRequest(id: string, token: string, namespace = 'default', extra: SignRequestInput = {}): SignRequestInput {
  return { id, namespace, token, token_validator: 'KUBERNETES', certificate_signing_request: CSR, ...extra };
}
