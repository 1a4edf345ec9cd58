/**
 * docs/examples/config.yaml (issue 13, rough edge 12) is a Configuration the sentry's loader
 * accepts, with the values its comments promise, and the README points to it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_SENTRY_CONFIG, loadSentryConfig } from '../../src/sentry/config.js';
import { REPO } from './helpers.js';

const EXAMPLE = join(REPO, 'docs', 'examples', 'config.yaml');

describe('docs/examples/config.yaml', () => {
  it('loads with the sentry\'s config loader: the TTL and skew it sets are the documented defaults', async () => {
    const config = await loadSentryConfig(EXAMPLE);
    assert.deepEqual(config, { workloadCertTtlMs: 24 * 3_600_000, allowedClockSkewMs: 15 * 60_000 });
    assert.deepEqual(config, { ...DEFAULT_SENTRY_CONFIG });
    const doc = parse(readFileSync(EXAMPLE, 'utf8')) as { kind: string; apiVersion: string; spec: { mtls: Record<string, unknown> } };
    assert.equal(doc.kind, 'Configuration');
    assert.equal(doc.apiVersion, 'dapr.io/v1alpha1');
    assert.equal(doc.spec.mtls.workloadCertTTL, '24h');
    assert.equal(doc.spec.mtls.allowedClockSkew, '15m');
  });

  it('is referenced from the README', () => {
    assert.match(readFileSync(join(REPO, 'README.md'), 'utf8'), /docs\/examples\/config\.yaml/);
  });
});
