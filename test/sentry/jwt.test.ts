/**
 * `--jwt-enabled` (spec 1.3, 1.4 step 9, 3.1): JWT-SVIDs in SignCertificate over TCP+TLS against
 * a real in-process sentry; tokens decoded by hand and their signatures checked with openssl
 * (RS256) or node:crypto (ES256, EdDSA), never with jose, which signs them.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { jwtMaterialToTexts, jwkThumbprintKid, materialForKey, parseJwtMaterial } from '../../src/core/jwt-key.js';
import { rotateJwtMaterial } from '../../src/core/jwt-rotation.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { isWardenError } from '../../src/core/errors.js';
import { csrPem, x509Chain } from '../support/sentry-client.js';
import { startTestSentry, tempDir, type TestSentry } from '../support/sentry-harness.js';
import { decodeJwt, verifyJwtSignature } from '../support/jwt.js';

const ed = generateKeyPairSync('ed25519').privateKey;
// Whole seconds, so the claims are exact (iat = now).
const START = new Date(Math.floor(Date.now() / 1000) * 1000);

function jwksOf(dir: string): { keys: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')) as { keys: Record<string, unknown>[] };
}

describe('--jwt-enabled, generated bundle and JWT key (self-hosted)', () => {
  let t: TestSentry;
  const clock = new FixedClock(START);

  before(async () => {
    t = await startTestSentry({ options: { jwtEnabled: true, trustDomain: 'cluster.local', clock } });
  });
  after(() => t.close());

  it('writes jwt.key (PKCS#8, 0600) and jwks.json (one RS256 key, kid = base64 SHA-256 thumbprint, use sig) beside the bundle', () => {
    const keyPath = join(t.dir, 'jwt.key');
    assert.match(readFileSync(keyPath, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(t.dir, 'jwks.json')).mode & 0o777, 0o600);
    const jwks = jwksOf(t.dir);
    assert.equal(jwks.keys.length, 1);
    const [k] = jwks.keys;
    // Members sorted, as Dapr's jwx writes them.
    assert.deepEqual(Object.keys(k!), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(k!.alg, 'RS256');
    assert.equal(k!.use, 'sig');
    assert.equal(Buffer.from(String(k!.n), 'base64url').length, 256, 'RSA-2048');
    assert.match(String(k!.kid), /^[A-Za-z0-9+/]{43}=$/, 'standard base64 with padding');
    assert.equal(t.sentry.currentCa().bundle.jwt?.keyId, k!.kid);
    assert.equal(existsSync(join(t.dir, '.backup')), false, 'adding the pair to a bundle just generated backs nothing up');
  });

  it('answers with jwt (aud [td] + jwt_audiences) and one token per audience; claims and header as Dapr', async () => {
    const res = await t.client().sign({
      id: 'myapp', namespace: 'default', trust_domain: 'public', certificate_signing_request: csrPem(ed), jwt_audiences: ['api://a', 'b'],
    });
    assert.ok(res.jwt, 'jwt present');
    const jwks = jwksOf(t.dir);
    const token = decodeJwt(res.jwt.value);
    assert.equal(token.headerJson, `{"alg":"RS256","kid":"${String(jwks.keys[0]!.kid)}","typ":"JWT"}`);
    const now = START.getTime() / 1000;
    assert.deepEqual(Object.keys(token.claims), ['aud', 'exp', 'iat', 'jti', 'nbf', 'sub', 'use']);
    assert.deepEqual(token.claims.aud, ['public', 'api://a', 'b']);
    assert.equal(token.claims.sub, 'spiffe://public/ns/default/myapp');
    assert.equal(token.claims.iat, now);
    assert.equal(token.claims.nbf, now - 15 * 60, 'now - allowed clock skew');
    assert.equal(token.claims.exp, now + 24 * 3600, 'now + --jwt-ttl');
    assert.equal(token.claims.use, 'sig');
    assert.match(String(token.claims.jti), /^[0-9a-f]{32}$/);
    assert.equal(token.claims.iss, undefined, 'no iss without --jwt-issuer');
    assert.ok(verifyJwtSignature(res.jwt.value, jwks.keys[0]! as JsonWebKey), 'openssl verifies the RS256 signature with the served JWKS');

    assert.deepEqual(Object.keys(res.per_audience_jwts).sort(), ['api://a', 'b', 'public']);
    const jtis = new Set<unknown>([token.claims.jti]);
    for (const [aud, { value }] of Object.entries(res.per_audience_jwts)) {
      const one = decodeJwt(value);
      assert.deepEqual(one.claims.aud, [aud]);
      assert.equal(one.claims.sub, 'spiffe://public/ns/default/myapp');
      assert.ok(verifyJwtSignature(value, jwks.keys[0]! as JsonWebKey));
      jtis.add(one.claims.jti);
    }
    assert.equal(jtis.size, 4, 'every token has its own jti');
    // The leaf and the token name the same identity.
    assert.equal(x509Chain(res.workload_certificate)[0]?.subjectAltName, 'URI:spiffe://public/ns/default/myapp');
  });

  it('a tampered token does not verify (the oracle can fail)', async () => {
    const res = await t.client().sign({ id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(ed) });
    const [h, c, s] = res.jwt!.value.split('.') as [string, string, string];
    const forged = `${h}.${Buffer.from(decodeJwt(res.jwt!.value).claimsJson.replace('myapp', 'other')).toString('base64url')}.${s}`;
    assert.equal(verifyJwtSignature(`${h}.${c}.${s}`, jwksOf(t.dir).keys[0]! as JsonWebKey), true);
    assert.equal(verifyJwtSignature(forged, jwksOf(t.dir).keys[0]! as JsonWebKey), false);
  });

  it('without jwt_audiences, per_audience_jwts has the trust domain alone', async () => {
    const res = await t.client().sign({ id: 'myapp', namespace: 'default', trust_domain: 'example.org', certificate_signing_request: csrPem(ed) });
    assert.deepEqual(Object.keys(res.per_audience_jwts), ['example.org']);
    assert.deepEqual(decodeJwt(res.per_audience_jwts['example.org']!.value).claims.aud, ['example.org']);
    assert.deepEqual(decodeJwt(res.jwt!.value).claims.aud, ['example.org']);
  });

  it('exports the JWT key\'s due date (the issuer\'s NotAfter) as warden_sentry_jwt_key_expiry_timestamp_seconds', async () => {
    const { body } = await t.get(t.sentry.metricsPort!, '/metrics');
    const kid = t.sentry.currentCa().bundle.jwt!.keyId;
    const line = body.split('\n').find((l) => l.startsWith(`warden_sentry_jwt_key_expiry_timestamp_seconds{kid="${kid}"} `));
    const value = line?.split(' ')[1];
    assert.equal(Number(value), Math.floor(t.sentry.currentCa().bundle.issuer.notAfter.getTime() / 1000));
  });

  it('a refused request gets no token (Dapr: JWTs only after the certificate is signed)', async () => {
    await assert.rejects(t.client().sign({ id: 'my.app', namespace: 'default', certificate_signing_request: csrPem(ed) }), /PERMISSION_DENIED|cannot contain dots/);
  });
});

describe('--jwt-enabled with --jwt-issuer, --jwt-ttl, --jwt-key-id', () => {
  it('sets iss, exp = now + ttl and the given kid (which the JWKS must hold)', async (tt) => {
    const dir = tempDir();
    tt.after(() => rmSync(dir, { recursive: true, force: true }));
    const material = materialForKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256', []);
    const texts = jwtMaterialToTexts({ ...material, jwks: { keys: [{ ...material.jwks.keys[0]!, kid: 'my-kid' }] } });
    writeFileSync(join(dir, 'jwt.key'), texts.jwtKey, { mode: 0o600 });
    writeFileSync(join(dir, 'jwks.json'), texts.jwks, { mode: 0o600 });
    const clock = new FixedClock(START);
    const t = await startTestSentry({ dir, options: { jwtEnabled: true, jwtIssuer: 'https://issuer.example', jwtTtlMs: 3600_000, jwtKeyId: 'my-kid', clock } });
    tt.after(() => t.close());
    const res = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed) });
    const token = decodeJwt(res.jwt!.value);
    assert.equal(token.header.kid, 'my-kid');
    assert.equal(token.claims.iss, 'https://issuer.example');
    assert.deepEqual(Object.keys(token.claims), ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub', 'use']);
    assert.equal(token.claims.exp, START.getTime() / 1000 + 3600);
    assert.ok(verifyJwtSignature(res.jwt!.value, material.signingKey));
    // The provided files are used, not replaced.
    assert.equal(readFileSync(join(dir, 'jwt.key'), 'utf8'), texts.jwtKey);
  });
});

describe('--jwt-enabled with EC, RSA-PSS and Ed25519 keys (as Dapr: the algorithm must suit the key)', () => {
  for (const [alg, key] of [
    ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
    ['ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
    ['PS256', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['EdDSA', generateKeyPairSync('ed25519').privateKey],
  ] as const) {
    it(`${alg}: a provided key signs ${alg} tokens that verify`, async (tt) => {
      const dir = tempDir();
      tt.after(() => rmSync(dir, { recursive: true, force: true }));
      const texts = jwtMaterialToTexts(materialForKey(key, alg, []));
      writeFileSync(join(dir, 'jwt.key'), texts.jwtKey, { mode: 0o600 });
      writeFileSync(join(dir, 'jwks.json'), texts.jwks, { mode: 0o600 });
      const t = await startTestSentry({ dir, options: { jwtEnabled: true, jwtSigningAlgorithm: alg } });
      tt.after(() => t.close());
      const res = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed) });
      const token = decodeJwt(res.jwt!.value);
      assert.equal(token.header.alg, alg);
      assert.equal(token.header.kid, jwkThumbprintKid(key));
      assert.ok(verifyJwtSignature(res.jwt!.value, key));
    });

    it(`${alg}: a generated key follows --jwt-signing-algorithm ${alg}`, async (tt) => {
      const t = await startTestSentry({ options: { jwtEnabled: true, jwtSigningAlgorithm: alg } });
      tt.after(() => t.close());
      const res = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed) });
      assert.equal(decodeJwt(res.jwt!.value).header.alg, alg);
      assert.ok(verifyJwtSignature(res.jwt!.value, jwksOf(t.dir).keys[0]! as JsonWebKey));
    });
  }
});

describe('--jwt-enabled error paths (start-up refuses, naming the file and the fix)', () => {
  async function startWith(files: Record<string, string>, options: Record<string, unknown> = {}): Promise<unknown> {
    const dir = tempDir();
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
      const t = await startTestSentry({ dir, options: { jwtEnabled: true, ...options } });
      await t.close();
      return undefined;
    } catch (err) {
      return err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const rsa = materialForKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256', []);
  const good = jwtMaterialToTexts(rsa);

  it('a jwt.key that is no key → ERR_JWT_KEY_INVALID', async () => {
    const err = await startWith({ 'jwt.key': 'garbage\n', 'jwks.json': good.jwks });
    assert.ok(isWardenError(err, 'ERR_JWT_KEY_INVALID'), String(err));
    assert.match((err as Error).message, /jwt\.key: failed to load JWT signing key/);
  });

  it('an EC key with the default RS256 → ERR_JWT_ALGORITHM (Dapr: "JWT signing key is incompatible with algorithm RS256")', async () => {
    const ec = jwtMaterialToTexts(materialForKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256', []));
    const err = await startWith({ 'jwt.key': ec.jwtKey, 'jwks.json': ec.jwks });
    assert.ok(isWardenError(err, 'ERR_JWT_ALGORITHM'), String(err));
    assert.match((err as Error).message, /incompatible with algorithm RS256: RSA algorithm RS256 requires an RSA key.*--jwt-signing-algorithm ES256/);
  });

  it('a jwks.json that is not JSON → ERR_JWKS_INVALID', async () => {
    const err = await startWith({ 'jwt.key': good.jwtKey, 'jwks.json': '{"keys": [' });
    assert.ok(isWardenError(err, 'ERR_JWKS_INVALID'), String(err));
    assert.match((err as Error).message, /failed to parse JWKS/);
  });

  it('a jwks.json without the signing key\'s public key → ERR_JWKS_INVALID', async () => {
    const other = jwtMaterialToTexts(materialForKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256', []));
    const err = await startWith({ 'jwt.key': good.jwtKey, 'jwks.json': other.jwks });
    assert.ok(isWardenError(err, 'ERR_JWKS_INVALID'), String(err));
    assert.match((err as Error).message, /doesn't contain a matching public key/);
  });

  it('--jwt-key-id that the JWKS lacks → ERR_JWKS_INVALID (Dapr\'s text)', async () => {
    const err = await startWith({ 'jwt.key': good.jwtKey, 'jwks.json': good.jwks }, { jwtKeyId: 'nope' });
    assert.ok(isWardenError(err, 'ERR_JWKS_INVALID'), String(err));
    assert.match((err as Error).message, /JWKS doesn't contain a key with user-provided key ID "nope"/);
  });

  it('a jwks.json that is a directory → ERR_BUNDLE_FILE_NOT_REGULAR naming it (readable as root too)', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'jwt.key'), good.jwtKey, { mode: 0o600 });
      mkdirSync(join(dir, 'jwks.json'));
      const err = await startTestSentry({ dir, options: { jwtEnabled: true } }).then(async (t) => { await t.close(); return undefined; }, (e: unknown) => e);
      assert.ok(isWardenError(err, 'ERR_BUNDLE_FILE_NOT_REGULAR'), String(err));
      assert.match((err as Error).message, /jwks\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unreadable jwks.json → ERR_STORE_IO naming it', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'jwt.key'), good.jwtKey, { mode: 0o600 });
      writeFileSync(join(dir, 'jwks.json'), good.jwks, { mode: 0o000 });
      const err = await startTestSentry({ dir, options: { jwtEnabled: true } }).then(async (t) => { await t.close(); return undefined; }, (e: unknown) => e);
      assert.ok(isWardenError(err), String(err));
      assert.match((err as Error).message, /jwks\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JWT disabled', () => {
  it('leaves jwt and per_audience_jwts out and writes no JWT file; broken JWT files are not even read', async (tt) => {
    const dir = tempDir();
    tt.after(() => rmSync(dir, { recursive: true, force: true }));
    const t = await startTestSentry({ dir });
    tt.after(() => t.close());
    const res = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed), jwt_audiences: ['x'] });
    assert.equal(res.jwt ?? null, null);
    assert.deepEqual(res.per_audience_jwts, {});
    assert.equal(existsSync(join(dir, 'jwt.key')), false);
    assert.equal(existsSync(join(dir, 'jwks.json')), false);
    const { body } = await t.get(t.sentry.metricsPort!, '/metrics');
    assert.doesNotMatch(body, /^warden_sentry_jwt_key_expiry_timestamp_seconds[{ ]/m);
  });

  it('starts with broken jwt.key / jwks.json present: without --jwt-enabled they are not read', async (tt) => {
    const dir = tempDir();
    tt.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'jwt.key'), 'garbage', { mode: 0o600 });
    writeFileSync(join(dir, 'jwks.json'), '{', { mode: 0o600 });
    const t = await startTestSentry({ dir });
    tt.after(() => t.close());
    const res = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed) });
    assert.equal(res.jwt ?? null, null);
    assert.equal(t.sentry.currentCa().bundle.jwt, undefined);
  });
});

type JsonWebKey = import('node:crypto').JsonWebKey;

describe('--jwt-enabled and reloads', () => {
  it('a renewed JWT key is picked up by a reload; a bundle without the pair is refused and the old key keeps signing', async (tt) => {
    const t = await startTestSentry({ options: { jwtEnabled: true, reloadDebounceMs: 200 } });
    tt.after(() => t.close());
    const before = t.sentry.currentCa().bundle.jwt!.keyId;
    const store = new FsTrustBundleStore({ dir: t.dir });
    const read = await store.read();
    assert.equal(read.state, 'complete');
    if (read.state !== 'complete') return;
    // What renew-certificate does to the pair: a new key, the old one retired.
    const rotated = rotateJwtMaterial(parseJwtMaterial({ jwtKey: read.texts.jwtKey!, jwks: read.texts.jwks! }), { now: new Date() });
    await store.write({ ...read.texts, ...jwtMaterialToTexts(rotated) }, { backup: false });
    await waitUntil('the new key', () => t.sentry.currentCa().bundle.jwt?.keyId === rotated.keyId);
    const res = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed) });
    assert.equal(decodeJwt(res.jwt!.value).header.kid, rotated.keyId);
    assert.deepEqual(t.sentry.currentCa().bundle.jwt!.jwks.keys.map((k) => k.kid), [rotated.keyId, before]);

    // Remove the pair by hand: the reload is refused, the current key keeps signing.
    const failures = async (): Promise<number> => (await t.sentry.metrics.reloadFailures.get()).values[0]?.value ?? 0;
    rmSync(join(t.dir, 'jwks.json'));
    await waitUntil('a refused reload', async () => (await failures()) >= 1);
    assert.ok(t.logs.some((l) => /has no JWT signing key/.test(String(l.msg)) || /has no JWT signing key/.test(String(l.err))), 'the refusal names the missing pair');
    const again = await t.client().sign({ id: 'app', namespace: 'ns', certificate_signing_request: csrPem(ed) });
    assert.equal(decodeJwt(again.jwt!.value).header.kid, rotated.keyId);
  });
});

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
