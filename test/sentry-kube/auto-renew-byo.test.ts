/**
 * A bring-your-own bundle in Kubernetes (its issuer chain runs through an intermediate, and the
 * sentry has no root key): `--auto-renew` does not touch it once it is due, but says so in the log,
 * the metrics and a Warning Event on the trust-bundle Secret.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAY_MS } from '../../src/core/thresholds.js';
import { buildBundle, withExpiresIn, withIntermediate } from '../support/bundles.js';
import { NS, TD, secretTexts, startCluster, startKubeSentry, waitFor } from './harness.js';

describe('sentry --auto-renew in Kubernetes: a bundle it cannot renew', () => {
  it('is left alone: AutoRenewNotPossible Event, warning, warden_sentry_auto_renew_possible 0', { timeout: 120_000 }, async (t) => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS }, withIntermediate(), withExpiresIn(5 * DAY_MS, 'root'), withExpiresIn(5 * DAY_MS, 'issuer'));
    const server = await startCluster({ trustBundle: texts });
    t.after(() => server.close());
    const logs: { msg: string }[] = [];
    const k = await startKubeSentry(server, { autoRenew: true, autoRenewLeaseDurationMs: 3_000 }, { logs: logs as never });
    t.after(() => k.close());
    await waitFor('the AutoRenewNotPossible Event', () => server.api.list('events', { namespace: NS }).items
      .some((e) => e.reason === 'AutoRenewNotPossible' && (e.involvedObject as { name?: string }).name === 'dapr-trust-bundle' && e.type === 'Warning'), 60_000);
    const event = server.api.list('events', { namespace: NS }).items.find((e) => e.reason === 'AutoRenewNotPossible');
    assert.match(String(event?.message), /was due for automatic renewal at .* but the sentry cannot renew it: the root .* was brought by its operator/);
    assert.ok(logs.some((l) => /^Auto-renew: The root certificate was due for automatic renewal/.test(l.msg)));
    const metrics = await (await fetch(`http://127.0.0.1:${k.sentry.metricsPort}/metrics`)).text();
    assert.match(metrics, /^warden_sentry_auto_renew_possible 0$/m);
    assert.match(metrics, /^warden_sentry_auto_renew_leader 1$/m);
    assert.equal(secretTexts(server).ca, texts.ca, 'the bundle was not touched');
    assert.equal(server.api.find('secrets', NS, 'dapr-trust-bundle-rotation'), undefined, 'no rotation was recorded');
  });
});
