/**
 * The PEM texts of a Dapr trust bundle, exactly as stored: `ca.crt` (trust anchors),
 * `issuer.crt` (issuer chain, leaf first) and `issuer.key` (issuer private key), plus, when the
 * sentry issues JWT-SVIDs, `jwt.key` (PEM private key) and `jwks.json` (public JWKS), always both
 * or neither. Stores move these texts; `TrustBundle` (bundle.ts) gives them meaning.
 */
export interface BundleTexts {
  ca: string;
  issuerCert: string;
  issuerKey: string;
  /** `jwt.key`; set together with `jwks`. A write without them keeps the stored JWT files. */
  jwtKey?: string | undefined;
  /** `jwks.json`; set together with `jwtKey`. */
  jwks?: string | undefined;
}

/** The X.509 parts, which every bundle has. */
export const X509_PARTS = ['ca', 'issuerCert', 'issuerKey'] as const;
/** The JWT parts, present together or not at all. */
export const JWT_PARTS = ['jwtKey', 'jwks'] as const;

/** True when the texts carry the JWT pair. */
export function hasJwtTexts(texts: Partial<BundleTexts>): texts is BundleTexts & { jwtKey: string; jwks: string } {
  return texts.jwtKey !== undefined && texts.jwks !== undefined;
}
