/**
 * The JWT-SVID signing material Dapr's Sentry keeps beside the X.509 bundle (spec 1.3, 3.1, 3.2):
 * `jwt.key` (the PEM private key) and `jwks.json` (the public JSON Web Key Set). Parsing,
 * generation and the checks Dapr's Sentry makes when it loads them (`pkg/sentry/server/ca`:
 * `verifyJWKS`, `validateKeyAlgorithmCompatibility`), with node:crypto only; the signing itself
 * lives in src/sentry/jwt-issuer.ts.
 *
 * Warden goes past Dapr in one place: a JWKS may also hold *retired* public keys (a key rotation
 * keeps the old key published until every JWT it signed has expired, jwt-rotation.ts). A retired
 * key carries an `exp` member (NumericDate, seconds): after it no token signed with it is valid.
 * RFC 7517 §4 makes JWKS consumers ignore members they do not understand, Dapr's Sentry included.
 */
import { createHash, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { WardenError } from './errors.js';
import { keyAlgorithmOf, parsePrivateKeyPem, privateKeyToPkcs8Pem, publicKeysEqual } from './keys.js';

/** The JWS algorithms Dapr's Sentry accepts for `--jwt-signing-algorithm`. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Dapr's default (`DefaultJWTSignatureAlgorithm`), and the algorithm of every key it generates. */
export const DEFAULT_JWT_ALGORITHM: JwtAlgorithm = 'RS256';

/** The JWT material as a TrustBundle carries it (`TrustBundle.jwt`). */
export interface JwtMaterial {
  /** The private signing key (`jwt.key`). */
  signingKey: KeyObject;
  /** The `kid` header of every token signed with it. */
  keyId: string;
  /** The JWS `alg` of every token signed with it. */
  algorithm: string;
  /** The public document as served (`jwks.json`), retired keys still published included. */
  jwks: { keys: JsonWebKey[] };
}

/** How the sentry's flags shape the material: `--jwt-key-id`, `--jwt-signing-algorithm`. */
export interface JwtSettings {
  keyId?: string | undefined;
  algorithm?: string | undefined;
}

/** The two texts as stored. */
export interface JwtTexts {
  jwtKey: string;
  jwks: string;
}

/**
 * Parses `jwt.key` and `jwks.json` and checks them as Dapr's Sentry does on load: the JWKS is a
 * set with at least one key, and one of its keys (with the `--jwt-key-id` kid when that is given)
 * is the signing key's public half. Then the algorithm must suit the key.
 */
export function parseJwtMaterial(texts: JwtTexts, settings: JwtSettings = {}): JwtMaterial {
  let signingKey: KeyObject;
  try {
    signingKey = parsePrivateKeyPem(texts.jwtKey);
  } catch (err) {
    throw new WardenError('ERR_JWT_KEY_INVALID', `jwt.key: failed to load JWT signing key: ${(err as Error).message}`, { cause: err });
  }
  const jwks = parseJwks(texts.jwks);
  const match = findSigningKeyEntry(jwks, signingKey, settings.keyId);
  const algorithm = settings.algorithm ?? algorithmFromEntry(match) ?? defaultAlgorithmFor(signingKey);
  assertAlgorithmFits(signingKey, algorithm);
  // Dapr signs with --jwt-key-id, else the base64 SHA-256 thumbprint; the thumbprint is also the kid
  // Dapr writes into a generated JWKS. Warden takes the matching entry's kid when there is one, so
  // a hand-made JWKS with its own kid still verifies (Dapr would sign with a kid the JWKS lacks).
  const keyId = settings.keyId ?? (typeof match.kid === 'string' && match.kid !== '' ? match.kid : jwkThumbprintKid(signingKey));
  return { signingKey, keyId, algorithm, jwks };
}

/** A fresh RSA-2048 RS256 key and its one-key JWKS, as Dapr's Sentry generates them (`bundle.GenerateJWT`). */
export function generateJwtMaterial(): JwtMaterial {
  return generateJwtMaterialFor(DEFAULT_JWT_ALGORITHM);
}

/**
 * A fresh key for `algorithm` (default RS256): RSA-2048 for RSxxx and PSxxx, P-256 / P-384 for ES256 /
 * ES384, Ed25519 for EdDSA. ERR_JWT_ALGORITHM for anything else (ES512: Warden has no P-521 keys).
 */
export function generateJwtMaterialFor(algorithm: string = DEFAULT_JWT_ALGORITHM): JwtMaterial {
  const key = /^(RS|PS)(256|384|512)$/.test(algorithm) ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    : algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
      : algorithm === 'ES384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey
        : algorithm === 'EdDSA' ? generateKeyPairSync('ed25519').privateKey
          : undefined;
  if (key === undefined) {
    throw new WardenError('ERR_JWT_ALGORITHM', `cannot generate a JWT signing key for algorithm ${algorithm}: use RS256 (Dapr's default), ` +
      'RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA, or provide jwt.key and jwks.json yourself');
  }
  return materialForKey(key, algorithm, []);
}

/** Material for `key`, publishing its public JWK (kid = thumbprint, `alg`, `use: sig`) before `retired`. */
export function materialForKey(key: KeyObject, algorithm: string, retired: readonly JsonWebKey[]): JwtMaterial {
  keyAlgorithmOf(key);
  assertAlgorithmFits(key, algorithm);
  const keyId = jwkThumbprintKid(key);
  const entry = sortedJwk({ ...publicJwkOf(key), kid: keyId, alg: algorithm, use: 'sig' });
  return { signingKey: key, keyId, algorithm, jwks: { keys: [entry, ...retired] } };
}

/** The texts to store: PKCS#8 PEM and the JWKS JSON (members sorted, as Dapr's jwx writes them). */
export function jwtMaterialToTexts(material: JwtMaterial): JwtTexts {
  return { jwtKey: privateKeyToPkcs8Pem(material.signingKey), jwks: JSON.stringify({ keys: material.jwks.keys.map(sortedJwk) }) };
}

/** Dapr's default kid: the RFC 7638 SHA-256 thumbprint of the public key, standard base64 (with padding). */
export function jwkThumbprintKid(key: KeyObject): string {
  const jwk = publicJwkOf(key);
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members), 'utf8').digest('base64');
}

/** Dapr's `validateKeyAlgorithmCompatibility`, with its texts; ERR_JWT_ALGORITHM when they do not fit. */
export function assertAlgorithmFits(key: KeyObject, algorithm: string): void {
  const why = algorithmMismatch(key, algorithm);
  if (why !== undefined) {
    throw new WardenError('ERR_JWT_ALGORITHM', `JWT signing key is incompatible with algorithm ${algorithm}: ${why}; ` +
      `pass --jwt-signing-algorithm ${defaultAlgorithmFor(key)} for this key, or give a key of the algorithm's type`);
  }
}

function algorithmMismatch(key: KeyObject, algorithm: string): string | undefined {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (/^(RS|PS)(256|384|512)$/.test(algorithm)) return type === 'rsa' ? undefined : `RSA algorithm ${algorithm} requires an RSA key, but got ${typeName(key)}`;
  if (/^ES(256|384|512)$/.test(algorithm)) {
    if (type !== 'ec') return `ECDSA algorithm ${algorithm} requires an ECDSA key, but got ${typeName(key)}`;
    const wanted = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[algorithm as 'ES256' | 'ES384' | 'ES512'];
    return curve === wanted ? undefined : `${algorithm} requires a ${{ ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[algorithm as 'ES256']} curve, got ${curve ?? 'unknown'}`;
  }
  if (algorithm === 'EdDSA') return type === 'ed25519' ? undefined : `EdDSA algorithm requires an Ed25519 key, but got ${typeName(key)}`;
  return `unsupported signature algorithm: ${algorithm}`;
}

function typeName(key: KeyObject): string {
  return key.asymmetricKeyType === 'ec' ? 'an ECDSA key' : `an ${key.asymmetricKeyType ?? 'unknown'} key`;
}

/** The algorithm a key signs with when nothing says otherwise (the CLI's reading; the sentry passes its flag). */
export function defaultAlgorithmFor(key: KeyObject): JwtAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
  }
  return 'RS256';
}

function parseJwks(text: string): { keys: JsonWebKey[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new WardenError('ERR_JWKS_INVALID', `jwks.json: failed to verify JWKS: failed to parse JWKS: ${(err as Error).message}`, { cause: err });
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(keys)) {
    throw new WardenError('ERR_JWKS_INVALID', 'jwks.json: failed to verify JWKS: failed to parse JWKS: not a JSON Web Key Set ({"keys": [...]})');
  }
  if (keys.length === 0) throw new WardenError('ERR_JWKS_INVALID', "jwks.json: failed to verify JWKS: JWKS doesn't contain any keys");
  if (!keys.every((k) => typeof k === 'object' && k !== null && typeof (k as JsonWebKey).kty === 'string')) {
    throw new WardenError('ERR_JWKS_INVALID', 'jwks.json: failed to verify JWKS: failed to parse JWKS: every key needs a "kty"');
  }
  return { keys: keys as JsonWebKey[] };
}

/** Dapr's `verifyJWKS`: the entry that publishes the signing key (by the given kid, else by content). */
function findSigningKeyEntry(jwks: { keys: JsonWebKey[] }, key: KeyObject, keyId: string | undefined): JsonWebKey {
  const fits = (entry: JsonWebKey): boolean => (entry.use === undefined || entry.use === 'sig') && samePublicKey(entry, key);
  if (keyId !== undefined) {
    const withId = jwks.keys.filter((k) => k.kid === keyId);
    const match = withId.find(fits);
    if (match) return match;
    throw new WardenError('ERR_JWKS_INVALID', withId.length === 0
      ? `jwks.json: failed to verify JWKS: JWKS doesn't contain a key with user-provided key ID "${keyId}"`
      : `jwks.json: failed to verify JWKS: JWKS contains a key with user-provided key ID "${keyId}" but the key content doesn't match the signing key`);
  }
  const match = jwks.keys.find(fits);
  if (match) return match;
  throw new WardenError('ERR_JWKS_INVALID', "jwks.json: failed to verify JWKS: JWKS doesn't contain a matching public key for the JWT signing key; " +
    'put the public key of jwt.key into jwks.json, or remove both files and let warden sentry --jwt-enabled generate a pair');
}

function samePublicKey(entry: JsonWebKey, key: KeyObject): boolean {
  try {
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = entry;
    return publicKeysEqual(createPublicKey({ key: pub, format: 'jwk' }), key);
  } catch {
    return false;
  }
}

function algorithmFromEntry(entry: JsonWebKey): string | undefined {
  return typeof entry.alg === 'string' && entry.alg !== '' ? entry.alg : undefined;
}

function publicJwkOf(key: KeyObject): JsonWebKey {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
}

function sortedJwk(jwk: JsonWebKey): JsonWebKey {
  return Object.fromEntries(Object.entries(jwk).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as JsonWebKey;
}
