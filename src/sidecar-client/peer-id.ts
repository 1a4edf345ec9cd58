/**
 * Peer authentication by SPIFFE ID instead of hostname (spec 1.7, 2.5): once TLS has verified the
 * chain against the trust anchors, the peer is whoever the leaf's single URI SAN names.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { parseCertificate, type Certificate } from '../core/certificate.js';
import { WardenError } from '../core/errors.js';
import { parseSpiffeId } from '../core/spiffe-id.js';
import { errorText } from './logger.js';

/** Decides whether a peer's SPIFFE ID is acceptable. */
export type PeerAuthorizer = (spiffeId: string) => boolean;

/** What callers may pass to say who the peer must be: an exact ID, a predicate, or anyone. */
export type ExpectedPeer = string | PeerAuthorizer | undefined;

/**
 * The SPIFFE ID of an X.509-SVID, as go-spiffe's `x509svid.IDFromCert` reads it: exactly one URI
 * SAN, which must be a valid SPIFFE ID. `ERR_SPIFFE_ID_INVALID` otherwise.
 */
export function spiffeIdOf(cert: Pick<Certificate, 'uriSans'>): string {
  if (cert.uriSans.length !== 1) {
    throw new WardenError(
      'ERR_SPIFFE_ID_INVALID',
      cert.uriSans.length === 0 ? 'certificate contains no URI SAN' : 'certificate contains more than one URI SAN',
    );
  }
  const id = cert.uriSans[0] as string;
  try {
    parseSpiffeId(id);
  } catch (error) {
    throw new WardenError('ERR_SPIFFE_ID_INVALID', `certificate URI SAN ${JSON.stringify(id)} is not a SPIFFE ID: ${errorText(error)}`, { cause: error });
  }
  return id;
}

/** Turns an `ExpectedPeer` into a predicate; `undefined` accepts any SPIFFE ID. */
export function toAuthorizer(expected: ExpectedPeer): PeerAuthorizer {
  if (expected === undefined) return () => true;
  if (typeof expected === 'string') return (id) => id === expected;
  return expected;
}

/** Describes an expectation for error messages. */
export function describeExpected(expected: ExpectedPeer): string {
  if (expected === undefined) return 'any SPIFFE ID';
  return typeof expected === 'string' ? expected : 'an authorized SPIFFE ID';
}

/**
 * A `checkServerIdentity` for node:tls and grpc-js that ignores the hostname and accepts the peer
 * only when its leaf's SPIFFE ID satisfies `expected`. It runs after TLS verified the chain.
 * Refusals are `WardenError`s with `options.code` (default `ERR_PEER_IDENTITY`); `onMismatch` sees
 * each one (the sentry client uses it to tell "wrong server" from "server down").
 */
export function spiffeServerIdentityCheck(
  expected: ExpectedPeer,
  options: { code?: 'ERR_PEER_IDENTITY' | 'ERR_SENTRY_IDENTITY'; onMismatch?: (error: WardenError) => void } = {},
): (hostname: string, cert: PeerCertificate) => Error | undefined {
  const authorize = toAuthorizer(expected);
  const refuse = (message: string): Error => {
    const error = new WardenError(options.code ?? 'ERR_PEER_IDENTITY', message);
    options.onMismatch?.(error);
    return error;
  };
  return (_hostname, cert) => {
    let id: string;
    try {
      id = spiffeIdOf(parseCertificate(cert.raw));
    } catch (error) {
      return refuse(`the peer's certificate has no usable SPIFFE ID: ${errorText(error)}`);
    }
    if (authorize(id)) return undefined;
    return refuse(`the peer presented ${id}, expected ${describeExpected(expected)}`);
  };
}

/** The SPIFFE ID of the verified peer on an mTLS socket, or `undefined` when it has none. */
export function peerSpiffeId(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw) return undefined;
  try {
    return spiffeIdOf(parseCertificate(cert.raw));
  } catch {
    return undefined;
  }
}
