/**
 * `warden sentry --workers N` (N > 1), the primary: makes the start-up bundle decision once, as a
 * single process would (generate and persist when absent, refuse a partial bundle or check errors,
 * log the notes), owns the healthz and metrics listeners, and supervises N workers (pool.ts) that
 * serve gRPC on one shared port. It serves no gRPC itself.
 *
 * - `/healthz`: 200 only when every worker is up and its own probe (asked over IPC, 1 s timeout)
 *   says healthy; 503 with the reasons otherwise.
 * - metrics: the workers' registries aggregated (metrics.ts).
 * - shutdown: every worker closes gracefully, then the HTTP listeners close.
 */
import type { SentryOptions } from '../options.js';
import { withSentryDefaults } from '../options.js';
import { openHttpListeners, type HttpListeners } from '../http-endpoints.js';
import { createSentryContext, decideStartupBundle } from '../server.js';
import { createGracefulClose } from '../signals.js';
import { aggregateHealth } from './health.js';
import { primaryShare, renderAggregate } from './metrics.js';
import { WorkerPool, type StartedPool } from './pool.js';
import { checkWorkerOptions } from './workers-option.js';

/** How long /healthz waits for each worker's answer. */
export const HEALTH_TIMEOUT_MS = 1_000;
/** How long a scrape waits for each worker's registry. */
export const METRICS_TIMEOUT_MS = 2_000;

export interface RunningCluster {
  /** The gRPC port the workers share (the bound one when `port` was 0). */
  readonly port: number;
  readonly healthzPort: number;
  readonly metricsPort: number | undefined;
  readonly spiffeId: string;
  /** Pids of the workers by index (undefined while one is being replaced). */
  workerPids(): (number | undefined)[];
  /** Stops every worker gracefully, then the HTTP listeners; idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void>;
}

/** Starts the primary and its workers; rejects with the first worker's error if one cannot start. */
export async function runSentryPrimary(partial: Partial<SentryOptions>): Promise<RunningCluster> {
  const options = withSentryDefaults(partial);
  checkWorkerOptions(options);
  const ctx = createSentryContext(options);
  const { logger, metrics } = ctx;
  await decideStartupBundle(options, ctx);

  const pool = new WorkerPool({ count: options.workers, logger });
  const http: HttpListeners = await openHttpListeners(
    options,
    async () => aggregateHealth(await pool.health(HEALTH_TIMEOUT_MS), HEALTH_TIMEOUT_MS),
    {
      render: async () => {
        const [own, workers] = await Promise.all([metrics.registry.getMetricsAsJSON(), pool.metrics(METRICS_TIMEOUT_MS)]);
        return renderAggregate(primaryShare(own), workers);
      },
    },
  );
  let started: StartedPool;
  try {
    started = await pool.start(options.shutdownGraceMs);
  } catch (err) {
    await http.close();
    throw err;
  }
  logger.info(
    { port: started.port, healthzPort: http.healthzPort, metricsPort: http.metricsPort, workers: options.workers,
      workerPids: pool.pids(), trustDomain: options.trustDomain, spiffeId: started.spiffeId },
    `Sentry started, serving on port ${started.port} with ${options.workers} workers`,
  );

  const { close, closed } = createGracefulClose(logger, options.handleSignals, async () => {
    await pool.stop(options.shutdownGraceMs);
    await http.close();
  });
  return {
    port: started.port,
    healthzPort: http.healthzPort,
    metricsPort: http.metricsPort,
    spiffeId: started.spiffeId,
    workerPids: () => pool.pids(),
    close,
    closed,
  };
}
