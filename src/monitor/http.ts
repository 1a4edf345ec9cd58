/**
 * The monitor's HTTP endpoints (FLEET-CONTRACT.md): `/` the page, `/api/fleet` the last read as
 * JSON (the shape of `warden fleet -o json`), `/metrics` Prometheus text, `/healthz`. GET and HEAD
 * only; everything is rendered from memory. Served on the sentry's bounded listener
 * (sentry/http-listener.ts: a connection cap and a request deadline).
 */
import type { ServerResponse } from 'node:http';
import type { FleetReport } from '../fleet/model.js';
import { listenHttp, type HttpHandler, type HttpListener } from '../sentry/http-listener.js';
import type { FleetMetrics } from './metrics.js';
import { renderPage } from './page/index.js';

export interface MonitorHttpOptions {
  report: () => FleetReport;
  metrics: Pick<FleetMetrics, 'render'>;
  refreshSeconds: number;
  title: string;
}

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function createMonitorHandler(opts: MonitorHttpOptions): HttpHandler {
  // The page depends only on its options: render it once.
  const page = renderPage({ refreshSeconds: opts.refreshSeconds, title: opts.title });
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...COMMON_HEADERS });
      res.end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://monitor').pathname;
    const head = req.method === 'HEAD';
    switch (path) {
      case '/':
        return send(res, head, 'text/html; charset=utf-8', page);
      case '/api/fleet':
        return send(res, head, 'application/json; charset=utf-8', `${JSON.stringify(opts.report(), null, 2)}\n`);
      case '/metrics': {
        const { contentType, body } = await opts.metrics.render();
        return send(res, head, contentType, body);
      }
      case '/healthz':
        return send(res, head, 'text/plain; charset=utf-8', 'ok\n');
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...COMMON_HEADERS });
        res.end(head ? undefined : 'not found: try /, /api/fleet, /metrics or /healthz\n');
    }
  };
}

function send(res: ServerResponse, head: boolean, contentType: string, body: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...COMMON_HEADERS });
  res.end(head ? undefined : body);
}

export function listenMonitor(host: string, port: number, opts: MonitorHttpOptions): Promise<HttpListener> {
  return listenHttp(host, port, createMonitorHandler(opts));
}
