/**
 * `runSentry`: start-up and shutdown of the CA server, in either mode (backend.ts: a credentials
 * directory, or the Kubernetes Secret/ConfigMap with the KUBERNETES validator). Loads (or
 * generates) and checks the bundle, issues its own serving SVID, and opens the gRPC, health and
 * metrics listeners; then watches the bundle for in-place reloads and logs root/issuer expiry.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { expiryStatus } from '../core/expiry-window.js';
import { openStandaloneBackend, type SentryBackend } from './backend.js';
import type { CheckPolicy } from './bundle-check.js';
import { CaStateHolder, createCaState, type CaState } from './ca-state.js';
import type { SentryConfig } from './config.js';
import { ExpiryWatch } from './expiry-watch.js';
import { listenGrpc, type GrpcListener } from './grpc-server.js';
import { createHealthHandler } from './health.js';
import { listenHttp, type HttpHandler, type HttpListener } from './http-listener.js';
import { createSentryLogger } from './logger.js';
import { createMetricsHandler } from './metrics-endpoint.js';
import { SentryMetrics } from './metrics.js';
import { withSentryDefaults, type SentryOptions } from './options.js';
import { BundleReloader } from './reload.js';
import { createSignCertificateHandler } from './sign-service.js';
import { ServingIdentity, type ServingCertificate } from './tls-identity.js';

export interface RunningSentry {
  /** Bound gRPC port (the real one when `port` was 0). */
  readonly port: number;
  readonly healthzPort: number;
  /** Bound metrics port; undefined when metrics are disabled. */
  readonly metricsPort: number | undefined;
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

/** Starts Sentry. Rejects with a WardenError when the bundle or options do not allow serving. */
export async function runSentry(partial: Partial<SentryOptions> = {}): Promise<RunningSentry> {
  const options = withSentryDefaults(partial);
  const clock: Clock = options.clock ?? systemClock;
  const logger: Logger = options.logger ?? createSentryLogger();
  const metrics = new SentryMetrics();
  const backend = await openBackend(options, clock, logger);
  try {
    return await serve(options, backend, { clock, logger, metrics });
  } catch (err) {
    await backend.close();
    throw err;
  }
}

async function openBackend(options: SentryOptions, clock: Clock, logger: Logger): Promise<SentryBackend> {
  if (options.mode === 'standalone') return openStandaloneBackend(options, clock);
  if (options.mode === 'kubernetes') {
    // Loaded on demand: self-hosted Sentry never imports the Kubernetes client.
    const { openKubeBackend } = await import('./kube-backend.js');
    return openKubeBackend(options, { clock, logger });
  }
  throw new WardenError('ERR_USAGE', `--mode ${String(options.mode)} is not a Sentry mode; use standalone or kubernetes`);
}

async function serve(
  options: SentryOptions,
  backend: SentryBackend,
  { clock, logger, metrics }: { clock: Clock; logger: Logger; metrics: SentryMetrics },
): Promise<RunningSentry> {
  const { config, store, where } = backend;
  const policy: CheckPolicy = {
    warnWithinMs: options.expiryWarningWindowMs,
    workloadTtlMs: config.workloadCertTtlMs,
    clockSkewMs: config.allowedClockSkewMs,
  };

  const startup = await backend.loadStartupBundle({
    clock, logger, metrics, policy,
    trustDomain: options.trustDomain,
    namespace: options.namespace,
    keyAlgorithm: options.keyAlgorithm,
    clockSkewMs: config.allowedClockSkewMs,
    serials: options.serials,
  });
  const stateDeps = { clock, config, serials: options.serials };
  const caState = new CaStateHolder(createCaState(startup.bundle, startup.version, stateDeps));
  metrics.recordCa(startup.bundle.issuer, startup.bundle.root);

  const identity = new ServingIdentity({
    caState, clock, logger, metrics, trustDomain: options.trustDomain, namespace: options.namespace,
  });
  await identity.renew();

  const resources = new Resources(logger);
  let ready = false;
  try {
    const grpcListener = await listenGrpc({
      listenAddress: options.listenAddress,
      port: options.port,
      maxReceiveMessageBytes: options.maxReceiveMessageBytes,
      credentials: identity.serverCredentials(),
      signCertificate: createSignCertificateHandler({
        caState, metrics, logger, clock,
        mode: options.mode,
        validators: backend.validators,
        sentryNamespace: options.namespace,
        clusterDomain: options.clusterDomain ?? options.trustDomain,
      }),
    });
    resources.grpc = grpcListener;
    resources.health = await listenOn('healthz', options.healthzListenAddress, options.healthzPort,
      createHealthHandler(() => probeHealth(ready, caState, clock, backend)));
    if (options.enableMetrics) {
      resources.metrics = await listenOn('metrics', options.metricsListenAddress, options.metricsPort,
        createMetricsHandler(metrics));
    }
  } catch (err) {
    identity.stop();
    await resources.close(0);
    throw err;
  }

  const expiryWatch = new ExpiryWatch({
    caState, clock, logger, warnWithinMs: options.expiryWarningWindowMs, intervalMs: options.expiryWarningIntervalMs,
  });
  expiryWatch.start();
  const reloader = new BundleReloader({
    store, where, caState, clock, logger, metrics, policy,
    debounceMs: options.reloadDebounceMs,
    subscribe: backend.subscribe,
    install: async (checked, version) => {
      caState.swap(createCaState(checked.bundle, version, stateDeps));
      metrics.recordCa(checked.bundle.issuer, checked.bundle.root);
      for (const note of checked.notes) logger.warn({ code: note.code, subject: note.subject }, note.message);
      expiryWatch.check();
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
  ready = true;
  logger.info(
    { port: resources.grpc.port, healthzPort: resources.health.port, metricsPort: resources.metrics?.port,
      trustDomain: options.trustDomain, spiffeId: identity.spiffeId, workloadCertTTL: config.workloadCertTtlMs },
    `Sentry started, serving on port ${resources.grpc.port}`,
  );

  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const close = (): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      logger.info('Sentry shutting down');
      reloader.stop();
      expiryWatch.stop();
      identity.stop();
      await reloader.idle();
      await backend.close();
      await resources.close(options.shutdownGraceMs);
      removeSignalHandlers();
      logger.info('Sentry stopped');
      markClosed();
    })();
    return closing;
  };
  const removeSignalHandlers = options.handleSignals ? installSignalHandlers(logger, close) : () => {};

  return {
    port: resources.grpc.port,
    healthzPort: resources.health.port,
    metricsPort: resources.metrics?.port,
    spiffeId: identity.spiffeId,
    metrics,
    currentCa: () => caState.current,
    servingCertificate: () => identity.current,
    close,
    closed,
  };
}

/**
 * Healthy when serving, the mode is ready (Kubernetes: the validator reached the API) and the
 * issuer is valid now (an issuer that cannot sign is not healthy).
 */
function probeHealth(ready: boolean, caState: CaStateHolder, clock: Clock, backend: SentryBackend): { healthy: boolean; reason?: string } {
  if (!ready) return { healthy: false, reason: 'not serving' };
  const notReady = backend.notReadyReason?.();
  if (notReady !== undefined) return { healthy: false, reason: notReady };
  const state = expiryStatus(caState.current.bundle.issuer, clock.now()).state;
  if (state === 'expired') return { healthy: false, reason: 'issuer certificate has expired' };
  if (state === 'not-yet-valid') return { healthy: false, reason: 'issuer certificate is not valid yet' };
  return { healthy: true };
}

async function listenOn(what: string, host: string, port: number, handler: HttpHandler): Promise<HttpListener> {
  try {
    return await listenHttp(host, port, handler);
  } catch (err) {
    throw new WardenError(
      'ERR_LISTEN_FAILED',
      `cannot listen for ${what} on ${host || '*'}:${port}: ${(err as Error).message}; choose a free port`,
      { cause: err },
    );
  }
}

/** SIGTERM/SIGINT → graceful close; a second signal is left to the default handler. */
function installSignalHandlers(logger: Logger, close: () => Promise<void>): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, `Received ${signal}; shutting down gracefully`);
    removeAll();
    void close();
  };
  const removeAll = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return removeAll;
}

/** The listeners opened so far, closed together. */
class Resources {
  grpc!: GrpcListener;
  health!: HttpListener;
  metrics: HttpListener | undefined;

  constructor(private readonly logger: Logger) {}

  async close(graceMs: number): Promise<void> {
    const closing: Promise<void>[] = [];
    if (this.grpc !== undefined) closing.push(this.grpc.shutdown(graceMs));
    if (this.health !== undefined) closing.push(this.health.close());
    if (this.metrics !== undefined) closing.push(this.metrics.close());
    const results = await Promise.allSettled(closing);
    for (const r of results) {
      if (r.status === 'rejected') this.logger.error({ err: String(r.reason) }, 'Error while closing a listener');
    }
  }
}

export type { SentryConfig, SentryOptions };
