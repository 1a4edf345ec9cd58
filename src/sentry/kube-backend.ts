/**
 * Sentry's Kubernetes mode (`--mode kubernetes`): API clients from the kubeconfig (or in-cluster),
 * the Configuration CR named by `--config` for TTL and skew, the bundle in the `dapr-trust-bundle`
 * Secret and ConfigMap of Sentry's namespace (`NAMESPACE`), a Secret change seen through the
 * credentials mount and periodic GETs (reloads in place), an API watch on the ConfigMap (drift is
 * re-synced from the Secret), and the KUBERNETES validator, plus JWKS when the Configuration
 * lists it (`UNKNOWN` → KUBERNETES; INSECURE → "not enabled").
 *
 * RBAC it needs is exactly what Dapr's chart grants (test/support/kube-api/dapr-rbac.ts): secrets
 * get/update on `dapr-trust-bundle` (no list, no watch), configmaps get/update/watch/list on
 * `dapr-trust-bundle` (the watch names it in a field selector), tokenreviews create, pods get,
 * configurations.dapr.io get.
 */
import { LOG_SCOPE } from './log-scopes.js';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { loadKubeClients, type KubeClients } from '../kube/client.js';
import { KubeTrustBundleStore } from '../stores/kube-store.js';
import { jwksNotReadyReason, jwksValidatorFor, type SentryBackend } from './backend.js';
import type { CaStateHolder } from './ca-state.js';
import { KubeBundleSource } from './kube-bundle-source.js';
import { DEFAULT_KUBE_CONFIGURATION, loadKubeSentryConfig } from './kube-config.js';
import { loadKubeStartupBundle } from './kube-startup.js';
import { watchTrustBundleSecret } from './kube-secret-watch.js';
import { watchNamedObject } from './kube-watch.js';
import { jwtFileNames, type SentryOptions } from './options.js';
import { KubernetesValidator } from './validators/kubernetes.js';

/** How often the Secret is re-read besides the credentials mount's file events. */
const DEFAULT_SECRET_POLL_MS = 10_000;

export async function openKubeBackend(options: SentryOptions, { clock, logger }: { clock: Clock; logger: Logger }): Promise<SentryBackend> {
  const clients: KubeClients = options.kubeClients
    ?? await loadKubeClients({ kubeconfig: options.kubeconfig, context: options.kubeContext, ...(options.kubeEnv ? { env: options.kubeEnv } : {}) });
  const namespace = options.namespace;
  const { config, controlPlaneTrustDomain } = await loadKubeSentryConfig(clients, namespace, options.config || DEFAULT_KUBE_CONFIGURATION, logger);
  if (controlPlaneTrustDomain !== undefined && controlPlaneTrustDomain !== options.trustDomain) {
    // Sidecars verify Sentry as spiffe://<their control-plane TD>/ns/<ns>/dapr-sentry: a mismatch fails every connection.
    logger.warn({ trustDomain: options.trustDomain, controlPlaneTrustDomain },
      `--trust-domain is "${options.trustDomain}" but the Configuration's spec.mtls.controlPlaneTrustDomain is "${controlPlaneTrustDomain}"; ` +
      'sidecars expect the latter in Sentry\'s identity and will refuse to connect: pass --trust-domain ' + controlPlaneTrustDomain);
  }
  const store = new KubeTrustBundleStore({
    clients, namespace, clock, create: false,
    // Dapr names the Secret keys after the base names of its credential paths (spec 3.2).
    keys: {
      ca: basename(options.issuerCaFilename), issuerCert: basename(options.issuerCertificateFilename), issuerKey: basename(options.issuerKeyFilename),
      jwtKey: basename(jwtFileNames(options).jwtKeyFile), jwks: basename(jwtFileNames(options).jwksFile),
    },
  });
  const source = new KubeBundleSource(store, clients.core);
  const validator = new KubernetesValidator({
    clients, logger, sentryNamespace: namespace, trustDomain: options.trustDomain,
    podCacheTtlMs: options.identityCacheTtlMs, configurationCacheTtlMs: options.identityCacheTtlMs,
  });
  logger.info({ scope: LOG_SCOPE.ca }, 'Using kubernetes secret store for trust bundle storage');
  logger.info(`Adding validator 'kubernetes' with Sentry ID: spiffe://${options.trustDomain}/ns/${namespace}/dapr-sentry`);
  const jwks = jwksValidatorFor(options, config, clock, logger);
  logger.info('Using validator \'kubernetes\'');
  if (jwks !== undefined) logger.info('Using validator \'jwks\'');
  logger.info({ mode: 'kubernetes', api: clients.description, namespace, secret: store.secretRef, configMap: store.configMapRef },
    `Kubernetes mode: trust bundle in ${store.description}`);

  let caState: CaStateHolder | undefined;
  const stops: (() => void)[] = [];
  let syncing: Promise<void> = Promise.resolve();
  let closed = false;
  /** Re-syncs ConfigMap drift against the bundle being served; serialized, never throws. */
  const syncConfigMap = (): Promise<void> => {
    syncing = syncing.then(async () => {
      if (closed || caState === undefined) return;
      try {
        await source.syncConfigMap(String(caState.current.version), logger);
      } catch (err) {
        logger.error({ err: (err as Error).message }, `Could not re-sync ${store.configMapRef} from ${store.secretRef}: ${(err as Error).message}`);
      }
    });
    return syncing;
  };

  return {
    where: source.where,
    config,
    store: source,
    validators: jwks === undefined ? [validator] : [validator, jwks],
    loadStartupBundle: (deps) => loadKubeStartupBundle(source, deps),
    // No watch on the Secret: the chart's Role grants get/update/delete only (kube-secret-watch.ts).
    subscribe: (onChange) => watchTrustBundleSecret({
      credentialsDir: options.issuerCredentials,
      readVersion: async () => (await readVersion(() => clients.core.readNamespacedSecret({ namespace, name: store.secretName }))),
      // A change between the start-up read and the first check is still a change.
      initialVersion: source.lastSecretVersion,
      intervalMs: options.kubeSecretPollMs ?? DEFAULT_SECRET_POLL_MS,
      onChange,
      logger,
      what: store.secretRef,
    }),
    start: (ctx) => {
      caState = ctx.caState;
      validator.start();
      jwks?.start();
      stops.push(watchNamedObject({
        watch: clients.watch,
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        name: store.configMapName,
        readVersion: async () => (await readVersion(() => clients.core.readNamespacedConfigMap({ namespace, name: store.configMapName }))),
        onChange: () => void syncConfigMap(),
        logger,
        what: store.configMapRef,
      }));
    },
    afterInstall: syncConfigMap,
    notReadyReason: () => (validator.ready ? jwksNotReadyReason(jwks) : 'KUBERNETES validator not ready (waiting for the Kubernetes API)'),
    close: async () => {
      closed = true;
      validator.stop();
      jwks?.stop();
      for (const stop of stops.splice(0)) stop();
      await syncing;
    },
  };
}

/** The object's resourceVersion; undefined on 404. */
async function readVersion(get: () => Promise<{ metadata?: { resourceVersion?: string } }>): Promise<string | undefined> {
  try {
    return (await get()).metadata?.resourceVersion;
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return undefined;
    throw err;
  }
}
