/**
 * `runSentry`: start-up and shutdown of the CA server, in either mode (backend.ts: a credentials
 * directory, or the Kubernetes Secret/ConfigMap with the KUBERNETES validator). Loads (or
 * generates) and checks the bundle, issues its own serving SVID, and opens the gRPC, health and
 * metrics listeners; then watches the bundle for in-place reloads and logs root/issuer expiry.
 *
 * The steps are exported separately for `warden sentry --workers N` (cluster/): the primary runs
 * `decideStartupBundle` once and owns `openHttpListeners`; each worker runs `serveSentry`.
 */
import { LOG_SCOPE } from './log-scopes.js';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { profileForDaprVersion, servingKeyAlgorithmForDaprVersion } from '../core/profile.js';
import { sentryClusterDomain } from './kube-cluster-domain.js';
import { expiryStatus } from '../core/expiry-window.js';
import { openStandaloneBackend, type BackendStartupDeps, type SentryBackend } from './backend.js';
import type { CheckPolicy } from './bundle-check.js';
import { CaStateHolder, createCaState, type CaState } from './ca-state.js';
import type { SentryConfig } from './config.js';
import { ExpiryWatch } from './expiry-watch.js';
import { listenGrpc, type GrpcListener } from './grpc-server.js';
import type { HealthResult } from './health.js';
import { openHttpListeners, type HttpListeners } from './http-endpoints.js';
import { createSentryLogger } from './logger.js';
import { startOidcServer, type OidcServer } from './oidc/server.js';
import { SentryMetrics } from './metrics.js';
import { withSentryDefaults, type SentryOptions } from './options.js';
import { createGracefulClose } from './signals.js';
import { BundleReloader } from './reload.js';
import { InThreadLeafIssuer } from './issue-leaf.js';
import { SignThreadPool } from './sign-threads.js';
import { createSignCertificateHandler } from './sign-service.js';
import type { StartupBundle } from './startup-bundle.js';
import { ServingIdentity, type ServingCertificate } from './tls-identity.js';
import type { AutoRenewer } from './auto-renew/renewer.js';
import { startAutoRenewer } from './auto-renew/start.js';
import type { IssuedJwts, JwtIssueOptions, JwtRequest } from './jwt-issuer.js';
import { heapGrowingPercent, mainSemiSpaceLimitMb, SENTRY_NODE_FLAGS } from './heap-limits.js';
import { MemoryRelease } from './memory-release.js';
import { loadMallocTrim } from './native/malloc-trim.js';
import { fullGarbageCollection } from './native/v8-gc.js';

export interface RunningSentry {
  /** Bound gRPC port (the real one when `port` was 0). */
  readonly port: number;
  readonly healthzPort: number;
  /** Bound metrics port; undefined when metrics are disabled. */
  readonly metricsPort: number | undefined;
  /** The OIDC discovery server, when `options.oidc` is set (its port may come later: TLS files awaited). */
  readonly oidc: OidcServer | undefined;
  /** `spiffe://<td>/ns/<ns>/dapr-sentry`, the identity clients must verify. */
  readonly spiffeId: string;
  readonly metrics: SentryMetrics;
  /** The CA currently signing. */
  currentCa(): CaState;
  /** The serving certificate currently presented. */
  servingCertificate(): ServingCertificate | undefined;
  /** Graceful shutdown; idempotent. Resolves when every listener is closed. */
  close(): Promise<void>;
  /** Resolves once `close()` (or a handled signal) has finished. */
  readonly closed: Promise<void>;
}

/** The clock, logger and metrics of one Sentry process. */
export interface SentryContext {
  clock: Clock;
  logger: Logger;
  metrics: SentryMetrics;
}

/** What a process runs besides the gRPC listener; a single process runs everything. */
export interface SentryRole {
  /**
   * Log per-bundle warnings: the periodic expiry log (ExpiryWatch) and a reloaded bundle's check
   * notes at their level (else at debug). In a cluster only worker 0 does, so each warning shows once.
   */
  bundleWarnings: boolean;
  /** How the start-up bundle is obtained; default the backend's decision table (startup-bundle.ts). */
  loadBundle?: ((backend: SentryBackend, deps: BackendStartupDeps) => Promise<StartupBundle>) | undefined;
}

export const SINGLE_PROCESS_ROLE: Readonly<SentryRole> = Object.freeze({ bundleWarnings: true });

/** Sentry's gRPC side: what a cluster worker runs (no HTTP listeners, no signal handling). */
export interface ServingSentry {
  /** Bound gRPC port (the real one when `port` was 0). */
  readonly port: number;
  readonly spiffeId: string;
  readonly config: SentryConfig;
  currentCa(): CaState;
  servingCertificate(): ServingCertificate | undefined;
  /** Today's probe: serving, the mode ready (Kubernetes: the validator reached the API), the issuer valid now. */
  health(): HealthResult;
  /** Stops the reloader and watches, then the gRPC listener (calls in flight get `graceMs`); idempotent. */
  close(graceMs: number): Promise<void>;
}

/** Starts Sentry. Rejects with a WardenError when the bundle or options do not allow serving. */
export async function runSentry(partial: Partial<SentryOptions> = {}): Promise<RunningSentry> {
  const options = withSentryDefaults(partial);
  const ctx = createSentryContext(options);
  const { logger, metrics } = ctx;
  const serving = await serveSentry(options, ctx);
  let http: HttpListeners;
  let oidc: OidcServer | undefined;
  try {
    oidc = await openOidc(options, serving, logger);
    http = await openHttpListeners(options, () => withOidcHealth(serving.health(), oidc), metrics);
  } catch (err) {
    await Promise.all([serving.close(0), oidc?.close()]);
    throw err;
  }
  logger.info({ scope: LOG_SCOPE.server }, `Running gRPC server on port ${serving.port}`);
  logger.info(
    { port: serving.port, healthzPort: http.healthzPort, metricsPort: http.metricsPort,
      trustDomain: options.trustDomain, spiffeId: serving.spiffeId, workloadCertTTL: serving.config.workloadCertTtlMs },
    `Sentry started, serving on port ${serving.port}`,
  );

  const { close, closed } = createGracefulClose(logger, options.handleSignals, async () => {
    await Promise.all([serving.close(options.shutdownGraceMs), http.close(), oidc?.close()]);
  });

  return {
    port: serving.port,
    healthzPort: http.healthzPort,
    metricsPort: http.metricsPort,
    oidc,
    spiffeId: serving.spiffeId,
    metrics,
    currentCa: () => serving.currentCa(),
    servingCertificate: () => serving.servingCertificate(),
    close,
    closed,
  };
}

/**
 * The OIDC discovery server when configured (Dapr runs it only with JWT enabled; the CLI sets
 * `options.oidc` only then). It serves the JWKS of the bundle being served now, so a reload that
 * changes `jwks.json` is served at once.
 */
async function openOidc(options: SentryOptions, serving: ServingSentry, logger: Logger): Promise<OidcServer | undefined> {
  if (options.oidc === undefined) {
    logger.info('OIDC HTTP server is disabled');
    return undefined;
  }
  logger.info(`Starting OIDC HTTP server on port ${options.oidc.port}`);
  return startOidcServer(options.oidc, {
    logger,
    jwks: () => serving.currentCa().bundle.jwt?.jwks,
    algorithm: () => serving.currentCa().bundle.jwt?.algorithm,
  });
}

/** Dapr's health target `oidc-server`: not ready until the OIDC server listens. */
function withOidcHealth(health: HealthResult, oidc: OidcServer | undefined): HealthResult {
  const reason = oidc?.notReadyReason;
  return !health.healthy || reason === undefined ? health : { healthy: false, reason };
}

/** The options' clock and logger (or the defaults) and fresh metrics. */
export function createSentryContext(options: SentryOptions): SentryContext {
  return { clock: options.clock ?? systemClock, logger: options.logger ?? createSentryLogger(), metrics: new SentryMetrics() };
}

/** Opens the backend, obtains the start-up bundle (by `role.loadBundle`) and serves gRPC with it. */
export async function serveSentry(options: SentryOptions, ctx: SentryContext, role: SentryRole = SINGLE_PROCESS_ROLE): Promise<ServingSentry> {
  const backend = await openBackend(options, ctx.clock, ctx.logger);
  try {
    const deps = startupDepsOf(options, backend.config, ctx);
    const startup = role.loadBundle ? await role.loadBundle(backend, deps) : await backend.loadStartupBundle(deps);
    return await serve(options, backend, startup, ctx, role);
  } catch (err) {
    await backend.close();
    throw err;
  }
}

/**
 * The start-up decision alone, exactly as `runSentry` makes it (generate and persist when absent,
 * refuse a partial bundle or check errors, log the notes), without serving: a cluster primary
 * runs it once before it forks the workers.
 */
export async function decideStartupBundle(options: SentryOptions, ctx: SentryContext): Promise<StartupBundle> {
  const backend = await openBackend(options, ctx.clock, ctx.logger);
  try {
    return await backend.loadStartupBundle(startupDepsOf(options, backend.config, ctx));
  } finally {
    await backend.close();
  }
}

export async function openBackend(options: SentryOptions, clock: Clock, logger: Logger): Promise<SentryBackend> {
  if (options.mode === 'standalone') return openStandaloneBackend(options, clock, logger);
  if (options.mode === 'kubernetes') {
    // Loaded on demand: self-hosted Sentry never imports the Kubernetes client.
    const { openKubeBackend } = await import('./kube-backend.js');
    return openKubeBackend(options, { clock, logger });
  }
  throw new WardenError('ERR_USAGE', `--mode ${String(options.mode)} is not a Sentry mode; use standalone or kubernetes`);
}

/** The checks' policy at start-up and on reload. */
function checkPolicyOf(options: SentryOptions, config: SentryConfig): CheckPolicy {
  return {
    warnWithinMs: options.expiryWarningWindowMs, workloadTtlMs: config.workloadCertTtlMs, clockSkewMs: config.allowedClockSkewMs,
    jwtSettings: options.jwtEnabled ? { keyId: options.jwtKeyId, algorithm: options.jwtSigningAlgorithm } : undefined,
  };
}

/** How JWT-SVIDs are issued with `--jwt-enabled`; undefined when they are off. */
function jwtIssueOptionsOf(options: SentryOptions, config: SentryConfig): JwtIssueOptions | undefined {
  return options.jwtEnabled ? { issuer: options.jwtIssuer, ttlMs: options.jwtTtlMs, clockSkewMs: config.allowedClockSkewMs } : undefined;
}

function startupDepsOf(options: SentryOptions, config: SentryConfig, { clock, logger, metrics }: SentryContext): BackendStartupDeps {
  return {
    clock, logger, metrics,
    policy: checkPolicyOf(options, config),
    trustDomain: options.trustDomain,
    namespace: options.namespace,
    keyAlgorithm: options.keyAlgorithm,
    clockSkewMs: config.allowedClockSkewMs,
    serials: options.serials,
  };
}

async function serve(
  options: SentryOptions,
  backend: SentryBackend,
  startup: StartupBundle,
  { clock, logger, metrics }: SentryContext,
  role: SentryRole,
): Promise<ServingSentry> {
  const { config, store, where } = backend;
  const policy = checkPolicyOf(options, config);
  const stateDeps = { clock, config, serials: options.serials, profile: profileForDaprVersion(options.daprVersion), jwt: jwtIssueOptionsOf(options, config) };
  const caState = new CaStateHolder(createCaState(startup.bundle, startup.version, stateDeps));
  metrics.recordCa(startup.bundle.issuer, startup.bundle.root, options.jwtEnabled ? startup.bundle.jwt?.keyId : undefined);
  logger.info('CA certificate key pair ready'); // pkg/sentry/sentry.go, after ca.New
  if (options.mode === 'standalone' && (backend.validators ?? []).some((v) => v.name === 'INSECURE')) {
    // Dapr's lines for its self-hosted default validator (kube-backend.ts logs Kubernetes mode's).
    logger.info('Adding validator \'insecure\'');
    logger.info('Using validator \'insecure\'');
  }

  const identity = new ServingIdentity({
    caState, clock, logger, metrics, trustDomain: options.trustDomain, namespace: options.namespace,
    keyAlgorithm: servingKeyAlgorithmForDaprVersion(options.daprVersion),
    ...(options.servingCheckIntervalMs !== undefined ? { checkIntervalMs: options.servingCheckIntervalMs } : {}),
  });
  await identity.renew();

  let ready = false;
  let grpc: GrpcListener;
  logHeapFlags(logger);
  const signThreads = options.signThreads > 0 ? new SignThreadPool(options.signThreads, caState, config, logger) : undefined;
  try {
    const grpcListener = await listenGrpc({
      listenAddress: options.listenAddress,
      port: options.port,
      maxReceiveMessageBytes: options.maxReceiveMessageBytes,
      maxConnections: options.maxConnections,
      maxConnectionsPerPeer: options.maxConnectionsPerPeer,
      limits: options.grpcLimits,
      onRefused: (reason) => metrics.grpcRefused.inc({ reason }),
      identity,
      onInternalError: (err) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'Unexpected error in the gRPC handler'),
      signCertificate: createSignCertificateHandler({
        metrics, logger, clock, leafIssuer: signThreads ?? new InThreadLeafIssuer(caState),
        mode: options.mode,
        validators: backend.validators,
        sentryNamespace: options.namespace,
        clusterDomain: await sentryClusterDomain({
          explicit: options.clusterDomain, mode: options.mode, daprVersion: options.daprVersion, trustDomain: options.trustDomain, logger,
          sources: options.clusterDomainSources,
        }),
        issueJwts: options.jwtEnabled ? (req) => issueJwtsWith(caState.current, req) : undefined,
      }),
    });
    grpc = grpcListener;
  } catch (err) {
    identity.stop();
    await signThreads?.close();
    throw err;
  }

  const expiryWatch = role.bundleWarnings
    ? new ExpiryWatch({ caState, clock, logger, warnWithinMs: options.expiryWarningWindowMs, intervalMs: options.expiryWarningIntervalMs })
    : undefined;
  expiryWatch?.start();
  const reloader = new BundleReloader({
    store, where, caState, clock, logger, metrics, policy,
    debounceMs: options.reloadDebounceMs,
    subscribe: backend.subscribe,
    install: async (checked, version) => {
      caState.swap(createCaState(checked.bundle, version, stateDeps));
      metrics.recordCa(checked.bundle.issuer, checked.bundle.root, options.jwtEnabled ? checked.bundle.jwt?.keyId : undefined);
      const noteLevel = role.bundleWarnings ? 'warn' : 'debug';
      for (const note of checked.notes) logger[noteLevel]({ code: note.code, subject: note.subject }, note.message);
      expiryWatch?.check();
      try {
        await identity.renew();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'Failed to re-issue the Sentry serving certificate after reload');
      }
      await backend.afterInstall?.();
    },
  });
  reloader.start();
  backend.start?.({ caState });
  let renewer: AutoRenewer | undefined;
  if (options.autoRenew && role.bundleWarnings) {
    try {
      renewer = await startAutoRenewer({ options, config, caState, clock, logger, metrics });
    } catch (err) {
      reloader.stop();
      expiryWatch?.stop();
      identity.stop();
      await grpc.shutdown(0).catch(() => undefined);
      await signThreads?.close();
      throw err;
    }
    expiryWatch?.setRenewalNote(() => renewalNote(renewer));
  } else {
    metrics.nextRenewalSeconds.set(0);
    metrics.autoRenewPossible.set(0);
  }
  // Each process (a --workers worker too) gives back what a storm left in its own heaps.
  const memoryRelease = options.releaseMemory
    ? new MemoryRelease({
      clock, logger,
      record: ({ bytes, followUp }) => {
        if (!followUp) metrics.memoryReleases.inc();
        metrics.memoryReleasedBytes.inc(bytes);
      },
      rss: () => process.memoryUsage.rss(),
      connections: () => grpc.connections(),
      onAllClosed: (listener) => grpc.onAllClosed(listener),
      loadTrim: () => loadMallocTrim(),
      // The signing threads' heaps too: after a storm they hold as much as the main thread's.
      collectGarbage: async () => {
        const pauseMs = await fullGarbageCollection();
        const threads = await signThreads?.collectGarbage();
        if (threads !== undefined && threads.length > 0) {
          const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
          logger.debug({ signThreads: threads.map((t) => ({ heapUsedMiB: mib(t.heapUsedBytes), externalMiB: mib(t.externalBytes) })) }, 'Signing threads after their garbage collection');
        }
        return pauseMs;
      },
      policy: options.memoryReleasePolicy,
    })
    : undefined;
  memoryRelease?.start();
  ready = true;

  let closing: Promise<void> | undefined;
  const close = (graceMs: number): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      await renewer?.stop();
      memoryRelease?.stop();
      reloader.stop();
      expiryWatch?.stop();
      identity.stop();
      await reloader.idle();
      await memoryRelease?.idle();
      await backend.close();
      logger.info({ scope: LOG_SCOPE.server }, 'Shutting down gRPC server');
      try {
        await grpc.shutdown(graceMs);
      } catch (err) {
        logger.error({ err: String(err) }, 'Error while closing the gRPC listener');
      }
      await signThreads?.close();
    })();
    return closing;
  };
  return {
    port: grpc.port,
    spiffeId: identity.spiffeId,
    config,
    currentCa: () => caState.current,
    servingCertificate: () => identity.current,
    health: () => probeHealth(ready, caState, clock, backend),
    close,
  };
}

/** What the expiry warning adds about the automatic renewal. */
function renewalNote(renewer: AutoRenewer | undefined): string | undefined {
  const next = renewer?.nextRenewal();
  if (next === undefined) return undefined;
  return next.renewability.renewable
    ? `the sentry renews it automatically at ${next.at.toISOString()}`
    : `automatic renewal is on but not possible: ${next.renewability.why}`;
}

/**
 * Healthy when serving, the mode is ready (Kubernetes: the validator reached the API) and the
 * issuer is valid now (an issuer that cannot sign is not healthy).
 */
function probeHealth(ready: boolean, caState: CaStateHolder, clock: Clock, backend: SentryBackend): HealthResult {
  if (!ready) return { healthy: false, reason: 'not serving' };
  const notReady = backend.notReadyReason?.();
  if (notReady !== undefined) return { healthy: false, reason: notReady };
  const state = expiryStatus(caState.current.bundle.issuer, clock.now()).state;
  if (state === 'expired') return { healthy: false, reason: 'issuer certificate has expired' };
  if (state === 'not-yet-valid') return { healthy: false, reason: 'issuer certificate is not valid yet' };
  return { healthy: true };
}

/** Signs with the state's JWT material; a state without it is Dapr's `JWT signing key is not available`. */
function issueJwtsWith(state: CaState, req: JwtRequest): Promise<IssuedJwts> {
  if (state.jwt === undefined) return Promise.reject(new Error('JWT signing key is not available'));
  return state.jwt.issue(req);
}

export type { SentryConfig, SentryOptions };

/** Says at debug level whether Node runs with the heap limits the launchers set (heap-limits.ts). */
function logHeapFlags(logger: Logger): void {
  const semiSpaceMb = mainSemiSpaceLimitMb(process.execArgv, process.env['NODE_OPTIONS']);
  const growingPercent = heapGrowingPercent(process.execArgv);
  if (semiSpaceMb !== undefined && growingPercent !== undefined) logger.debug({ semiSpaceMb, heapGrowingPercent: growingPercent }, 'V8 heaps limited');
  else logger.debug({ semiSpaceMb, heapGrowingPercent: growingPercent, flags: SENTRY_NODE_FLAGS }, `V8 heaps partly at V8's defaults; start Node with ${SENTRY_NODE_FLAGS.join(' ')}, as bin/warden.js does, for a lower peak in a restart storm`);
}
