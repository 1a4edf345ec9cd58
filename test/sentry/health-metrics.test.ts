/**
 * Statement 24 and Warden's issuer-validity rules: `/healthz` 200/503, the metrics exposition on
 * every path with Dapr's names, types and labels plus Warden's, and FAILED_PRECONDITION once the
 * issuer has expired (tested with an injected clock).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { buildBundle, withExpiresIn } from '../support/bundles.js';
import { callError, csrPem } from '../support/sentry-client.js';
import { LEVEL, startTestSentry } from '../support/sentry-harness.js';

const HOUR = 3600 * 1000;
const request = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };

/** `name{labels} value` samples of an exposition text. */
function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function typeOf(text: string, name: string): string | undefined {
  return new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];
}

describe('health and metrics', () => {
  it('24: /healthz 200 when serving; metrics on / and any path with Dapr\'s six series', async () => {
    const built = await buildBundle({ now: new Date() });
    const t = await startTestSentry({ texts: built.texts });
    try {
      const health = await t.get(t.sentry.healthzPort, '/healthz');
      assert.equal(health.status, 200);
      assert.equal((await t.get(t.sentry.healthzPort, '/nope')).status, 404);

      await t.client().sign(request);
      await callError(t.client().sign({ ...request, id: '' }));

      const port = t.sentry.metricsPort;
      assert.ok(port !== undefined);
      const root = await t.get(port, '/');
      assert.equal(root.status, 200);
      assert.match(root.contentType ?? '', /^text\/plain; version=0\.0\.4/);
      for (const path of ['/metrics', '/whatever/else']) {
        const other = await t.get(port, path);
        assert.equal(other.status, 200, path);
        assert.match(other.body, /^# TYPE dapr_sentry_cert_sign_request_received_total counter$/m, path);
      }
      const text = root.body;
      const expectedTypes: Record<string, string> = {
        dapr_sentry_cert_sign_request_received_total: 'counter',
        dapr_sentry_cert_sign_success_total: 'counter',
        dapr_sentry_cert_sign_failure_total: 'counter',
        dapr_sentry_servercert_issue_failed_total: 'counter',
        dapr_sentry_issuercert_changed_total: 'counter',
        dapr_sentry_issuercert_expiry_timestamp: 'gauge',
        warden_sentry_root_expiry_timestamp_seconds: 'gauge',
        warden_sentry_issuer_expiry_timestamp_seconds: 'gauge',
        warden_sentry_sign_duration_seconds: 'histogram',
        warden_sentry_sign_failures_total: 'counter',
        warden_sentry_reload_failures_total: 'counter',
        warden_sentry_memory_releases_total: 'counter',
        warden_sentry_memory_released_bytes_total: 'counter',
        process_cpu_user_seconds_total: 'counter',
      };
      for (const [name, type] of Object.entries(expectedTypes)) assert.equal(typeOf(text, name), type, name);

      assert.equal(sample(text, 'dapr_sentry_cert_sign_request_received_total'), 2);
      assert.equal(sample(text, 'dapr_sentry_cert_sign_success_total'), 1);
      assert.equal(sample(text, 'dapr_sentry_cert_sign_failure_total{reason="sign"}'), 1);
      assert.equal(text.match(/^dapr_sentry_servercert_issue_failed_total/m), null, 'as in Dapr, no series before the first failure');
      assert.equal(sample(text, 'dapr_sentry_issuercert_changed_total'), 0);
      const issuerSeconds = built.bundle.issuer.notAfter.getTime() / 1000;
      assert.equal(sample(text, 'dapr_sentry_issuercert_expiry_timestamp'), issuerSeconds);
      assert.equal(sample(text, 'warden_sentry_issuer_expiry_timestamp_seconds'), issuerSeconds);
      assert.equal(sample(text, 'warden_sentry_root_expiry_timestamp_seconds'), built.bundle.root.notAfter.getTime() / 1000);
      assert.equal(sample(text, 'warden_sentry_sign_failures_total{reason="validator"}'), 1);
      for (const reason of ['invalid_csr', 'csr_signature', 'issuer_not_valid', 'invalid_identity', 'internal']) {
        assert.equal(sample(text, `warden_sentry_sign_failures_total{reason="${reason}"}`), 0, reason);
      }
      assert.equal(sample(text, 'warden_sentry_sign_duration_seconds_count'), 2);
    } finally {
      await t.close();
    }
  });

  it('--enable-metrics=false opens no metrics port', async () => {
    const t = await startTestSentry({ options: { enableMetrics: false } });
    try {
      assert.equal(t.sentry.metricsPort, undefined);
      assert.equal((await t.get(t.sentry.healthzPort, '/healthz')).status, 200);
    } finally {
      await t.close();
    }
  });

  for (const signThreads of [0, 1]) {
  it(`an issuer that expires while running: /healthz 503 and FAILED_PRECONDITION naming the fix (${signThreads} signing threads: the sentry's clock decides)`, async () => {
    const clock = new FixedClock(new Date());
    const built = await buildBundle({ now: clock.now() }, withExpiresIn(2 * HOUR));
    const t = await startTestSentry({ texts: built.texts, options: { clock, signThreads } });
    try {
      assert.ok(t.logs.some((l) => l.code === 'WARN_ISSUER_EXPIRING' && l.level === LEVEL.warn), 'expiring issuer noted at start');
      const client = t.client();
      await client.sign(request);
      assert.equal((await t.get(t.sentry.healthzPort, '/healthz')).status, 200);

      clock.advance(3 * HOUR);
      const health = await t.get(t.sentry.healthzPort, '/healthz');
      assert.equal(health.status, 503);
      assert.match(health.body, /issuer certificate has expired/);
      const err = await callError(client.sign(request));
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(err.details, /^cannot sign: the issuer certificate expired at \d{4}-\d\d-\d\dT/);
      assert.match(err.details, /warden mtls renew-certificate/);
      const text = (await t.get(t.sentry.metricsPort as number, '/')).body;
      assert.equal(sample(text, 'warden_sentry_sign_failures_total{reason="issuer_not_valid"}'), 1);
      assert.equal(sample(text, 'dapr_sentry_cert_sign_failure_total{reason="sign"}'), 1);
      assert.ok(t.logs.some((l) => l.level === LEVEL.error && /^Error signing identity: cannot sign/.test(l.msg)));
    } finally {
      await t.close();
    }
  });
  }
});
