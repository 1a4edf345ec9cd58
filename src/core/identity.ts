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
  if (!isTrustDomainName(idOrName)) throw tdError(ERR_TD_CHAR);
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
  const rest = id.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  if (!isTrustDomainName(trustDomain)) throw tdError(ERR_TD_CHAR);
  if (trustDomain === '') throw tdError(ERR_TD_MISSING);
  const path = slash === -1 ? '' : rest.slice(slash);
  const problem = pathProblem(path);
  if (problem !== undefined) throw tdError(problem);
  return { trustDomain, path };
}

/**
 * go-spiffe `FromSegments(td, "ns", namespace, id)`: `spiffe://<td>/ns/<namespace>/<id>`. Each
 * segment must be non-empty, not `.`/`..`, and only `[A-Za-z0-9._-]`; `ERR_SPIFFE_ID_INVALID`.
 */
export function buildSpiffeId(trustDomain: string, namespace: string, id: string): string {
  if (trustDomain === '') throw new WardenError('ERR_SPIFFE_ID_INVALID', ERR_TD_MISSING);
  if (!isTrustDomainName(trustDomain)) throw new WardenError('ERR_SPIFFE_ID_INVALID', ERR_TD_CHAR);
  for (const segment of ['ns', namespace, id]) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) {
      throw new WardenError('ERR_SPIFFE_ID_INVALID', `invalid path segment ${JSON.stringify(segment)}: ${problem}`);
    }
  }
  return `${SPIFFE_SCHEME}${trustDomain}/ns/${namespace}/${id}`;
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
