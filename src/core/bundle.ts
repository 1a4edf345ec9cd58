/**
 * The trust bundle: trust anchors (`ca.crt`), issuer chain (`issuer.crt`, leaf first) and issuer key
 * (`issuer.key`). Parsing here is structural only; whether the bundle is *consistent* (chain order,
 * key match, validity, …) is the check chain's job (checks/), so that `verify`, the sentry's start-up
 * and reload all report the same findings.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { hasJwtTexts, type BundleTexts } from './bundle-texts.js';
import { resolveTrustPath } from './checks/trust-path.js';
import { certificatesToPem, isSelfSigned, parseCertificate, parseCertificatesPem, type Certificate } from './certificate.js';
import type { Clock } from './clock.js';
import { WardenError } from './errors.js';
import { jwtMaterialToTexts, parseJwtMaterial, type JwtMaterial, type JwtSettings, type JwtTexts } from './jwt-key.js';
import { generatePrivateKey, keyAlgorithmOf, parsePrivateKeyPem, privateKeyToPkcs8Pem } from './keys.js';
import { buildIssuerCertificate, buildRootCertificate, profileForKeyAlgorithm } from './profile.js';
import { randomSerials, type SerialSource } from './serial.js';

export const DEFAULT_CA_VALIDITY_MS = 365 * 24 * 3600 * 1000;
export const DEFAULT_CLOCK_SKEW_MS = 15 * 60 * 1000;

function parsePart<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new WardenError('ERR_BUNDLE_INVALID', `${file}: ${message}`, { cause: err });
  }
}

export class TrustBundle {
  constructor(
    readonly anchors: Certificate[],
    readonly issuerChain: Certificate[],
    readonly issuerKey: KeyObject,
    /**
     * The JWT-SVID signing material (`jwt.key` + `jwks.json`), when the bundle has it. `jwks` is
     * the public document as served, retired keys still published included (jwt-rotation.ts).
     */
    readonly jwt?: { signingKey: KeyObject; keyId: string; algorithm: string; jwks: { keys: JsonWebKey[] } },
    /** The JWT texts `jwt` was parsed from: written back byte for byte while `jwt` is unchanged. */
    private readonly jwtSource?: JwtTexts,
  ) {
    if (anchors.length === 0 || issuerChain.length === 0) {
      throw new WardenError('ERR_BUNDLE_INVALID', 'a trust bundle needs at least one trust anchor and one issuer certificate');
    }
  }

  /**
   * Parses the texts. A trailing self-signed certificate in `issuer.crt` (the root) is dropped
   * (spec 2.7). The JWT pair, when present, is checked as Dapr's Sentry checks it on load
   * (jwt-key.ts); `jwtSettings` are the sentry's `--jwt-key-id` and `--jwt-signing-algorithm`.
   */
  static fromTexts(texts: BundleTexts, jwtSettings?: JwtSettings): TrustBundle {
    const anchors = parsePart('ca.crt', () => parseCertificatesPem(texts.ca));
    const chain = parsePart('issuer.crt', () => parseCertificatesPem(texts.issuerCert));
    const issuerKey = parsePart('issuer.key', () => parsePrivateKeyPem(texts.issuerKey));
    while (chain.length > 1 && isSelfSigned(chain[chain.length - 1]!)) chain.pop();
    if (!hasJwtTexts(texts)) return new TrustBundle(anchors, chain, issuerKey);
    const jwtTexts = { jwtKey: texts.jwtKey, jwks: texts.jwks };
    return new TrustBundle(anchors, chain, issuerKey, parseJwtMaterial(jwtTexts, jwtSettings), jwtTexts);
  }

  get issuer(): Certificate {
    return this.issuerChain[0]!;
  }

  /**
   * The anchor the issuer chains to, found as Go's Verify finds it (checks/trust-path.ts), so this
   * and the checks always name the same root; the first anchor when none matches (the checks report that).
   */
  get root(): Certificate {
    const path = resolveTrustPath(this);
    return this.anchors[path?.anchorIndex ?? 0]!;
  }

  /** The texts as Warden writes them: anchors re-encoded without comments, key as PKCS#8. */
  toTexts(): BundleTexts {
    return {
      ca: certificatesToPem(this.anchors),
      issuerCert: certificatesToPem(this.issuerChain),
      issuerKey: privateKeyToPkcs8Pem(this.issuerKey),
      ...(this.jwt === undefined ? {} : (this.jwtSource ?? jwtMaterialToTexts(this.jwt))),
    };
  }

  /** A copy with other anchors (rotation adds and removes roots around the same issuer). */
  withAnchors(anchors: Certificate[]): TrustBundle {
    return new TrustBundle(anchors, this.issuerChain, this.issuerKey, this.jwt, this.jwtSource);
  }

  /** A copy with other JWT material (or none). */
  withJwt(jwt: JwtMaterial | undefined): TrustBundle {
    return new TrustBundle(this.anchors, this.issuerChain, this.issuerKey, jwt);
  }
}

export interface GenerateBundleOptions {
  clock: Clock;
  trustDomain: string;
  /** Namespace in the issuer's subject (Sentry uses its NAMESPACE env, default `default`). */
  namespace: string;
  keyAlgorithm?: 'ed25519' | 'ecdsa-p256';
  validityMs?: number;
  clockSkewMs?: number;
  /** Keep an existing root key (Ed25519, P-256, P-384 or RSA) so chains still verify against the old root. */
  rootKey?: KeyObject;
  /** Normally generated; injected by golden tests. */
  issuerKey?: KeyObject;
  /** false: the issuer without AKI, as Dapr's sentry generates it (buildIssuerCertificate). Default true. */
  issuerAuthorityKeyId?: boolean;
  serials?: SerialSource;
}

/** A fresh root and issuer as Sentry generates them (spec 2.1, 2.2), with the root key returned to the caller. */
export function generateTrustBundle(opts: GenerateBundleOptions): { bundle: TrustBundle; rootKey: KeyObject } {
  const keyAlgorithm = opts.keyAlgorithm ?? 'ed25519';
  const profile = profileForKeyAlgorithm(keyAlgorithm);
  const serials = opts.serials ?? randomSerials;
  const now = opts.clock.now().getTime();
  const validity = {
    notBefore: new Date(now - (opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)),
    notAfter: new Date(now + (opts.validityMs ?? DEFAULT_CA_VALIDITY_MS)),
  };
  const rootKey = opts.rootKey ?? generatePrivateKey(keyAlgorithm);
  if (rootKey.type !== 'private') throw new WardenError('ERR_KEY_INVALID', 'the root key must be a private key');
  keyAlgorithmOf(rootKey);
  const root = parseCertificate(buildRootCertificate({ key: rootKey, trustDomain: opts.trustDomain, serial: serials(), validity, profile }));
  const issuerKey = opts.issuerKey ?? generatePrivateKey(keyAlgorithm);
  const issuer = parseCertificate(buildIssuerCertificate({
    issuerKey, root, rootKey, trustDomain: opts.trustDomain, namespace: opts.namespace, serial: serials(), validity, profile,
    authorityKeyId: opts.issuerAuthorityKeyId ?? true,
  }));
  return { bundle: new TrustBundle([root], [issuer], issuerKey), rootKey };
}
