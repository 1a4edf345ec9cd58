/**
 * Sentry's Kubernetes mode (`--mode kubernetes`): API clients from the kubeconfig (or in-cluster),
 * the Configuration CR named by `--config` for TTL and skew, the bundle in the `dapr-trust-bundle`
 * Secret and ConfigMap of Sentry's namespace (`NAMESPACE`), API watches on both (a Secret change
 * reloads in place; ConfigMap drift is re-synced from the Secret), and the KUBERNETES validator
 * (`UNKNOWN` → KUBERNETES; INSECURE → "not enabled"), plus JWKS when the Configuration lists it.
 *
 * RBAC it needs: secrets get/update/watch and configmaps get/update/watch on `dapr-trust-bundle`
 * (list with a name field selector for the watches), tokenreviews create, pods get/list,
 * configurations.dapr.io get/list.
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
import { watchNamedObject } from './kube-watch.js';
import { jwtFileNames, type SentryOptions } from './options.js';
import { KubernetesValidator } from './validators/kubernetes.js';

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
    subscribe: (onChange) => watchNamedObject({
      watch: clients.watch,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      name: store.secretName,
      readVersion: async () => (await readVersion(() => clients.core.readNamespacedSecret({ namespace, name: store.secretName }))),
      // A change between the start-up read and the watch's first GET is still a change.
      initialVersion: source.lastSecretVersion,
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
