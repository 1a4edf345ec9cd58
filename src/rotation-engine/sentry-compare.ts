/**
 * What a sentry probe (sentry-probe.ts) can report, and how an observation compares with the bundle
 * the sentry should be running on. Kept apart from the probe so that using it does not load gRPC.
 */
import type { TrustBundle } from '../core/bundle.js';
import { certificatesToPem, type Certificate } from '../core/certificate.js';
import { verifyChainToAnchors } from '../sidecar-client/verify-chain.js';

/** Where to find a sentry and how to authenticate it. */
export interface SentryProbeTarget {
  /** `host:port`. */
  address: string;
  /** Trust domain of the sentry's SPIFFE ID (default `localhost`). */
  controlPlaneTrustDomain?: string;
  /** Namespace of the sentry (default `default`). */
  controlPlaneNamespace?: string;
  /** Deadline of the call (default 3 s). */
  deadlineMs?: number;
}

/** What one call showed. */
export interface SentryObservation {
  /** The signed chain: leaf first, then the issuer chain. */
  chain: Certificate[];
  /** `trust_chain_certificates`. */
  trustAnchors: Certificate[];
}

export type ProbeResult =
  | { ok: true; observation: SentryObservation }
  | {
      ok: false;
      /** unreachable: no answer; identity: TLS or SPIFFE ID check failed; refused: a gRPC error status; invalid: bad response. */
      failure: 'unreachable' | 'identity' | 'refused' | 'invalid';
      /** gRPC status name, when the sentry answered with one. */
      status?: string;
      message: string;
    };

/**
 * Why `observation` does not show the sentry running on `expected`: it must sign with the
 * expected issuer, hand out exactly the expected anchors, and its chain must verify against them
 * at `now`. An empty list means it does.
 */
export function compareWithBundle(observation: SentryObservation, expected: TrustBundle, now: Date): string[] {
  const reasons: string[] = [];
  const signer = observation.chain[1];
  if (signer === undefined || !signer.der.equals(expected.issuer.der)) {
    reasons.push(`it signs with ${signer === undefined ? 'no issuer certificate' : describe(signer)}, not with the expected issuer ${describe(expected.issuer)}`);
  }
  const served = new Set(observation.trustAnchors.map((c) => c.der.toString('base64')));
  const wanted = new Set(expected.anchors.map((c) => c.der.toString('base64')));
  const same = served.size === wanted.size && [...wanted].every((d) => served.has(d));
  if (!same) {
    reasons.push(`it hands out ${observation.trustAnchors.length} trust anchor(s) (${observation.trustAnchors.map(describe).join('; ')}), ` +
      `not the expected ${expected.anchors.length} (${expected.anchors.map(describe).join('; ')})`);
  }
  try {
    verifyChainToAnchors(observation.chain, expected.anchors, now);
  } catch (error) {
    reasons.push(`its chain does not verify against the expected anchors: ${(error as Error).message}`);
  }
  return reasons;
}

/** The anchors of `bundle` as PEM, to trust when probing for it. */
export function anchorsPemOf(bundle: TrustBundle): string {
  return certificatesToPem(bundle.anchors);
}

function describe(cert: Certificate): string {
  const subject = cert.subject.text === '' ? '(empty subject)' : cert.subject.text;
  return `${subject} serial ${cert.serialHex.slice(0, 16)} until ${cert.notAfter.toISOString()}`;
}
