/**
 * The three PEM texts of a Dapr trust bundle, exactly as stored: `ca.crt` (trust anchors),
 * `issuer.crt` (issuer chain, leaf first) and `issuer.key` (issuer private key).
 * Stores move these texts; `TrustBundle` (bundle.ts) gives them meaning.
 */
export interface BundleTexts {
  ca: string;
  issuerCert: string;
  issuerKey: string;
}
