/**
 * A JWKS endpoint for the validator's tests: HTTPS on 127.0.0.1 (port 0) with a self-signed
 * certificate the sentry is told to trust (`caCertificate`), a JWKS that the test swaps, a switch
 * that makes it answer 503, and a count of the fetches it served.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JsonWebKey } from 'node:crypto';
import { selfSignedTlsFiles } from './jwt-tokens.js';

export interface JwksServer {
  url: string;
  caFile: string;
  caPem: string;
  jwks: { keys: JsonWebKey[] };
  /** When true, every request gets 503 (the source is "down"). */
  failing: boolean;
  /** Successful (200) answers so far. */
  fetches: number;
  close(): Promise<void>;
}

export async function startJwksServer(dir: string, jwks: { keys: JsonWebKey[] }): Promise<JwksServer> {
  const tls = selfSignedTlsFiles(dir, 'jwks-source');
  const state = { jwks, failing: false, fetches: 0 };
  const server: Server = createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
    if (state.failing) {
      res.writeHead(503).end('down\n');
      return;
    }
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `https://127.0.0.1:${port}/keys`,
    caFile: tls.certFile,
    caPem: tls.certPem,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  }) as JwksServer;
}
