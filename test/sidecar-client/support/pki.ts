/**
 * A test CA for the identity tests, built with Warden's own core (the sentry's signer), plus
 * helpers to mint leaves with any SPIFFE ID, validity and issuing CA.
 */
import type { KeyObject } from 'node:crypto';
import { generateTrustBundle, type TrustBundle } from '../../../src/core/bundle.js';
import { certificatesToPem, parseCertificatesPem, type Certificate } from '../../../src/core/certificate.js';
import { FixedClock } from '../../../src/core/clock.js';
import { generatePrivateKey, privateKeyToPkcs8Pem } from '../../../src/core/keys.js';
import { WorkloadSigner } from '../../../src/core/sign.js';
import type { IssuedIdentity } from '../../../src/sidecar-client/sentry-client.js';
import { parseTrustAnchors, type TrustAnchors } from '../../../src/sidecar-client/trust-anchors.js';

export interface TestCa {
  bundle: TrustBundle;
  anchorsPem: string;
  anchors: TrustAnchors;
}

/** A root + issuer valid for a year around `at` (default: now). */
export function createTestCa(opts: { trustDomain?: string; at?: Date; keyAlgorithm?: 'ed25519' | 'ecdsa-p256' } = {}): TestCa {
  const { bundle } = generateTrustBundle({
    clock: new FixedClock(opts.at ?? new Date()),
    trustDomain: opts.trustDomain ?? 'localhost',
    namespace: 'default',
    keyAlgorithm: opts.keyAlgorithm ?? 'ed25519',
  });
  const anchorsPem = certificatesToPem(bundle.anchors);
  return { bundle, anchorsPem, anchors: parseTrustAnchors(anchorsPem, 'test CA') };
}

export interface IssuedLeaf {
  key: KeyObject;
  keyPem: string;
  chain: Certificate[];
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** Signs a leaf for `spiffeId` issued at `issuedAt` (default now) valid `ttlMs` (default 1 h). */
export async function issueLeaf(
  ca: TestCa,
  opts: { spiffeId: string; issuedAt?: Date; ttlMs?: number; skewMs?: number; key?: KeyObject; dnsNames?: string[] },
): Promise<IssuedLeaf> {
  const key = opts.key ?? generatePrivateKey('ed25519');
  const signer = new WorkloadSigner(ca.bundle, {
    clock: new FixedClock(opts.issuedAt ?? new Date()),
    workloadTtlMs: opts.ttlMs ?? 3_600_000,
    clockSkewMs: opts.skewMs ?? 60_000,
  });
  const signed = await signer.sign({ publicKey: key, spiffeId: opts.spiffeId, dnsNames: opts.dnsNames ?? [] });
  const chain = parseCertificatesPem(signed.chainPem);
  return { key, keyPem: privateKeyToPkcs8Pem(key), chain, chainPem: signed.chainPem, notBefore: signed.notBefore, notAfter: signed.notAfter };
}

/** An `IssuedIdentity` as the sentry client would return it. */
export async function issueIdentity(
  ca: TestCa,
  opts: { spiffeId: string; issuedAt: Date; ttlMs: number; skewMs: number },
): Promise<IssuedIdentity> {
  const leaf = await issueLeaf(ca, opts);
  return {
    privateKey: leaf.key,
    certChain: leaf.chain,
    spiffeId: opts.spiffeId,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    validUntil: leaf.notAfter,
    trustAnchors: ca.anchors,
  };
}
