/**
 * `GET /healthz` on the healthz port (spec 5.3): 200 when Sentry is serving with an issuer that is
 * valid now, 503 otherwise (Warden adds the issuer condition: a CA that cannot sign is not healthy).
 */
import type { HttpHandler } from './http-listener.js';

export interface HealthResult {
  healthy: boolean;
  reason?: string;
}

/** Answers whether Sentry is healthy right now, and why not (a cluster primary asks its workers: async). */
export type HealthProbe = () => HealthResult | Promise<HealthResult>;

export function createHealthHandler(probe: HealthProbe): HttpHandler {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const { healthy, reason } = await probe();
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : healthy ? 'ok\n' : `${reason ?? 'not ready'}\n`);
  };
}
