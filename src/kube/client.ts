/**
 * Kubernetes API access (design §2: `src/kube`). `@kubernetes/client-node` costs ≈400 ms to
 * import, so nothing here imports it at module load: `loadKubeClients` imports it on first use and
 * every other export works on what that call returned. Self-hosted commands never load it.
 *
 * Kubeconfig as kubectl finds it: `--kubeconfig`, else `$KUBECONFIG` (files merged, first wins,
 * missing files skipped), else `~/.kube/config`, else the in-cluster service account. client-node
 * 2.x recipes (patch content types, ApiException bodies): test/support/kube-api/client.ts.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type {
  AppsV1Api, AuthenticationV1Api, ConfigurationOptions, CoreV1Api, CustomObjectsApi, KubeConfig, Watch,
} from '@kubernetes/client-node';
import { WardenError } from '../core/errors.js';
import { kubeConfigSummary, mergeKubeconfigFiles, type KubeModule } from './kube-config-files.js';

export { httpStatusOf, isConnectionDrop, kubeCall, kubeError, kubeFind, kubeRead, kubeStatusOf } from './kube-errors.js';

export type { KubeConfig };

export interface KubeClientOptions {
  /** `--kubeconfig`: this file only (as kubectl). */
  kubeconfig?: string;
  /** Several kubeconfig files merged as `$KUBECONFIG` is (first wins); used when `kubeconfig` is not given. */
  kubeconfigs?: readonly string[];
  /** `--context`: a context of the kubeconfig other than its current one. */
  context?: string;
  /**
   * true: the pod's service account only (`KUBERNETES_SERVICE_HOST` + the mounted token);
   * false: never; undefined: when no kubeconfig is found (kubectl's order).
   */
  inCluster?: boolean;
  /** Environment for `KUBECONFIG` and `HOME` (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Per-request timeout for API calls other than watches (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * A watch stream that sends nothing for this long is aborted (done() gets a TimeoutError).
   * Default 330 s: longer than the server-side `timeoutSeconds` Warden's watches ask for (300 s),
   * so a quiet object is not re-read every 30 s (client-node 2's own default).
   */
  watchIdleTimeoutMs?: number;
  /**
   * Asked at each request (watches excepted) for a signal that also aborts it: a caller's overall
   * deadline (`warden fleet --timeout`), so a hanging API server is let go of at once.
   */
  requestSignal?: () => AbortSignal | undefined;
}

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  auth: AuthenticationV1Api;
  watch: Watch;
  /** API requests sent so far through these clients (watches included). */
  requestCount(): number;
  /** For messages: `context warden-test (https://127.0.0.1:6443)`. */
  readonly description: string;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_WATCH_IDLE_TIMEOUT_MS = 330_000;

let kubeModule: KubeModule | undefined;

/** Imports @kubernetes/client-node once. */
async function importClientNode(): Promise<KubeModule> {
  kubeModule ??= await import('@kubernetes/client-node');
  return kubeModule;
}

/**
 * Loads the kubeconfig and makes the API clients. Throws `ERR_KUBE_UNREACHABLE` when no
 * configuration is found or it names no cluster, `ERR_USAGE` for an unknown `--context`.
 * No request is sent: an unreachable server shows up on the first call (see `kubeError`).
 */
export async function loadKubeClients(opts: KubeClientOptions = {}): Promise<KubeClients> {
  const k8s = await importClientNode();
  const kubeConfig = loadKubeConfig(k8s, opts);
  if (opts.context !== undefined) {
    if (!kubeConfig.getContextObject(opts.context)) {
      const known = kubeConfig.getContexts().map((c) => c.name);
      throw new WardenError('ERR_USAGE', `--context "${opts.context}" is not in the kubeconfig (contexts: ${known.join(', ') || 'none'}); 'kubectl config get-contexts' lists them`);
    }
    kubeConfig.setCurrentContext(opts.context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new WardenError('ERR_KUBE_UNREACHABLE', `the kubeconfig has no current context with a cluster (${kubeConfigSummary(kubeConfig)}); pass --context, or set one with 'kubectl config use-context'`);
  }

  shareConnections(kubeConfig);

  let requests = 0;
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const inner = k8s.createConfiguration().httpApi;
  const httpApi: typeof inner = {
    send(request) {
      requests += 1;
      if (!request.getSignal()) {
        const timeout = AbortSignal.timeout(timeoutMs);
        const extra = opts.requestSignal?.();
        request.setSignal(extra === undefined ? timeout : AbortSignal.any([timeout, extra]));
      }
      return inner.send(request);
    },
  };
  const configuration = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    httpApi,
  });
  const watchIdleTimeoutMs = opts.watchIdleTimeoutMs ?? DEFAULT_WATCH_IDLE_TIMEOUT_MS;
  class CountingWatch extends k8s.Watch {
    constructor(config: KubeConfig) {
      super(config);
      // Private in the typings; client-node 2's only knob for its watch inactivity timer.
      const self = this as unknown as { requestTimeoutMs?: number };
      if (typeof self.requestTimeoutMs !== 'number') {
        throw new Error('@kubernetes/client-node\'s Watch has no requestTimeoutMs: update loadKubeClients() for this version');
      }
      self.requestTimeoutMs = watchIdleTimeoutMs;
    }

    override watch(...args: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
      requests += 1;
      return super.watch(...args);
    }
  }
  return {
    kubeConfig,
    core: new k8s.CoreV1Api(configuration),
    apps: new k8s.AppsV1Api(configuration),
    custom: new k8s.CustomObjectsApi(configuration),
    auth: new k8s.AuthenticationV1Api(configuration),
    watch: new CountingWatch(kubeConfig),
    requestCount: () => requests,
    description: `context ${kubeConfig.getCurrentContext()} (${cluster.server})`,
  };
}

/** The context names of the kubeconfig `opts` names (as `loadKubeClients` finds it), in file order. */
export async function listKubeContexts(opts: KubeClientOptions = {}): Promise<string[]> {
  const kubeConfig = loadKubeConfig(await importClientNode(), opts);
  return kubeConfig.getContexts().map((c) => c.name);
}

/**
 * client-node builds a new HTTP client for every request: 1.4 an https.Agent, 2.x an undici Agent
 * (`createDispatcher`), so every call paid a new TCP connection and TLS handshake. Restarting 200 apps
 * spent most of its CPU in TLS set-up; one client per TLS identity cut the CPU by ~30 % and wall time
 * by 14–39 % (measured with bench/kube-renew.ts on 1.4). undici keeps connections alive by itself and
 * unrefs idle sockets, so a shared client never holds a CLI process open.
 */
function shareConnections(kubeConfig: KubeConfig): void {
  // createDispatcher is private in the typings but is the one place client-node 2 makes API clients.
  type DispatcherFactory = { createDispatcher(cluster: unknown, options: Record<string, unknown>): unknown };
  const target = kubeConfig as unknown as DispatcherFactory;
  if (typeof target.createDispatcher !== 'function') {
    throw new Error('@kubernetes/client-node has no KubeConfig.createDispatcher: update shareConnections() for this version');
  }
  const create = target.createDispatcher.bind(target);
  const dispatchers = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const { server, proxyUrl } = (cluster ?? {}) as { server?: string; proxyUrl?: string };
    const key = JSON.stringify([server, proxyUrl, agentOptions]);
    if (!dispatchers.has(key)) dispatchers.set(key, create(cluster, agentOptions));
    return dispatchers.get(key);
  };
}

function loadKubeConfig(k8s: KubeModule, opts: KubeClientOptions): KubeConfig {
  const env = opts.env ?? process.env;
  const kc = new k8s.KubeConfig();
  const fromFiles = (files: string[], what: string): KubeConfig => {
    try {
      return mergeKubeconfigFiles(k8s, files);
    } catch (err) {
      throw new WardenError('ERR_KUBE_UNREACHABLE', `cannot load the kubeconfig ${what}: ${(err as Error).message}; check the file`, { cause: err });
    }
  };
  if (opts.inCluster === true) return loadInCluster(kc, env);
  if (opts.kubeconfig !== undefined) return fromFiles([opts.kubeconfig], opts.kubeconfig);
  if (opts.kubeconfigs !== undefined && opts.kubeconfigs.length > 0) return fromFiles([...opts.kubeconfigs], opts.kubeconfigs.join(delimiter));
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const present = listed.filter((f) => existsSync(f));
  if (present.length > 0) return fromFiles(present, `from $KUBECONFIG (${present.join(delimiter)})`);
  const home = env.HOME ?? homedir();
  const fallback = join(home, '.kube', 'config');
  if (listed.length === 0 && existsSync(fallback)) return fromFiles([fallback], fallback);
  if (opts.inCluster !== false && env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) return loadInCluster(kc, env);
  const looked = listed.length > 0 ? `$KUBECONFIG (${listed.join(delimiter)})` : fallback;
  throw new WardenError('ERR_KUBE_UNREACHABLE', `no kubeconfig found (looked at ${looked}) and not running in a pod; pass --kubeconfig or set KUBECONFIG`);
}

function loadInCluster(kc: KubeConfig, env: Readonly<Record<string, string | undefined>>): KubeConfig {
  if (!env.KUBERNETES_SERVICE_HOST || !existsSync(IN_CLUSTER_TOKEN)) {
    throw new WardenError('ERR_KUBE_UNREACHABLE', `not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST unset or no ${IN_CLUSTER_TOKEN}); use a kubeconfig instead`);
  }
  kc.loadFromCluster();
  return kc;
}

/** Content types for `patchOptions`; the same names and values as client-node's `PatchStrategy`. */
export const PatchStrategy = {
  JsonPatch: 'application/json-patch+json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
} as const;
export type PatchStrategyType = (typeof PatchStrategy)[keyof typeof PatchStrategy];

/**
 * Per-call options that make a client-node `patch*` call send `strategy` as its Content-Type
 * (client-node 2.x, like 1.4, otherwise always sends json-patch). Custom resources accept only JSON patch and
 * merge patch. Call after `loadKubeClients`.
 */
export function patchOptions(strategy: PatchStrategyType = PatchStrategy.MergePatch): ConfigurationOptions {
  if (!kubeModule) throw new Error('patchOptions() called before loadKubeClients()');
  return kubeModule.setHeaderOptions('Content-Type', strategy);
}
