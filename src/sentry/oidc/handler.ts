/**
 * The OIDC server's request handling, as Dapr's (`pkg/sentry/server/oidc/oidc.go`) answers:
 * - the two endpoints only (oidc/discovery.ts); any other path → 404 `404 page not found`;
 * - the allow-list (`--oidc-allowed-hosts`) before each endpoint: the host is X-Forwarded-Host
 *   when present, else Host; allowed when the list is empty, holds `*`, holds the host, or holds
 *   the host without its port; else 403 `Forbidden: unauthorized domain` and a warning;
 * - GET only (HEAD too is 405 `Method not allowed`, as in Dapr);
 * - no JWT material in the bundle → 404 `JWKS not available` / `OIDC configuration not available`;
 * - 200 with `Content-Type: application/json` and `Cache-Control: public, max-age=3600`.
 * Errors are plain text as Go's `http.Error` writes them (`text/plain; charset=utf-8`, nosniff).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { LOG_SCOPE } from '../log-scopes.js';
import { discoveryDocument, goJson, InvalidHostError, oidcEndpoints, type OidcEndpoints } from './discovery.js';
import type { OidcServerOptions } from './options.js';

/** The JWKS to serve now (the current bundle's), or undefined when there is none. */
export type JwksProvider = () => { keys: JsonWebKeyLike[] } | undefined;
/** The JWT signing algorithm of the current bundle, or undefined (then the configured one). */
export type AlgorithmProvider = () => string | undefined;
type JsonWebKeyLike = object;

export interface OidcHandlerDeps {
  options: OidcServerOptions;
  jwks: JwksProvider;
  algorithm?: AlgorithmProvider | undefined;
  logger: Logger;
  /** True when the server has TLS files (the computed issuer is then https). */
  tls: boolean;
}

export function createOidcHandler(deps: OidcHandlerDeps): { endpoints: OidcEndpoints; handle(req: IncomingMessage, res: ServerResponse): void } {
  const endpoints = oidcEndpoints(deps.options.pathPrefix);
  const allowed = deps.options.allowedHosts;
  const vetted = allowed.length > 0 && !allowed.includes('*');

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = parseTarget(req.url ?? '/');
    if (target.path !== endpoints.jwks && target.path !== endpoints.discovery) {
      goError(res, 404, '404 page not found');
      return;
    }
    const forwarded = req.headersDistinct['x-forwarded-host']?.[0];
    const host = req.headers.host ?? '';
    if (allowed.length > 0 && !hostAllowed(forwarded || host, allowed)) {
      deps.logger.warn({ scope: LOG_SCOPE.oidc }, `Request from unauthorized domain: ${forwarded || host}`);
      goError(res, 403, 'Forbidden: unauthorized domain');
      return;
    }
    if (req.method !== 'GET') {
      goError(res, 405, 'Method not allowed');
      return;
    }
    const jwks = deps.jwks();
    if (jwks === undefined) {
      deps.logger.error({ scope: LOG_SCOPE.oidc }, 'JWKS not available in bundle');
      goError(res, 404, target.path === endpoints.jwks ? 'JWKS not available' : 'OIDC configuration not available');
      return;
    }
    if (target.path === endpoints.jwks) {
      sendJson(res, JSON.stringify(jwks));
      return;
    }
    try {
      sendJson(res, goJson(discoveryDocument({
        jwtIssuer: deps.options.jwtIssuer,
        jwksUri: deps.options.jwksUri,
        jwksPath: endpoints.jwks,
        signingAlgorithm: deps.algorithm?.() ?? deps.options.signingAlgorithm,
        // X-Forwarded-Host only once a concrete allow-list entry vetted it (Dapr's CWE-346 fix).
        host: vetted && forwarded ? forwarded : host,
        scheme: target.scheme ?? (deps.tls ? 'https' : 'http'),
      })));
    } catch (err) {
      if (!(err instanceof InvalidHostError)) throw err;
      deps.logger.error({ scope: LOG_SCOPE.oidc }, `Failed to parse host '${host}': ${err.message}`);
      goError(res, 400, 'Invalid host');
    }
  };
  return { endpoints, handle };
}

/** Dapr's allow-list match: exact, `*`, or the host without its port. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.includes('*') || allowed.includes(host)) return true;
  const bare = hostWithoutPort(host);
  return bare !== undefined && allowed.includes(bare);
}

/** Go's net.SplitHostPort host part, or undefined when `host` has no port. */
function hostWithoutPort(host: string): string | undefined {
  const bracketed = /^\[([^\]]*)\]:[^:]*$/.exec(host);
  if (bracketed) return bracketed[1];
  const colon = host.lastIndexOf(':');
  if (colon < 0 || host.indexOf(':') !== colon || isIPv6(host)) return undefined;
  return host.slice(0, colon);
}

/** The request target's path, and its scheme when it is in absolute form (`GET http://h/p`). */
function parseTarget(url: string): { path: string; scheme?: string | undefined } {
  const absolute = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/[^/?#]*([^?#]*)/.exec(url);
  if (absolute) return { path: absolute[2] || '/', scheme: absolute[1]!.toLowerCase() };
  const end = url.search(/[?#]/);
  return { path: end < 0 ? url : url.slice(0, end) };
}

function sendJson(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
  res.end(body);
}

/** Go's http.Error. */
function goError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(`${message}\n`);
}
