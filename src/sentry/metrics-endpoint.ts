/** Serves the metrics exposition on every path, as Dapr's exporter does (spec 5.2: `/` and any path). */
import type { HttpHandler } from './http-listener.js';
import type { SentryMetrics } from './metrics.js';

/** Where the exposition comes from: one process's SentryMetrics, or a cluster primary's aggregate. */
export type MetricsSource = Pick<SentryMetrics, 'render'>;

export function createMetricsHandler(metrics: MetricsSource): HttpHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const { contentType, body } = await metrics.render();
    res.writeHead(200, { 'content-type': contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
