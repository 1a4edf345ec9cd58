/**
 * SPIFFE identities as Dapr's Sentry builds and checks them (spec 1.5, 2.3, 2.4). Pure: no I/O.
 *
 * Messages are Dapr's and go-spiffe's texts, byte for byte, because clients and operators grep for
 * them; codes are Warden's (`ERR_REQUEST_INVALID`, `ERR_TRUST_DOMAIN_INVALID`, `ERR_SPIFFE_ID_INVALID`).
 */
import { WardenError } from './errors.js';

/** The app IDs Dapr's control-plane services request (spec 1.2). */
export const CONTROL_PLANE_IDS = [
  'dapr-operator',
  'dapr-placement',
  'dapr-injector',
  'dapr-sentry',
  'dapr-scheduler',
] as const;

export type ControlPlaneId = (typeof CONTROL_PLANE_IDS)[number];

/** Trust domain used when a request leaves `trust_domain` empty (spec 1.5). */
export const DEFAULT_REQUEST_TRUST_DOMAIN = 'public';

/** The fields of a SignCertificate request the common rules look at. */
export interface SignRequestFields {
  id: string;
  namespace: string;
  trustDomain: string;
  /** The raw `certificate_signing_request` bytes; only emptiness matters here. */
  csr: Uint8Array;
}

const SPIFFE_SCHEME = 'spiffe://';

// go-spiffe v2 error texts (spiffeid/errors.go).
const ERR_TD_CHAR = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
const ERR_TD_MISSING = 'trust domain is missing';
const ERR_EMPTY = 'cannot be empty';
const ERR_WRONG_SCHEME = 'scheme is missing or invalid';
const ERR_SEGMENT_CHAR = 'path segment characters are limited to letters, numbers, dots, dashes, and underscores';
const ERR_DOT_SEGMENT = 'path cannot contain dot segments';
const ERR_EMPTY_SEGMENT = 'path cannot contain empty segments';
const ERR_NO_LEADING_SLASH = 'path must have a leading slash';
const ERR_TRAILING_SLASH = 'path cannot have a trailing slash';
// Warden's additions, in go-spiffe's style (go-spiffe has no such rules; see isTrustDomainName).
const ERR_TD_EMPTY_LABEL = 'trust domain cannot have empty labels (a leading, trailing or double dot, as in "..")';
const ERR_TD_TOO_LONG = 'trust domain cannot be longer than 255 bytes';

/** SPIFFE-ID §2.3: a trust domain is a URI host, at most 255 bytes. */
export const MAX_TRUST_DOMAIN_BYTES = 255;
/** SPIFFE-ID §2.3: implementations need not support, and should not generate, longer SPIFFE IDs. */
export const MAX_SPIFFE_ID_BYTES = 2048;

/**
 * Dapr's common request rules (`validator/internal/common.go`): all violations of the id, CSR and
 * namespace rules are joined with newlines (Go `errors.Join`) after the prefix `invalid request: `
 * and thrown as `ERR_REQUEST_INVALID`. Only then is the trust domain parsed (empty → `public`); its
 * error is thrown unprefixed as `ERR_TRUST_DOMAIN_INVALID`. Returns the trust domain name.
 */
export function validateSignRequest(req: SignRequestFields): string {
  const problems: string[] = [];
  if (req.id === '') problems.push('parameter app-id cannot be empty');
  else if (req.id.includes('.')) problems.push('parameter app-id cannot contain dots');
  // Go's len() counts bytes, not characters.
  if (Buffer.byteLength(req.id, 'utf8') > 64) problems.push('app ID must be 64 characters or less');
  if (req.csr.length === 0) problems.push('CSR is required');
  if (req.namespace === '') problems.push('namespace is required');
  if (problems.length > 0) {
    throw new WardenError('ERR_REQUEST_INVALID', `invalid request: ${problems.join('\n')}`);
  }
  return parseTrustDomain(req.trustDomain === '' ? DEFAULT_REQUEST_TRUST_DOMAIN : req.trustDomain);
}

/**
 * go-spiffe `TrustDomainFromString`: a bare name of `[a-z0-9._-]`, or anything containing `:/`
 * parsed as a SPIFFE ID whose trust domain is returned. `ERR_TRUST_DOMAIN_INVALID` otherwise.
 */
export function parseTrustDomain(idOrName: string): string {
  if (idOrName === '') throw tdError(ERR_TD_MISSING);
  if (idOrName.includes(':/')) return parseSpiffeId(idOrName).trustDomain;
  const problem = trustDomainProblem(idOrName);
  if (problem !== undefined) throw tdError(problem);
  return idOrName;
}

/** A parsed SPIFFE ID: `spiffe://<trustDomain><path>`, path empty or `/seg/seg`. */
export interface SpiffeId {
  trustDomain: string;
  path: string;
}

/** go-spiffe `FromString`. Errors are `ERR_TRUST_DOMAIN_INVALID` (with go-spiffe's text). */
export function parseSpiffeId(id: string): SpiffeId {
  if (id === '') throw tdError(ERR_EMPTY);
  if (!id.startsWith(SPIFFE_SCHEME)) throw tdError(ERR_WRONG_SCHEME);
  if (Buffer.byteLength(id, 'utf8') > MAX_SPIFFE_ID_BYTES) throw tdError(spiffeIdTooLong(id));
  const rest = id.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  if (!isTrustDomainName(trustDomain)) throw tdError(ERR_TD_CHAR);
  if (trustDomain === '') throw tdError(ERR_TD_MISSING);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) throw tdError(tdProblem);
  const path = slash === -1 ? '' : rest.slice(slash);
  const problem = pathProblem(path);
  if (problem !== undefined) throw tdError(problem);
  return { trustDomain, path };
}

/**
 * go-spiffe `FromSegments(td, "ns", namespace, id)`: `spiffe://<td>/ns/<namespace>/<id>`. Each
 * segment must be non-empty, not `.`/`..`, and only `[A-Za-z0-9._-]`; `ERR_SPIFFE_ID_INVALID`.
 *
 * Warden addition: the whole ID is at most 2,048 bytes (SPIFFE-ID §2.3; go-spiffe and Dapr do not
 * check, so Dapr signs any length). The request namespace is unbounded, so this is where a long one
 * is caught; the sentry reports it as it reports every identity Dapr cannot build, after the CSR
 * checks: INTERNAL "failed to sign certificate" (spec 1.4 step 8, Dapr's SignIdentity error path).
 */
export function buildSpiffeId(trustDomain: string, namespace: string, id: string): string {
  if (trustDomain === '') throw new WardenError('ERR_SPIFFE_ID_INVALID', ERR_TD_MISSING);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) throw new WardenError('ERR_SPIFFE_ID_INVALID', tdProblem);
  for (const segment of ['ns', namespace, id]) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) {
      throw new WardenError('ERR_SPIFFE_ID_INVALID', `invalid path segment ${JSON.stringify(segment)}: ${problem}`);
    }
  }
  const spiffeId = `${SPIFFE_SCHEME}${trustDomain}/ns/${namespace}/${id}`;
  // Segments are ASCII (checked above): characters are bytes.
  if (spiffeId.length > MAX_SPIFFE_ID_BYTES) throw new WardenError('ERR_SPIFFE_ID_INVALID', spiffeIdTooLong(spiffeId));
  return spiffeId;
}

/**
 * DNS SANs Sentry adds for control-plane identities (spec 2.4), only when the request namespace is
 * Sentry's own. Every other request gets none.
 */
export function controlPlaneDnsNames(
  id: string,
  requestNamespace: string,
  sentryNamespace: string,
  clusterDomain: string,
): string[] {
  if (requestNamespace !== sentryNamespace) return [];
  const ns = sentryNamespace;
  switch (id) {
    case 'dapr-injector':
      return [`dapr-sidecar-injector.${ns}.svc`];
    case 'dapr-operator':
      return [`dapr-webhook.${ns}.svc`];
    case 'dapr-scheduler':
      return [0, 1, 2].map((i) => `dapr-scheduler-server-${i}.dapr-scheduler-server.${ns}.svc.${clusterDomain}`);
    default:
      return [];
  }
}

/** True when `id` is one of the control-plane app IDs. */
export function isControlPlaneId(id: string): id is ControlPlaneId {
  return (CONTROL_PLANE_IDS as readonly string[]).includes(id);
}

function isTrustDomainName(name: string): boolean {
  return /^[a-z0-9._-]*$/.test(name);
}

/**
 * What is wrong with a non-empty trust domain name, if anything. go-spiffe checks only the
 * characters, so Dapr accepts `..` or a 10 KB name; Warden also applies SPIFFE-ID §2.1/§2.3: the
 * trust domain is the URI's host, at most 255 bytes, and a host has no empty labels (`.`, `..`,
 * `a..b`, `.a`, `a.`), which URI and DNS tools would read differently (`spiffe://../ns/x/y`).
 */
function trustDomainProblem(name: string): string | undefined {
  if (!isTrustDomainName(name)) return ERR_TD_CHAR;
  if (name.length > MAX_TRUST_DOMAIN_BYTES) return ERR_TD_TOO_LONG;
  if (name.startsWith('.') || name.endsWith('.') || name.includes('..')) return ERR_TD_EMPTY_LABEL;
  return undefined;
}

function spiffeIdTooLong(id: string): string {
  return `SPIFFE ID cannot be longer than ${MAX_SPIFFE_ID_BYTES} bytes (this one is ${Buffer.byteLength(id, 'utf8')})`;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return ERR_EMPTY_SEGMENT;
  if (segment === '.' || segment === '..') return ERR_DOT_SEGMENT;
  if (!/^[A-Za-z0-9._-]+$/.test(segment)) return ERR_SEGMENT_CHAR;
  return undefined;
}

function pathProblem(path: string): string | undefined {
  if (path === '') return undefined;
  if (!path.startsWith('/')) return ERR_NO_LEADING_SLASH;
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    if (segment === '') return i === segments.length - 1 ? ERR_TRAILING_SLASH : ERR_EMPTY_SEGMENT;
    const problem = segmentProblem(segment);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function tdError(message: string): WardenError {
  return new WardenError('ERR_TRUST_DOMAIN_INVALID', message);
}
