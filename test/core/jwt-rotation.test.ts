/**
 * The JWT signing key's lifecycle (src/core/jwt-rotation.ts): across key rotations, a consumer
 * that verifies against the JWKS being served at that moment never fails for a token that is still
 * valid, and a retired key is dropped only once every token it signed has expired. Time is a
 * FixedClock moved hour by hour; signatures are checked with node:crypto, and once with jose's
 * JWKS consumer (what an OIDC relying party does).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import { jwtMaterialToTexts, materialForKey, parseJwtMaterial, type JwtMaterial } from '../../src/core/jwt-key.js';
import { DEFAULT_JWT_RETENTION_MS, isExpiredRetired, retiredUntil, rotateJwtMaterial } from '../../src/core/jwt-rotation.js';
import { JwtIssuer } from '../../src/sentry/jwt-issuer.js';
import { decodeJwt, verifyJwtSignature } from '../support/jwt.js';

const HOUR = 3600_000;
const TTL = 24 * HOUR;
const SKEW = 15 * 60_000;

interface Issued { token: string; exp: number; nbf: number }

function verifyAgainst(jwks: { keys: JsonWebKey[] }, token: string): boolean {
  const kid = decodeJwt(token).header.kid;
  const key = jwks.keys.find((k) => k.kid === kid);
  return key !== undefined && verifyJwtSignature(token, key);
}

for (const [label, makeKey, alg] of [
  ['EdDSA', () => generateKeyPairSync('ed25519').privateKey, 'EdDSA'],
  ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'],
] as const) {
  test(`${label}: no valid token ever fails against the served JWKS across two key rotations; retired keys leave only after their last token`, async () => {
    const clock = new FixedClock(new Date('2027-01-01T00:00:00Z'));
    // What the store holds, as the sentry would re-read it after each rotation.
    let texts = jwtMaterialToTexts(materialForKey(makeKey(), alg, []));
    const rotations = new Map([[10, 'first'], [40, 'second']]);
    const issued: Issued[] = [];
    const firstKid = parseJwtMaterial(texts).keyId;
    for (let hour = 0; hour <= 72; hour++) {
      const now = clock.now().getTime();
      if (rotations.has(hour)) {
        texts = jwtMaterialToTexts(rotateJwtMaterial(parseJwtMaterial(texts), { now: clock.now(), nextKey: makeKey() }));
      }
      const served: JwtMaterial = parseJwtMaterial(texts);
      // Every token still valid now verifies against what is served now.
      for (const t of issued) {
        if (t.nbf * 1000 <= now && now < t.exp * 1000) assert.ok(verifyAgainst(served.jwks, t.token), `hour ${hour}: a valid token failed`);
      }
      const issuer = new JwtIssuer(served, { ttlMs: TTL, clockSkewMs: SKEW });
      const token = await issuer.sign({ spiffeId: 'spiffe://public/ns/default/app', trustDomain: 'public', extraAudiences: [], atMs: now }, ['public']);
      const claims = decodeJwt(token).claims as { exp: number; nbf: number };
      issued.push({ token, exp: claims.exp, nbf: claims.nbf });
      if (hour === 40) {
        // Rotated at hour 10 with retention ttl + skew: the first key's last token expired at hour 34.
        assert.equal(served.jwks.keys.some((k) => k.kid === firstKid), false, 'the first key is gone after the second rotation');
        assert.equal(served.jwks.keys.length, 2, 'current key plus the one retired at hour 40');
      }
      if (hour === 20) {
        assert.equal(served.jwks.keys.length, 2);
        const retired = served.jwks.keys.find((k) => k.kid === firstKid)!;
        assert.equal(retiredUntil(retired), Date.parse('2027-01-01T10:00:00Z') / 1000 + DEFAULT_JWT_RETENTION_MS / 1000);
      }
      clock.advance(HOUR);
    }
  });
}

test('a retired key is kept while any token it signed may still be valid (exp boundary, to the second)', () => {
  const material = materialForKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA', []);
  const at = new Date('2027-01-01T00:00:00Z');
  const rotated = rotateJwtMaterial(material, { now: at, nextKey: generateKeyPairSync('ed25519').privateKey });
  const retired = rotated.jwks.keys.find((k) => k.kid === material.keyId)!;
  const lastTokenExp = at.getTime() + TTL; // a token signed just before the rotation
  assert.ok(retiredUntil(retired)! * 1000 >= lastTokenExp + SKEW);
  assert.equal(isExpiredRetired(retired, new Date(lastTokenExp)), false);
  assert.equal(isExpiredRetired(retired, new Date(retiredUntil(retired)! * 1000)), true);
  // The next rotation after that drops it; one before keeps it.
  const early = rotateJwtMaterial(rotated, { now: new Date(lastTokenExp), nextKey: generateKeyPairSync('ed25519').privateKey });
  assert.ok(early.jwks.keys.some((k) => k.kid === material.keyId));
  const late = rotateJwtMaterial(rotated, { now: new Date(retiredUntil(retired)! * 1000), nextKey: generateKeyPairSync('ed25519').privateKey });
  assert.ok(!late.jwks.keys.some((k) => k.kid === material.keyId));
});

test('a JOSE consumer (jose createLocalJWKSet) accepts old and new tokens after a rotation; the retired JWK is a valid JWK', async () => {
  const old = materialForKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA', []);
  const now = Date.parse('2027-01-01T00:00:00Z');
  const req = { spiffeId: 'spiffe://public/ns/default/app', trustDomain: 'public', extraAudiences: [], atMs: now };
  const oldToken = await new JwtIssuer(old, { ttlMs: TTL, clockSkewMs: SKEW }).sign(req, ['public']);
  const rotated = rotateJwtMaterial(old, { now: new Date(now + HOUR), nextKey: generateKeyPairSync('ed25519').privateKey });
  const newToken = await new JwtIssuer(rotated, { ttlMs: TTL, clockSkewMs: SKEW }).sign({ ...req, atMs: now + HOUR }, ['public']);
  const served = JSON.parse(jwtMaterialToTexts(rotated).jwks) as { keys: JsonWebKey[] };
  const keySet = createLocalJWKSet(served as Parameters<typeof createLocalJWKSet>[0]);
  for (const token of [oldToken, newToken]) {
    const { payload } = await jwtVerify(token, keySet, { audience: 'public', currentDate: new Date(now + 2 * HOUR) });
    assert.equal(payload.sub, 'spiffe://public/ns/default/app');
  }
});
