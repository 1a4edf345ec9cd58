/**
 * A minimal HTTP listener for the health and metrics ports: binds (port 0 allowed), reports the
 * bound port, and closes by dropping idle keep-alive sockets so shutdown does not hang.
 *
 * Each listener has its own small budget, apart from the gRPC port's: at most
 * HTTP_MAX_CONNECTIONS connections (probes and scrapers need a handful), and a request must
 * arrive whole within HTTP_REQUEST_TIMEOUT_MS, so /healthz answers while the gRPC port is flooded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export const HTTP_MAX_CONNECTIONS = 64;
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Listens on `host:port` (empty host: all interfaces) and serves `handler`. */
export async function listenHttp(host: string, port: number, handler: HttpHandler): Promise<HttpListener> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.keepAliveTimeout = 5_000;
  server.maxConnections = HTTP_MAX_CONNECTIONS;
  server.headersTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
