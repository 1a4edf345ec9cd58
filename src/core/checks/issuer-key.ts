/** Checks that issuer.key belongs to the issuer certificate. */
import type { TrustBundle } from '../bundle.js';
import { publicKeysEqual } from '../keys.js';
import { errorFinding, type Finding } from './types.js';

/**
 * ERR_BUNDLE_KEY_MISMATCH: the public half of issuer.key must equal the issuer certificate's key,
 * or nothing Sentry signs would verify; Dapr: `issuer key does not match issuer certificate` (spec 2.7).
 */
export function checkIssuerKeyMatches(bundle: TrustBundle): Finding[] {
  let equal: boolean;
  try {
    equal = publicKeysEqual(bundle.issuerKey, bundle.issuer.publicKey);
  } catch {
    equal = false; // a key whose public half cannot be exported matches nothing
  }
  if (equal) return [];
  return [errorFinding('ERR_BUNDLE_KEY_MISMATCH', 'issuer.key',
    'issuer key does not match issuer certificate: issuer.key is not the private key of the first certificate ' +
    'in issuer.crt. Restore the matching pair (the key the issuer was issued for), or run ' +
    '`warden mtls renew-certificate` to issue a new issuer and key.')];
}
