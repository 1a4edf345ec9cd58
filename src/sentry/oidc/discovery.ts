/**
 * The OIDC discovery document and endpoint paths, as Dapr's Sentry builds them
 * (`pkg/sentry/server/oidc/oidc.go`):
 * - endpoints `/.well-known/openid-configuration` and `/jwks.json`, under `--oidc-path-prefix`
 *   (a prefix of `/` is none; one trailing `/` is dropped). Warden also gives a prefix without a
 *   leading `/` one, where Go's ServeMux would read `api/…` as a host pattern;
 * - `issuer`: `--jwt-issuer`, else `<scheme>://<host>` of the request, where the host is the Host
 *   header, or X-Forwarded-Host when an allow-list without `*` has vetted it, and the scheme is
 *   https when the server has TLS files;
 * - `jwks_uri`: `--oidc-jwks-uri` when given (even empty), else the JWKS path resolved against
 *   the issuer;
 * - fixed fields: response type `id_token`, subject type `public`, scope `openid`, the claims Dapr
 *   lists, and the signing algorithm of the current JWT key.
 * The document is JSON in Go's field order with a trailing newline, and with `<`, `>`, `&`, U+2028
 * and U+2029 escaped as Go's encoder escapes them.
 */
import { posix } from 'node:path';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/jwks.json';

export interface OidcEndpoints {
  discovery: string;
  jwks: string;
}

/** The two endpoint paths for a `--oidc-path-prefix` (undefined: none). */
export function oidcEndpoints(pathPrefix: string | undefined): OidcEndpoints {
  if (pathPrefix === undefined || pathPrefix === '/' || pathPrefix === '') return { discovery: DISCOVERY_PATH, jwks: JWKS_PATH };
  const prefix = pathPrefix.endsWith('/') ? pathPrefix.slice(0, -1) : pathPrefix;
  const rooted = prefix.startsWith('/') ? prefix : `/${prefix}`;
  return { discovery: posix.join(rooted, DISCOVERY_PATH), jwks: posix.join(rooted, JWKS_PATH) };
}

export interface DiscoveryInputs {
  /** `--jwt-issuer`; empty or undefined → from the request. */
  jwtIssuer?: string | undefined;
  /** `--oidc-jwks-uri` when given. */
  jwksUri?: string | undefined;
  jwksPath: string;
  signingAlgorithm: string;
  /** The host the request is for (already chosen between Host and X-Forwarded-Host). */
  host: string;
  /** `https` when the server has TLS files, else `http` (or the request's absolute-form scheme). */
  scheme: string;
}

/** Thrown when the request's host does not make a URL (Dapr: 400 `Invalid host`). */
export class InvalidHostError extends Error {}

/** Builds the document for one request. */
export function discoveryDocument(inputs: DiscoveryInputs): Record<string, unknown> {
  let issuer = inputs.jwtIssuer ?? '';
  let jwksUri = inputs.jwksUri ?? '';
  if (issuer === '' || inputs.jwksUri === undefined) {
    const requestUrl = `${inputs.scheme}://${inputs.host}`;
    if (!isUrl(requestUrl)) throw new InvalidHostError(`invalid host ${JSON.stringify(inputs.host)}`);
    if (issuer === '') issuer = requestUrl;
    if (inputs.jwksUri === undefined) jwksUri = `${schemeAndAuthority(issuer)}${inputs.jwksPath}`;
  }
  return {
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [inputs.signingAlgorithm],
    scopes_supported: ['openid'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'use'],
  };
}

/** JSON as Go's `json.Encoder` writes it: HTML-safe escapes and a trailing newline. */
export function goJson(value: unknown): string {
  return `${JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/**
 * `scheme://authority` of a URL reference, as Go's ResolveReference keeps them when it resolves an
 * absolute path against it (empty for a reference with neither, e.g. an issuer that is not a URL).
 */
function schemeAndAuthority(reference: string): string {
  const match = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?:\/\/[^/?#]*)?/.exec(reference);
  return match?.[0] ?? '';
}

function isUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}
