/**
 * The OIDC discovery HTTP(S) server (`--oidc-enabled`; Dapr's `pkg/sentry/server/oidc/oidc.go`):
 * listens on `--oidc-server-listen-address:--oidc-server-listen-port` and answers as handler.ts says.
 *
 * TLS is served when both `--oidc-server-tls-cert-file` and `--oidc-server-tls-key-file` are
 * given (TLS 1.2 at least, as Dapr). While either file is missing the server waits for them,
 * looking every `tlsPollMs` (Dapr: 5 s) and warning each time, and is not ready meanwhile (health
 * 503), as Dapr. Files present at start-up that do not load are a start-up error
 * (ERR_OIDC_TLS_INVALID); files that appear or change later are loaded then, and a change that does
 * not load keeps the certificate in use (Dapr restarts its servers on any change in those
 * directories; Warden swaps the certificate in place).
 *
 * Hostile clients get the same budget as the health and metrics ports (http-listener.ts): at most
 * HTTP_MAX_CONNECTIONS connections, a whole request within HTTP_REQUEST_TIMEOUT_MS, headers of at
 * most MAX_HEADER_BYTES, a TLS handshake within the same time; request bodies are never read (a
 * request that has one gets `Connection: close`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { WardenError } from '../../core/errors.js';
import { HTTP_MAX_CONNECTIONS, HTTP_REQUEST_TIMEOUT_MS } from '../http-listener.js';
import { LOG_SCOPE } from '../log-scopes.js';
import { createOidcHandler, type AlgorithmProvider, type JwksProvider } from './handler.js';
import { DEFAULT_TLS_POLL_MS, type OidcServerOptions } from './options.js';

export const MAX_HEADER_BYTES = 8 * 1024;

export interface OidcServerDeps {
  jwks: JwksProvider;
  algorithm?: AlgorithmProvider | undefined;
  logger: Logger;
}

export interface OidcServer {
  /** The bound port once listening (the real one when `port` was 0). */
  readonly port: number | undefined;
  /** Dapr's health target `oidc-server`: ready once listening. */
  readonly ready: boolean;
  readonly notReadyReason: string | undefined;
  /** Resolves with the port once listening (at once when already). */
  listening(): Promise<number>;
  /** Calls `listener` after each TLS certificate load (the first and every change); tests wait on it. */
  onTlsLoaded(listener: () => void): () => void;
  close(): Promise<void>;
}

interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  digest: string;
}

/** Starts the server; rejects when the port cannot be bound or TLS files present now do not load. */
export async function startOidcServer(options: OidcServerOptions, deps: OidcServerDeps): Promise<OidcServer> {
  const { logger } = deps;
  const tlsFiles = options.tlsCertFile !== undefined && options.tlsKeyFile !== undefined
    ? { cert: options.tlsCertFile, key: options.tlsKeyFile }
    : undefined;
  const pollMs = options.tlsPollMs ?? DEFAULT_TLS_POLL_MS;
  const { endpoints, handle } = createOidcHandler({ options, jwks: deps.jwks, algorithm: deps.algorithm, logger, tls: tlsFiles !== undefined });
  if (options.pathPrefix !== undefined && options.pathPrefix !== '/') {
    logger.info({ scope: LOG_SCOPE.oidc, discovery: endpoints.discovery, jwks: endpoints.jwks },
      `Using path prefix ${JSON.stringify(options.pathPrefix.replace(/\/$/, ''))} for OIDC HTTP endpoints`);
  }
  logger.info({ scope: LOG_SCOPE.oidc }, options.allowedHosts.length > 0
    ? `OIDC server will only accept requests for hosts: [${options.allowedHosts.join(' ')}]`
    : 'OIDC server will accept requests for any host');

  const address = joinHostPort(options.listenAddress, options.port);
  let server: Server | undefined;
  let port: number | undefined;
  let material: TlsMaterial | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let notReadyReason: string | undefined = 'starting';
  const tlsListeners = new Set<() => void>();
  const listeningWaiters: ((port: number) => void)[] = [];

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    try {
      handle(req, res);
    } catch (err) {
      logger.error({ scope: LOG_SCOPE.oidc, err: (err as Error).message }, 'Unexpected error in the OIDC handler');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  };

  const listen = async (): Promise<void> => {
    const created = material === undefined
      ? createHttpServer({ maxHeaderSize: MAX_HEADER_BYTES }, serve)
      : createHttpsServer({ maxHeaderSize: MAX_HEADER_BYTES, key: material.key, cert: material.cert, minVersion: 'TLSv1.2', handshakeTimeout: HTTP_REQUEST_TIMEOUT_MS }, serve);
    created.keepAliveTimeout = 5_000;
    created.maxConnections = HTTP_MAX_CONNECTIONS;
    created.headersTimeout = HTTP_REQUEST_TIMEOUT_MS;
    created.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
    try {
      await new Promise<void>((resolve, reject) => {
        created.once('error', reject);
        created.listen(options.port, options.listenAddress === '' ? undefined : options.listenAddress, () => {
          created.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw new WardenError('ERR_LISTEN_FAILED',
        `cannot listen for OIDC on ${address}: ${(err as Error).message}; choose a free port with --oidc-server-listen-port`, { cause: err });
    }
    if (closed) {
      created.close();
      return;
    }
    server = created;
    port = (created.address() as AddressInfo).port;
    notReadyReason = undefined;
    logger.info({ scope: LOG_SCOPE.oidc, port }, material === undefined
      ? `Starting OIDC HTTP server (insecure) on ${address}`
      : `Starting OIDC HTTP server on ${address}`);
    for (const resolve of listeningWaiters.splice(0)) resolve(port);
  };

  /** Reads both files; undefined while either is missing; throws ERR_OIDC_TLS_INVALID when they do not load. */
  const readTls = async (files: { cert: string; key: string }): Promise<TlsMaterial | undefined> => {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new WardenError('ERR_OIDC_TLS_INVALID', `failed to load TLS certificate and key: ${(err as Error).message}`, { cause: err });
    }
    try {
      createSecureContext({ key, cert });
    } catch (err) {
      throw new WardenError('ERR_OIDC_TLS_INVALID',
        `failed to load TLS certificate and key: ${(err as Error).message}; --oidc-server-tls-cert-file must be a PEM certificate and --oidc-server-tls-key-file its PEM private key`,
        { cause: err });
    }
    return { cert, key, digest: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
  };

  const loaded = (files: { cert: string; key: string }): void => {
    logger.info({ scope: LOG_SCOPE.oidc }, `Loaded TLS certificate from ${files.cert} and key from ${files.key}`);
    for (const listener of tlsListeners) listener();
  };

  const waitingFor = (files: { cert: string; key: string }): void => {
    notReadyReason = 'waiting for the OIDC TLS certificate and key files';
    logger.warn({ scope: LOG_SCOPE.oidc }, `Waiting for TLS certificate and key files to be available: ${files.cert}, ${files.key}`);
  };

  /** One look at the TLS files: start serving once they exist, swap the certificate when they change. */
  const pollTls = async (files: { cert: string; key: string }): Promise<void> => {
    try {
      const next = await readTls(files);
      if (closed) return;
      if (next === undefined) {
        if (server === undefined) waitingFor(files);
      } else if (server === undefined) {
        material = next;
        loaded(files);
        await listen();
      } else if (next.digest !== material?.digest) {
        (server as HttpsServer).setSecureContext({ key: next.key, cert: next.cert, minVersion: 'TLSv1.2' });
        material = next;
        loaded(files);
      }
    } catch (err) {
      notReadyReason = server === undefined ? (err as Error).message : notReadyReason;
      logger.error({ scope: LOG_SCOPE.oidc, code: (err as WardenError).code, err: (err as Error).message },
        server === undefined ? (err as Error).message : `${(err as Error).message}; keeping the certificate in use`);
    }
    if (!closed) {
      timer = setTimeout(() => void pollTls(files), pollMs);
      timer.unref();
    }
  };

  if (tlsFiles === undefined) {
    await listen();
  } else {
    // Files present now must load (a start-up error otherwise); missing ones are waited for.
    material = await readTls(tlsFiles);
    if (material === undefined) {
      waitingFor(tlsFiles);
    } else {
      loaded(tlsFiles);
      await listen();
    }
    timer = setTimeout(() => void pollTls(tlsFiles), pollMs);
    timer.unref();
  }

  return {
    get port() {
      return port;
    },
    get ready() {
      return server !== undefined && !closed;
    },
    get notReadyReason() {
      if (closed) return 'closed';
      return server === undefined ? `OIDC server not ready (${notReadyReason ?? 'starting'})` : undefined;
    },
    listening: () => (port !== undefined ? Promise.resolve(port) : new Promise<number>((resolve) => listeningWaiters.push(resolve))),
    onTlsLoaded: (listener) => {
      tlsListeners.add(listener);
      return () => tlsListeners.delete(listener);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (server === undefined) return;
      logger.info({ scope: LOG_SCOPE.oidc }, 'Shutting down OIDC HTTP server');
      const s = server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeIdleConnections();
      });
    },
  };
}

/** Go's net.JoinHostPort, for log lines. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
