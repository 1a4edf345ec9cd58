/**
 * The JWT signing key's lifecycle (Warden goes past Dapr here; Dapr never rotates `jwt.key`).
 *
 * What "expiry" means for a key that has no certificate: Warden ties the JWT signing key to the
 * issuer certificate. It is due when the issuer is due and "expires" with it, and every command
 * that replaces the issuer (`warden mtls renew-certificate`, `rotate`) replaces the JWT key in the
 * same write. So `expiry`, `verify`, `doctor` and the sentry's expiry metrics need no second clock:
 * the issuer's notAfter is the JWT key's notAfter.
 *
 * A rotation never breaks a JWT consumer: the old public key stays in `jwks.json` as a *retired*
 * key with `exp` = rotation time + the longest JWT lifetime + the clock skew, i.e. until every
 * token it signed has expired; a later rotation drops retired keys whose `exp` has passed.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { materialForKey, type JwtMaterial } from './jwt-key.js';

/** How long a retired key stays published by default: Dapr's default `--jwt-ttl` (24h) plus its default clock skew (15m). */
export const DEFAULT_JWT_RETENTION_MS = 24 * 3600_000 + 15 * 60_000;

export interface RotateJwtOptions {
  now: Date;
  /** The longest `--jwt-ttl` plus the allowed clock skew of the sentries signing with the key. */
  retentionMs?: number;
  /** Normally generated (same type as the current key); injected by tests. */
  nextKey?: KeyObject;
}

/** A new signing key; the current one retired (still published) until its last token expires. */
export function rotateJwtMaterial(current: JwtMaterial, opts: RotateJwtOptions): JwtMaterial {
  const retireUntil = Math.floor((opts.now.getTime() + (opts.retentionMs ?? DEFAULT_JWT_RETENTION_MS)) / 1000);
  const kept = current.jwks.keys.filter((k) => !isExpiredRetired(k, opts.now)).map((k) =>
    k.kid === current.keyId && retiredUntil(k) === undefined ? { ...k, exp: retireUntil } : k);
  return materialForKey(opts.nextKey ?? keyLike(current.signingKey), current.algorithm, kept);
}

/**
 * When the JWT signing key is due: the issuer's NotAfter (see above). The one definition `expiry`,
 * `verify`, the fleet and the monitor share.
 */
export function jwtKeyDueAt(issuer: { readonly notAfter: Date }): Date {
  return issuer.notAfter;
}

/** The `exp` (seconds) of a retired key, undefined for a key that is not retired. */
export function retiredUntil(entry: JsonWebKey): number | undefined {
  const exp = (entry as { exp?: unknown }).exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
}

/** A retired key whose last token has expired: safe to stop publishing. */
export function isExpiredRetired(entry: JsonWebKey, now: Date): boolean {
  const exp = retiredUntil(entry);
  return exp !== undefined && exp * 1000 <= now.getTime();
}

function keyLike(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType === 'ed25519') return generateKeyPairSync('ed25519').privateKey;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256';
    return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
  }
  return generateKeyPairSync('rsa', { modulusLength: Math.max(2048, key.asymmetricKeyDetails?.modulusLength ?? 2048) }).privateKey;
}
