/**
 * The OIDC server inside a running sentry (`options.oidc`): it serves the JWKS of the bundle the
 * sentry serves now (TrustBundle.jwt, which JWT issuance fills), its readiness is part of /healthz
 * (Dapr's `oidc-server` target), and it closes with the sentry.
 */
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TrustBundle } from '../../src/core/bundle.js';
import { jwksOf, rsaKey, selfSignedTlsFiles } from '../support/jwt-tokens.js';
import { startTestSentry, tempDir } from '../support/sentry-harness.js';

const oidcOptions = { listenAddress: '127.0.0.1', port: 0, allowedHosts: [], signingAlgorithm: 'RS256' };

describe('OIDC server in the sentry', () => {
  it('serves the current bundle\'s JWKS (404 while the bundle has none), and closes with the sentry', async () => {
    const t = await startTestSentry({ options: { oidc: oidcOptions } });
    try {
      const port = await t.sentry.oidc!.listening();
      const none = await t.get(port, '/jwks.json');
      assert.deepEqual([none.status, none.body], [404, 'JWKS not available\n']);
      assert.equal((await t.get(t.sentry.healthzPort, '/healthz')).status, 200);

      // What JWT issuance puts in the bundle (TrustBundle.jwt); the server reads the bundle per request.
      const key = rsaKey('sentry-key');
      const jwt = { signingKey: key.privateKey, keyId: key.kid, algorithm: 'PS256', jwks: jwksOf(key) };
      (t.sentry.currentCa().bundle as { jwt?: TrustBundle['jwt'] }).jwt = jwt;
      const served = await t.get(port, '/jwks.json');
      assert.deepEqual([served.status, JSON.parse(served.body)], [200, jwksOf(key)]);
      const doc = JSON.parse((await t.get(port, '/.well-known/openid-configuration')).body) as Record<string, unknown>;
      assert.deepEqual(doc.id_token_signing_alg_values_supported, ['PS256']);
      assert.ok(t.logs.some((l) => l.msg === 'Starting OIDC HTTP server on port 0'));
    } finally {
      await t.close();
    }
    assert.ok(t.logs.some((l) => l.msg === 'Shutting down OIDC HTTP server'));
  });

  it('/healthz is 503 while the OIDC server waits for its TLS files, 200 once it serves', async () => {
    const dir = tempDir('warden-oidc-sentry-');
    const certFile = join(dir, 'oidc.crt');
    const keyFile = join(dir, 'oidc.key');
    const t = await startTestSentry({ options: { oidc: { ...oidcOptions, tlsCertFile: certFile, tlsKeyFile: keyFile, tlsPollMs: 20 } } });
    try {
      const health = await t.get(t.sentry.healthzPort, '/healthz');
      assert.equal(health.status, 503);
      assert.match(health.body, /OIDC server not ready \(waiting for the OIDC TLS certificate and key files\)/);
      const made = selfSignedTlsFiles(dir, 'made');
      copyFileSync(made.keyFile, keyFile);
      copyFileSync(made.certFile, certFile);
      await t.sentry.oidc!.listening();
      assert.equal((await t.get(t.sentry.healthzPort, '/healthz')).status, 200);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without options.oidc there is no OIDC server, as Dapr logs it', async () => {
    const t = await startTestSentry();
    try {
      assert.equal(t.sentry.oidc, undefined);
      assert.ok(t.logs.some((l) => l.msg === 'OIDC HTTP server is disabled'));
    } finally {
      await t.close();
    }
  });
});
