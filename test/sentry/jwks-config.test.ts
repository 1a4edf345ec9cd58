/**
 * `spec.mtls.tokenValidators` as Dapr reads it (pkg/sentry/config, pkg/sentry/options.go), the
 * validator choice it implies (spec 1.4 step 2), and the JWKS sources Dapr's cache accepts: a file
 * (re-read when it changes), inline JSON, base64 JSON, a single JWK.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { parseSentryConfig } from '../../src/sentry/config.js';
import { insecureValidator, selectValidator, type Validator } from '../../src/sentry/validators.js';
import { JwksValidator } from '../../src/sentry/validators/jwks.js';
import { locateJwks } from '../../src/sentry/validators/jwks-source.js';
import { startTestSentry, tempDir } from '../support/sentry-harness.js';
import { event } from '../support/wait.js';
import { claimsFor, edKey, jwksOf, rsaKey, signJwt } from '../support/jwt-tokens.js';

const yaml = (validators: string): string => `kind: Configuration\nspec:\n  mtls:\n    tokenValidators:\n${validators}`;

describe('spec.mtls.tokenValidators', () => {
  it('reads a jwks entry (name case-insensitive, option names too); durations are Go durations or whole seconds', () => {
    const config = parseSentryConfig(yaml([
      '      - name: JWKS',
      '        options:',
      '          Source: "https://keys.example/jwks.json"',
      '          caCertificate: /etc/ca.pem',
      '          minRefreshInterval: 90',
      '          requestTimeout: 1m30s',
      '          somethingElse: ignored',
    ].join('\n')), 'c.yaml');
    assert.deepEqual(config.jwksValidator, {
      source: 'https://keys.example/jwks.json', caCertificate: '/etc/ca.pem', minRefreshIntervalMs: 90_000, requestTimeoutMs: 90_000,
    });
    assert.equal(parseSentryConfig('kind: Configuration\nspec: {mtls: {tokenValidators: []}}', 'c').jwksValidator, undefined);
  });

  it('refuses the built-in validators, unknown names, a jwks without source and bad durations (ERR_CONFIG_INVALID, Dapr\'s texts)', () => {
    const cases: [string, RegExp][] = [
      ['      - name: kubernetes', /invalid token validator: the built-in 'kubernetes' and 'insecure' validators cannot be configured manually/],
      ['      - name: Insecure', /the built-in 'kubernetes' and 'insecure' validators cannot be configured manually/],
      ['      - name: oidc', /invalid token validator name: 'oidc'; supported values: 'jwks'/],
      ['      - name: unknown', /invalid token validator name: 'unknown'; supported values: 'jwks'/],
      ['      - name: jwks', /options\.source is required/],
      ['      - name: jwks\n        options: {source: x, minRefreshInterval: soon}', /failed to decode validator options: .*minRefreshInterval/],
    ];
    for (const [entry, message] of cases) {
      assert.throws(() => parseSentryConfig(yaml(entry), 'c.yaml'), (err: unknown) =>
        isWardenError(err) && err.code === 'ERR_CONFIG_INVALID' && message.test(err.message), entry);
    }
    assert.throws(() => parseSentryConfig('spec: {mtls: {tokenValidators: {name: jwks}}}', 'c'), /must be a list/);
  });

  it('a sentry with a bad tokenValidators configuration does not start', async () => {
    const dir = tempDir('warden-jwks-cfg-');
    try {
      writeFileSync(join(dir, 'config.yaml'), yaml('      - name: kubernetes'));
      await assert.rejects(startTestSentry({ options: { config: join(dir, 'config.yaml') } }),
        (err: unknown) => isWardenError(err) && err.code === 'ERR_CONFIG_INVALID');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('validator choice', () => {
  const jwks = { name: 'JWKS', validate: () => 'public' } as Validator;
  const kube = { name: 'KUBERNETES', validate: () => 'public' } as Validator;
  it('standalone: INSECURE by default; with JWKS configured, UNKNOWN must name one and INSECURE is not enabled', () => {
    assert.deepEqual(selectValidator('UNKNOWN', 'standalone'), { validator: insecureValidator });
    assert.deepEqual(selectValidator('UNKNOWN', 'standalone', [jwks]), { error: 'a validator name must be specified in this environment' });
    assert.deepEqual(selectValidator('INSECURE', 'standalone', [jwks]), { error: 'the requested validator is not enabled' });
    assert.deepEqual(selectValidator('JWKS', 'standalone', [jwks]), { validator: jwks });
    assert.deepEqual(selectValidator('JWKS', 'standalone'), { error: 'the requested validator is not enabled' });
  });
  it('kubernetes: UNKNOWN is KUBERNETES, JWKS when configured besides it', () => {
    assert.deepEqual(selectValidator('UNKNOWN', 'kubernetes', [kube, jwks]), { validator: kube });
    assert.deepEqual(selectValidator(3, 'kubernetes', [kube, jwks]), { validator: jwks });
    assert.deepEqual(selectValidator('JWKS', 'kubernetes', [kube]), { error: 'the requested validator is not enabled' });
  });
});

describe('JWKS sources', () => {
  const key = edKey('ed-1');
  const clock = new FixedClock(Date.now());
  const now = (): number => Math.floor(clock.now().getTime() / 1000);
  const req = (token: string) => ({
    id: 'myapp', namespace: 'default', trust_domain: '', token, token_validator: 'JWKS' as const, jwt_audiences: [],
    certificate_signing_request: Buffer.from('csr'),
  });
  const validatorFor = (source: string): JwksValidator =>
    new JwksValidator({ source, sentryId: 'spiffe://localhost/ns/default/dapr-sentry', clock, logger: pino({ level: 'silent' }), retryMs: 10 });

  it('inline JSON, base64 (padded or not) and a single JWK', async () => {
    const json = JSON.stringify(jwksOf(key));
    for (const source of [json, Buffer.from(json).toString('base64'), Buffer.from(json).toString('base64').replace(/=+$/, ''), JSON.stringify(key.jwk)]) {
      const v = validatorFor(source);
      v.start();
      try {
        assert.equal(await v.validate(req(signJwt(key, claimsFor(now()), { alg: 'EdDSA' }))), 'public');
      } finally {
        v.stop();
      }
    }
    await assert.rejects(locateJwks('neither a URL nor JSON'), /failed to parse property 'location': not a URL, path to local file, or JSON value \(optionally base64-encoded\)/);
    await assert.rejects(locateJwks(''), /property 'location' must not be empty/);
  });

  it('a file is read at start and re-read when it changes (a rotated key works without a restart)', async () => {
    const dir = tempDir('warden-jwks-file-');
    const file = join(dir, 'jwks.json');
    const rotated = rsaKey('rsa-2');
    writeFileSync(file, JSON.stringify(jwksOf(key)));
    const v = validatorFor(file);
    try {
      const loads: (() => void)[] = [];
      v.cache.onLoad(() => loads.splice(0).forEach((f) => f()));
      const firstLoad = new Promise<void>((resolve) => loads.push(resolve));
      v.start();
      await event(firstLoad, 'the first load of the JWKS file');
      assert.equal(await v.validate(req(signJwt(key, claimsFor(now()), { alg: 'EdDSA' }))), 'public');
      await assert.rejects(v.validate(req(signJwt(rotated, claimsFor(now())))), /could not verify message/);
      const reloaded = new Promise<void>((resolve) => loads.push(resolve));
      writeFileSync(file, JSON.stringify(jwksOf(rotated)));
      await event(reloaded, 'the reload after the JWKS file changed');
      assert.equal(await v.validate(req(signJwt(rotated, claimsFor(now())))), 'public');
      await assert.rejects(v.validate(req(signJwt(key, claimsFor(now()), { alg: 'EdDSA' }))), /could not verify message/);
    } finally {
      v.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file that does not parse keeps the validator not ready, with the reason', async () => {
    const dir = tempDir('warden-jwks-bad-');
    const file = join(dir, 'jwks.json');
    writeFileSync(file, '{"keys": "nope"}');
    const v = validatorFor(file);
    try {
      v.start();
      assert.equal(await v.cache.whenReady(), false);
      assert.match(v.cache.notReadyReason ?? '', /failed to parse JWKS file: "keys" must be an array/);
      await assert.rejects(v.validate(req('x.y.z')), /^Error: jwks validator not ready$|jwks validator not ready/);
    } finally {
      v.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JWKS fetch bounds (a hostile or broken source)', () => {
  async function serve(handler: (res: import('node:http').ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => handler(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    return {
      url: `http://127.0.0.1:${port}/jwks`,
      close: () => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    };
  }

  it('caCertificate may be the PEM text itself or a file path; a missing file is a clear error', async () => {
    const { fetchJwks } = await import('../../src/sentry/validators/jwks-source.js');
    const { startJwksServer } = await import('../support/jwks-server.js');
    const dir = tempDir('warden-jwks-ca-');
    const source = await startJwksServer(dir, jwksOf(edKey('e')));
    try {
      assert.deepEqual((await fetchJwks(source.url, { caCertificate: source.caPem, timeoutMs: 30_000 })).set, source.jwks);
      assert.deepEqual((await fetchJwks(source.url, { caCertificate: source.caFile, timeoutMs: 30_000 })).set, source.jwks);
      await assert.rejects(fetchJwks(source.url, { caCertificate: join(dir, 'nope.pem'), timeoutMs: 30_000 }),
        /failed to load CA certificate: value is neither a valid file path or nor a valid PEM-encoded string/);
    } finally {
      await source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a body over 1 MiB, a non-2xx answer, and a source that never finishes within requestTimeout', async () => {
    const { fetchJwks, MAX_JWKS_BYTES } = await import('../../src/sentry/validators/jwks-source.js');
    const huge = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"keys":[${'"x",'.repeat(MAX_JWKS_BYTES / 4)}"x"]}`);
    });
    const redirect = await serve((res) => res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end());
    const stalled = await serve((res) => res.writeHead(200).write('{"keys":['));
    try {
      await assert.rejects(fetchJwks(huge.url, { timeoutMs: 30_000 }), /failed to fetch JWKS: .*sent more than 1048576 bytes/);
      await assert.rejects(fetchJwks(redirect.url, { timeoutMs: 30_000 }), /failed to fetch JWKS: .*answered HTTP 302/);
      await assert.rejects(fetchJwks(stalled.url, { timeoutMs: 200 }), /failed to fetch JWKS: no (complete )?answer from .* within 200 ms/);
    } finally {
      await Promise.all([huge.close(), redirect.close(), stalled.close()]);
    }
  });
});

describe('JWKS refresh schedule', () => {
  it('max-age above minRefreshInterval is honoured, below it is not, and a huge one is capped at a day (never a timer overflow)', async () => {
    const { refreshIntervalMs, MAX_REFRESH_INTERVAL_MS } = await import('../../src/sentry/validators/jwks-cache.js');
    assert.equal(refreshIntervalMs(600_000, undefined), 600_000);
    assert.equal(refreshIntervalMs(600_000, 60_000), 600_000);
    assert.equal(refreshIntervalMs(600_000, 3_600_000), 3_600_000);
    assert.equal(refreshIntervalMs(600_000, 9_999_999_999_000), MAX_REFRESH_INTERVAL_MS);
    assert.ok(MAX_REFRESH_INTERVAL_MS < 2 ** 31);
  });
});
