/**
 * The healthz and metrics HTTP listeners (spec 5.2, 5.3): opened by a single-process sentry, or by
 * the primary of `--workers N`, which answers for all its workers.
 */
import { WardenError } from '../core/errors.js';
import { createHealthHandler, type HealthProbe } from './health.js';
import { listenHttp, type HttpHandler, type HttpListener } from './http-listener.js';
import { createMetricsHandler, type MetricsSource } from './metrics-endpoint.js';
import type { SentryOptions } from './options.js';

/** The healthz and (when enabled) metrics listeners. */
export interface HttpListeners {
  readonly healthzPort: number;
  readonly metricsPort: number | undefined;
  close(): Promise<void>;
}

/** Opens the healthz listener and, when enabled, the metrics listener; on failure closes what it opened. */
export async function openHttpListeners(options: SentryOptions, probe: HealthProbe, metrics: MetricsSource): Promise<HttpListeners> {
  const health = await listenOn('healthz', options.healthzListenAddress, options.healthzPort, createHealthHandler(probe));
  let exposition: HttpListener | undefined;
  if (options.enableMetrics) {
    try {
      exposition = await listenOn('metrics', options.metricsListenAddress, options.metricsPort, createMetricsHandler(metrics));
    } catch (err) {
      await health.close();
      throw err;
    }
  }
  return {
    healthzPort: health.port,
    metricsPort: exposition?.port,
    close: async () => {
      await Promise.all([health.close(), exposition?.close()]);
    },
  };
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
