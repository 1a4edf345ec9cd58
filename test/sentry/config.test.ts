/** The Sentry Configuration loader (spec 2.3): Go durations, Dapr's defaults, and clear refusals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import { DEFAULT_SENTRY_CONFIG, loadSentryConfig, parseSentryConfig } from '../../src/sentry/config.js';

const MIN = 60_000;

function invalid(text: string, pattern: RegExp): void {
  assert.throws(() => parseSentryConfig(text, 'c.yaml'), (err: unknown) => {
    assert.ok(isWardenError(err, 'ERR_CONFIG_INVALID'), String(err));
    assert.match(err.message, /^invalid Sentry configuration c\.yaml: /);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('Sentry configuration', () => {
  it('defaults to 24h TTL and 15m skew without a file, for an empty file, and for missing fields', async () => {
    assert.deepEqual(DEFAULT_SENTRY_CONFIG, { workloadCertTtlMs: 24 * 60 * MIN, allowedClockSkewMs: 15 * MIN });
    assert.deepEqual(await loadSentryConfig(undefined), DEFAULT_SENTRY_CONFIG);
    assert.deepEqual(parseSentryConfig('', 'c.yaml'), DEFAULT_SENTRY_CONFIG);
    assert.deepEqual(parseSentryConfig('kind: Configuration\nspec:\n  mtls:\n    enabled: true\n', 'c.yaml'), DEFAULT_SENTRY_CONFIG);
  });

  it('reads workloadCertTTL and allowedClockSkew as Go durations', () => {
    const text = 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 1h30m\n    allowedClockSkew: "90s"\n';
    assert.deepEqual(parseSentryConfig(text, 'c.yaml'), { workloadCertTtlMs: 90 * MIN, allowedClockSkewMs: 1.5 * MIN });
  });

  it('refuses what it cannot honour', () => {
    invalid('spec:\n  mtls:\n    workloadCertTTL: 1d\n', /spec\.mtls\.workloadCertTTL: invalid duration "1d"/);
    invalid('spec:\n  mtls:\n    workloadCertTTL: 24\n', /Go duration string/);
    invalid('spec:\n  mtls:\n    workloadCertTTL: 0s\n', /must be positive/);
    invalid('spec:\n  mtls:\n    allowedClockSkew: -1m\n', /must not be negative/);
    invalid('kind: Component\n', /expected "Configuration"/);
    invalid('- a\n- b\n', /not a mapping/);
    invalid('spec: [1]\n', /spec must be a mapping/);
    invalid('spec:\n  mtls:\n    tokenValidators:\n      - name: kubernetes\n', /the built-in 'kubernetes' and 'insecure' validators cannot be configured manually/);
    invalid('spec: {\n', /not valid YAML/);
  });

  it('a missing file is ERR_CONFIG_INVALID naming it', async () => {
    await assert.rejects(loadSentryConfig('/nonexistent/daprsystem.yaml'), (err: unknown) =>
      isWardenError(err, 'ERR_CONFIG_INVALID') && err.message.includes('/nonexistent/daprsystem.yaml'));
  });
});
