/**
 * The JWT signing key (`jwt.key` + `jwks.json`, when the bundle has them). Whether the pair is
 * well-formed is decided when the bundle is parsed (jwt-key.ts: ERR_JWT_KEY_INVALID,
 * ERR_JWKS_INVALID, ERR_JWT_ALGORITHM). Its due date is the issuer's (jwt-rotation.ts), so the
 * issuer's expiry findings cover it; this check says so, and names retired keys that are still
 * published although every token they signed has expired.
 */
import { isExpiredRetired, jwtKeyDueAt, retiredUntil } from '../jwt-rotation.js';
import type { Check } from './types.js';

export const checkJwtKey: Check = (bundle, now) => {
  const jwt = bundle.jwt;
  if (jwt === undefined) return [];
  const findings: ReturnType<Check> = [{
    code: 'INFO_JWT_KEY',
    severity: 'info',
    subject: 'jwt.key',
    message: `JWT signing key ${jwt.keyId} (${jwt.algorithm}) is renewed with the issuer, so it is due when the issuer is ` +
      `(${jwtKeyDueAt(bundle.issuer).toISOString()}); jwks.json publishes ${jwt.jwks.keys.length} key(s)`,
  }];
  for (const key of jwt.jwks.keys) {
    if (!isExpiredRetired(key, now)) continue;
    findings.push({
      code: 'WARN_JWT_RETIRED_KEY_EXPIRED',
      severity: 'warning',
      subject: 'jwks.json',
      message: `retired key ${String(key.kid)} is still published, though every token it signed expired by ` +
        `${new Date(retiredUntil(key)! * 1000).toISOString()}; the next "warden mtls renew-certificate" drops it (harmless until then)`,
    });
  }
  return findings;
};
