/**
 * The JWKS token validator end to end (spec 1.5, 1.6, 5.3): a Sentry Configuration with
 * `tokenValidators: [{name: jwks}]` pointing at a real HTTPS JWKS endpoint trusted through
 * `caCertificate`, real gRPC over TLS, tokens signed by hand with node:crypto. Each refusal is
 * checked for Dapr's status and message; time moves only through the injected clock.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { callError, csrPem, x509Chain, uriSansOf, type SentryTestClient } from '../support/sentry-client.js';
import { startTestSentry, tempDir, type TestSentry } from '../support/sentry-harness.js';
import { claimsFor, ecKey, hmacJwt, jwksOf, rsaKey, signJwt } from '../support/jwt-tokens.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { until } from '../support/wait.js';

const CSR = csrPem(generateKeyPairSync('ed25519').privateKey);
const MIN_REFRESH_MS = 10 * 60 * 1000;

function configYaml(source: string, caFile: string, extra = ''): string {
  return [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Configuration',
    'metadata: {name: daprsystem}',
    'spec:',
    '  mtls:',
    '    tokenValidators:',
    '      - name: jwks',
    '        options:',
    `          source: "${source}"`,
    `          caCertificate: "${caFile}"`,
    '          minRefreshInterval: 10m',
    `          requestTimeout: 5${extra}`,
  ].join('\n');
}

describe('JWKS validator over gRPC (https source with caCertificate)', () => {
  const dir = tempDir('warden-jwks-');
  const key = rsaKey('key-1');
  const other = ecKey('key-ec');
  const clock = new FixedClock(Math.floor(Date.now() / 1000) * 1000);
  let source: JwksServer;
  let t: TestSentry;
  let client: SentryTestClient;
  const nowS = (): number => Math.floor(clock.now().getTime() / 1000);
  const request = (token: string, over: Record<string, unknown> = {}) =>
    ({ id: 'myapp', namespace: 'default', certificate_signing_request: CSR, token_validator: 'JWKS' as const, token, ...over });
  const refusedWith = async (token: string, details: string | RegExp, over: Record<string, unknown> = {}): Promise<void> => {
    const err = await callError(client.sign(request(token, over)));
    assert.equal(err.code, grpc.status.PERMISSION_DENIED, err.details);
    if (typeof details === 'string') assert.equal(err.details, details);
    else assert.match(err.details, details);
  };

  before(async () => {
    source = await startJwksServer(dir, jwksOf(key, other));
    writeFileSync(join(dir, 'config.yaml'), configYaml(source.url, source.caFile));
    t = await startTestSentry({ options: { config: join(dir, 'config.yaml'), clock } });
    client = t.client();
    await until(async () => (await t.get(t.sentry.healthzPort, '/healthz')).status === 200, 'the JWKS to load');
  });
  after(async () => {
    await t?.close();
    await source?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a good token and issues the SPIFFE ID of its subject; RS256 and ES256 keys alike', async () => {
    for (const [k, alg] of [[key, 'RS256'], [other, 'ES256']] as const) {
      const res = await client.sign(request(signJwt(k, claimsFor(nowS()), { alg })));
      const [leaf] = x509Chain(res.workload_certificate);
      assert.deepEqual(uriSansOf({ subjectaltname: leaf!.subjectAltName }), ['spiffe://public/ns/default/myapp']);
    }
  });

  it('uses the request trust domain in the expected subject', async () => {
    const token = signJwt(key, claimsFor(nowS(), { sub: 'spiffe://example.org/ns/default/myapp' }));
    const res = await client.sign(request(token, { trust_domain: 'example.org' }));
    assert.deepEqual(uriSansOf({ subjectaltname: x509Chain(res.workload_certificate)[0]!.subjectAltName }), ['spiffe://example.org/ns/default/myapp']);
    await refusedWith(token, 'token validation failed: "sub" not satisfied: values do not match');
  });

  it('with a custom validator configured, INSECURE is not enabled and UNKNOWN needs a name (Dapr\'s InvalidArgument texts)', async () => {
    const token = signJwt(key, claimsFor(nowS()));
    assert.deepEqual(await callError(client.sign(request(token, { token_validator: 'INSECURE' }))),
      { code: grpc.status.INVALID_ARGUMENT, details: 'the requested validator is not enabled' });
    assert.deepEqual(await callError(client.sign(request(token, { token_validator: 'UNKNOWN' }))),
      { code: grpc.status.INVALID_ARGUMENT, details: 'a validator name must be specified in this environment' });
  });

  it('refuses a request without a token, before anything else', async () => {
    await refusedWith('', 'the request does not contain a token', { namespace: '' });
  });

  it('applies the common request rules after the token check', async () => {
    await refusedWith(signJwt(key, claimsFor(nowS())), 'invalid request: namespace is required', { namespace: '' });
  });

  it('refuses a wrong audience, a wrong or missing subject', async () => {
    await refusedWith(signJwt(key, claimsFor(nowS(), { aud: ['spiffe://localhost/ns/other/dapr-sentry'] })), 'token validation failed: "aud" not satisfied');
    await refusedWith(signJwt(key, claimsFor(nowS(), { aud: 'dapr.io/sentry' })), 'token validation failed: "aud" not satisfied');
    await refusedWith(signJwt(key, claimsFor(nowS(), { sub: 'spiffe://public/ns/default/otherapp' })),
      'token validation failed: "sub" not satisfied: values do not match');
    await refusedWith(signJwt(key, claimsFor(nowS(), { sub: undefined })), 'token validation failed: "sub" not satisfied: claim "sub" does not exist');
    await refusedWith(signJwt(key, claimsFor(nowS(), { aud: undefined })), 'token validation failed: "aud" not satisfied');
  });

  it('checks the times before the audience and the subject, as jwx does (an expired token for another audience is "exp")', async () => {
    const now = nowS();
    await refusedWith(signJwt(key, claimsFor(now, { exp: now - 3600, aud: ['other'], sub: 'x' })), 'token validation failed: "exp" not satisfied');
    await refusedWith(signJwt(key, claimsFor(now, { iat: now + 3600, nbf: undefined, aud: ['other'] })), 'token validation failed: "iat" not satisfied');
  });

  it('allows 5 minutes of skew on exp, nbf and iat, and not more', async () => {
    const now = nowS();
    await client.sign(request(signJwt(key, claimsFor(now, { exp: now - 4 * 60 }))));
    await refusedWith(signJwt(key, claimsFor(now, { exp: now - 6 * 60 })), 'token validation failed: "exp" not satisfied');
    await client.sign(request(signJwt(key, claimsFor(now, { nbf: now + 4 * 60 }))));
    await refusedWith(signJwt(key, claimsFor(now, { nbf: now + 6 * 60 })), 'token validation failed: "nbf" not satisfied');
    await client.sign(request(signJwt(key, claimsFor(now, { iat: now + 4 * 60 }))));
    await refusedWith(signJwt(key, claimsFor(now, { iat: now + 6 * 60 })), 'token validation failed: "iat" not satisfied');
  });

  it('follows the injected clock: a token valid now is expired an hour and 6 minutes later', async () => {
    const token = signJwt(key, claimsFor(nowS()));
    await client.sign(request(token));
    clock.advance(66 * 60 * 1000);
    try {
      await refusedWith(token, 'token validation failed: "exp" not satisfied');
    } finally {
      clock.advance(-66 * 60 * 1000);
    }
  });

  it('refuses an unknown kid, a missing kid, a foreign key, a wrong algorithm and HS256 confusion', async () => {
    const claims = claimsFor(nowS());
    const stranger = rsaKey('key-1'); // same kid, another key
    const notVerified = /^token validation failed: could not verify message using any of the signatures or keys/;
    await refusedWith(signJwt(rsaKey('nobody'), claims), notVerified);
    await refusedWith(signJwt(key, claims, { kid: undefined }), notVerified);
    await refusedWith(signJwt(stranger, claims), notVerified);
    // key-1 declares alg RS256: RS384 and PS256 signatures by the very same key are refused.
    await refusedWith(signJwt(key, claims, { alg: 'RS384' }), notVerified);
    await refusedWith(signJwt(key, claims, { alg: 'PS256' }), notVerified);
    // The RSA public key (as PEM and as its JWK's modulus) used as an HMAC secret.
    const pem = Buffer.from(JSON.stringify(key.jwk));
    await refusedWith(hmacJwt('key-1', pem, claims), notVerified);
    await refusedWith(`${Buffer.from('{"alg":"none","kid":"key-1"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`, notVerified);
    await refusedWith('not-a-jwt', /^token validation failed: failed to parse token/);
  });

  it('picks up a key rotated in at the source: not before minRefreshInterval, then at once on the unknown kid', async () => {
    const rotated = rsaKey('key-2');
    source.jwks = jwksOf(rotated, key);
    const token = signJwt(rotated, claimsFor(nowS()));
    const fetches = source.fetches;
    await refusedWith(token, /could not verify message .*"key-2"/);
    assert.equal(source.fetches, fetches, 'no fetch within minRefreshInterval of the last one');
    clock.advance(MIN_REFRESH_MS);
    try {
      await client.sign(request(signJwt(rotated, claimsFor(nowS()))));
      assert.equal(source.fetches, fetches + 1, 'one fetch for the unknown kid');
      await client.sign(request(signJwt(rotated, claimsFor(nowS()))));
      assert.equal(source.fetches, fetches + 1, 'the fetched set is cached');
    } finally {
      clock.advance(-MIN_REFRESH_MS);
    }
  });

  it('keeps the keys it has when a refresh fails (source down)', async () => {
    source.failing = true;
    clock.advance(2 * MIN_REFRESH_MS);
    try {
      await refusedWith(signJwt(rsaKey('key-3'), claimsFor(nowS())), /could not verify message/);
      await client.sign(request(signJwt(key, claimsFor(nowS()))));
      assert.equal((await t.get(t.sentry.healthzPort, '/healthz')).status, 200);
      assert.ok(t.logs.some((l) => /^Error while refreshing JWKS cache: failed to fetch JWKS: .* answered HTTP 503/.test(l.msg)));
    } finally {
      source.failing = false;
      clock.advance(-2 * MIN_REFRESH_MS);
    }
  });
});

describe('JWKS validator readiness (health target sentry-jwks-validator)', () => {
  it('is not ready while the source is down: /healthz 503, `jwks validator not ready`; ready once the source answers', async () => {
    const dir = tempDir('warden-jwks-down-');
    const key = rsaKey('key-1');
    const source = await startJwksServer(dir, jwksOf(key));
    source.failing = true;
    writeFileSync(join(dir, 'config.yaml'), configYaml(source.url, source.caFile));
    const t = await startTestSentry({ options: { config: join(dir, 'config.yaml'), jwksRetryMs: 20 } });
    try {
      const health = await t.get(t.sentry.healthzPort, '/healthz');
      assert.equal(health.status, 503);
      assert.match(health.body, /JWKS validator not ready/);
      const client = t.client();
      const now = Math.floor(Date.now() / 1000);
      const err = await callError(client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: CSR, token_validator: 'JWKS', token: signJwt(key, claimsFor(now)) }));
      assert.deepEqual(err, { code: grpc.status.PERMISSION_DENIED, details: 'jwks validator not ready' });
      assert.ok(t.logs.some((l) => l.code === 'ERR_JWKS_UNAVAILABLE' && /^JWKS validator not ready: failed to fetch JWKS/.test(l.msg)));

      source.failing = false;
      await until(async () => (await t.get(t.sentry.healthzPort, '/healthz')).status === 200, 'the retried first load');
      await client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: CSR, token_validator: 'JWKS', token: signJwt(key, claimsFor(now)) });
    } finally {
      await t.close();
      await source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not trust the source without caCertificate (a self-signed endpoint fails the TLS check)', async () => {
    const dir = tempDir('warden-jwks-untrusted-');
    const source = await startJwksServer(dir, jwksOf(rsaKey('k')));
    writeFileSync(join(dir, 'config.yaml'), [
      'kind: Configuration', 'spec:', '  mtls:', '    tokenValidators:', '      - name: JWKS', '        options:', `          source: "${source.url}"`,
    ].join('\n'));
    const t = await startTestSentry({ options: { config: join(dir, 'config.yaml'), jwksRetryMs: 60_000 } });
    try {
      await until(() => t.logs.some((l) => l.code === 'ERR_JWKS_UNAVAILABLE'), 'the failed first load');
      assert.equal((await t.get(t.sentry.healthzPort, '/healthz')).status, 503);
      assert.equal(source.fetches, 0);
      assert.ok(t.logs.some((l) => /self-signed certificate/.test(l.msg)), JSON.stringify(t.logs.filter((l) => l.code)));
    } finally {
      await t.close();
      await source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
