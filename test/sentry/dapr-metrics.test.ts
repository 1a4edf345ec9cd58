/**
 * Dapr Sentry's six metrics as Dapr 1.16-1.18 exports them (pkg/sentry/monitoring/metrics.go, the
 * same in v1.16.19, v1.17.13 and v1.18.3; spec 5.2): names, types, HELP texts to the byte, and
 * series presence (a labelled series appears at its first increment; the serving-certificate
 * failure counter's `reason` is always empty because Dapr records it without the tag).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { FixedClock } from '../../src/core/clock.js';
import { CaStateHolder, createCaState } from '../../src/sentry/ca-state.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import { ServingIdentity } from '../../src/sentry/tls-identity.js';

const DAY = 24 * 3600 * 1000;

/** `# HELP` and `# TYPE` of Dapr's measures, from metrics.go (stats.Int64 descriptions). */
const DAPR: Record<string, [help: string, type: string]> = {
  dapr_sentry_cert_sign_request_received_total: ['The number of CSRs received.', 'counter'],
  dapr_sentry_cert_sign_success_total: ['The number of certificates issuances that have succeeded.', 'counter'],
  dapr_sentry_cert_sign_failure_total: ['The number of errors occurred when signing the CSR.', 'counter'],
  dapr_sentry_servercert_issue_failed_total: ['The number of server TLS certificate issuance failures.', 'counter'],
  dapr_sentry_issuercert_changed_total: ['The number of issuer cert updates, when issuer cert or key is changed', 'counter'],
  dapr_sentry_issuercert_expiry_timestamp: ['The unix timestamp, in seconds, when issuer/root cert will expire.', 'gauge'],
};

describe('Dapr\'s sentry metrics', () => {
  it('HELP and TYPE of the six series are Dapr\'s, byte for byte', async () => {
    const { body } = await new SentryMetrics().render();
    for (const [name, [help, type]] of Object.entries(DAPR)) {
      assert.ok(body.includes(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`), name);
    }
  });

  it('labelled Dapr series appear at their first increment: sign failures with reason="sign", serving-cert failures with reason=""', async () => {
    const metrics = new SentryMetrics();
    const before = (await metrics.render()).body;
    assert.doesNotMatch(before, /^dapr_sentry_cert_sign_failure_total/m);
    assert.doesNotMatch(before, /^dapr_sentry_servercert_issue_failed_total/m);
    metrics.recordSignFailure('validator');
    const after = (await metrics.render()).body;
    assert.match(after, /^dapr_sentry_cert_sign_failure_total\{reason="sign"\} 1$/m);
  });

  it('a serving certificate the CA cannot issue (issuer expired) counts dapr_sentry_servercert_issue_failed_total{reason=""}', async () => {
    const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
    const { bundle } = generateTrustBundle({ clock, trustDomain: 'localhost', namespace: 'default', validityMs: DAY });
    const caState = new CaStateHolder(createCaState(bundle, 1, { clock, config: { workloadCertTtlMs: DAY, allowedClockSkewMs: 0 } as never }));
    const metrics = new SentryMetrics();
    const identity = new ServingIdentity({ caState, clock, logger: pino({ level: 'silent' }), metrics, trustDomain: 'localhost', namespace: 'default' });
    await identity.renew();
    clock.advance(2 * DAY);
    await assert.rejects(identity.renew());
    identity.stop();
    const { body } = await metrics.render();
    assert.match(body, /^dapr_sentry_servercert_issue_failed_total\{reason=""\} 1$/m);
    assert.deepEqual(body.split('\n').filter((l) => l.startsWith('dapr_sentry_servercert_issue_failed_total')), ['dapr_sentry_servercert_issue_failed_total{reason=""} 1']);
  });
});
