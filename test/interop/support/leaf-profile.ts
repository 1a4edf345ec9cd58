/**
 * A structural description of a SignCertificate answer, for comparing what two CAs issue for the
 * same request: everything in the leaf except what must differ between two issuances (serial,
 * signature, the validity instants), the validity rules as durations, and the chain and anchors as
 * sent. Two answers with equal profiles are the same certificate profile.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import * as grpc from '@grpc/grpc-js';
import { parseCertificatesPem, type Certificate } from '../../../src/core/certificate.js';
import type { SignCertificateResponse } from '../../../src/wire/sentry-proto.js';

export interface LeafProfile {
  version: 'v3';
  signatureAlgorithmOid: string;
  issuer: string;
  subject: string;
  /** The leaf carries the CSR's public key. */
  keyIsTheCsrs: boolean;
  /** Serial: positive, at most 20 octets (RFC 5280), and at least 64 bits of it random (CA/B BR rule Go follows). */
  serialOk: boolean;
  uriSans: string[];
  dnsSans: string[];
  keyUsage: string[];
  extKeyUsage: string[];
  basicConstraints: string;
  /** Every extension in order: OID, critical flag and the DER of its value (hex), SKI/AKI included. */
  extensions: string[];
  /** notAfter − notBefore, seconds. */
  lifetimeS: number;
  /** How far notBefore lies before the call (seconds, rounded to 10 s: the clock-skew back-dating). */
  backdatedS: number;
  /** The chain after the leaf, as PEM text (trimmed). */
  intermediates: string[];
  /** trust_chain_certificates, as PEM text (trimmed). */
  trustChain: string[];
  /** valid_until equals the leaf's notAfter. */
  validUntilIsNotAfter: boolean;
}

export type Outcome = { ok: true; profile: LeafProfile } | { ok: false; code: string; message: string };

function describeLeaf(leaf: Certificate, csrKey: KeyObject | undefined, calledAt: Date): Omit<LeafProfile, 'intermediates' | 'trustChain' | 'validUntilIsNotAfter'> {
  const serial = Buffer.from(leaf.serialHex.length % 2 === 0 ? leaf.serialHex : `0${leaf.serialHex}`, 'hex');
  const bc = leaf.basicConstraints;
  return {
    version: 'v3',
    signatureAlgorithmOid: leaf.signatureAlgorithmOid,
    issuer: leaf.issuer.text,
    subject: leaf.subject.text,
    keyIsTheCsrs: csrKey === undefined ? false : leaf.spkiDer.equals(createPublicKey(csrKey).export({ format: 'der', type: 'spki' })),
    serialOk: serial.length > 0 && serial.length <= 20 && (serial[0]! & 0x80) === 0 && serial.length >= 8,
    uriSans: leaf.uriSans,
    dnsSans: leaf.dnsSans,
    keyUsage: [...(leaf.keyUsage ?? [])].sort(),
    extKeyUsage: leaf.extKeyUsage ?? [],
    basicConstraints: bc ? `ca=${bc.ca}${bc.pathLen === undefined ? '' : ` pathLen=${bc.pathLen}`}${bc.critical ? ' critical' : ''}` : 'absent',
    extensions: leaf.extensions.map((e) => `${e.oid}${e.critical ? ' critical' : ''} ${e.value.toString('hex')}`),
    lifetimeS: (leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000,
    backdatedS: Math.round((calledAt.getTime() - leaf.notBefore.getTime()) / 10_000) * 10,
  };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function profileOf(res: SignCertificateResponse, csrKey: KeyObject | undefined, calledAt: Date): LeafProfile {
  const chainText = res.workload_certificate.toString('utf8');
  const blocks = chainText.match(PEM_BLOCK) ?? [];
  const leaf = parseCertificatesPem(blocks[0] ?? '')[0]!;
  const validUntilMs = Number(res.valid_until.seconds) * 1000 + Math.floor((res.valid_until.nanos ?? 0) / 1e6);
  return {
    ...describeLeaf(leaf, csrKey, calledAt),
    intermediates: blocks.slice(1).map((b) => b.trim()),
    trustChain: res.trust_chain_certificates.map((b) => b.toString('utf8').trim()),
    validUntilIsNotAfter: validUntilMs === leaf.notAfter.getTime(),
  };
}

export async function outcomeOf(call: Promise<SignCertificateResponse>, csrKey: KeyObject | undefined): Promise<Outcome> {
  const calledAt = new Date();
  try {
    return { ok: true, profile: profileOf(await call, csrKey, calledAt) };
  } catch (error) {
    const e = error as ServiceError;
    if (typeof e.code !== 'number') throw error;
    return { ok: false, code: grpc.status[e.code] ?? String(e.code), message: e.details };
  }
}

/** Field-by-field differences between two outcomes, as `path: a ≠ b` lines (empty when equal). */
export function diffOutcomes(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const lines: string[] = [];
    for (let k = 0; k < Math.max(a.length, b.length); k++) lines.push(...diffOutcomes(a[k], b[k], `${path}[${k}]`));
    return lines;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffOutcomes((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return Object.is(a, b) ? [] : [`${path}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`];
}
