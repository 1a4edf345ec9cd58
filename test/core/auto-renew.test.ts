import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  assessRenewability, bundleRenewalTime, certificateRenewalTime, DEFAULT_AUTO_RENEW_POLICY, DEFAULT_RENEW_AT, DEFAULT_RENEW_BEFORE_MS,
} from '../../src/core/auto-renew.js';
import { generateTrustBundle, TrustBundle } from '../../src/core/bundle.js';
import { FixedClock } from '../../src/core/clock.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import { observeRotationEvent, EVENT_REASON } from '../../src/sentry/auto-renew/observe.js';

const T0 = Date.UTC(2027, 0, 1);
const at = (days: number): Date => new Date(T0 + days * DAY_MS);

describe('auto-renew schedule (core/auto-renew.ts)', () => {
  it('renews at the earlier of the fraction and the renew-before rule', () => {
    const year = { notBefore: at(0), notAfter: at(365) };
    // 2/3 of a year (day 243.3) comes before 7 days ahead of expiry (day 358).
    assert.equal(certificateRenewalTime(year, DEFAULT_AUTO_RENEW_POLICY).getTime(), T0 + Math.floor(365 * DAY_MS * DEFAULT_RENEW_AT));
    // A 9-day CA: 2/3 is day 6, 7 days before expiry is day 2: day 2 wins.
    assert.deepEqual(certificateRenewalTime({ notBefore: at(0), notAfter: at(9) }, DEFAULT_AUTO_RENEW_POLICY), at(2));
    // A CA shorter than renew-before is due at once (never before NotBefore).
    assert.deepEqual(certificateRenewalTime({ notBefore: at(0), notAfter: at(3) }, DEFAULT_AUTO_RENEW_POLICY), at(0));
    assert.equal(DEFAULT_RENEW_BEFORE_MS, 7 * DAY_MS);
  });

  it('a bundle is due when its root or its issuer is, and says which', () => {
    const clock = new FixedClock(at(0));
    const { bundle } = generateTrustBundle({ clock, trustDomain: 'public', namespace: 'default', validityMs: 90 * DAY_MS, clockSkewMs: 0 });
    const due = bundleRenewalTime(bundle, { renewAt: 0.5, renewBeforeMs: 0 });
    assert.deepEqual(due.at, at(45));
    assert.equal(due.which, 'root');
  });
});

describe('auto-renew renewability', () => {
  const clock = new FixedClock(at(0));
  it('a generated root is renewable with a fresh root; a provided root key must match the root', () => {
    const { bundle, rootKey } = generateTrustBundle({ clock, trustDomain: 'public', namespace: 'default' });
    assert.deepEqual(assessRenewability(bundle, undefined).renewable, true);
    const withKey = assessRenewability(bundle, rootKey);
    assert.ok(withKey.renewable && withKey.source === 'private-key');
    const other = generateKeyPairSync('ed25519').privateKey;
    const wrong = assessRenewability(bundle, other);
    assert.equal(wrong.renewable, false);
    assert.match(wrong.why, /does not belong to the current root/);
  });

  it('a bring-your-own root (another subject, or an intermediate issuer chain) is not renewable without its key', () => {
    const { bundle } = generateTrustBundle({ clock, trustDomain: 'public', namespace: 'default' });
    // The issuer chain carries an intermediate: not the profile a sentry generates.
    const byo = new TrustBundle(bundle.anchors, [bundle.issuer, bundle.root], bundle.issuerKey);
    const r = assessRenewability(byo, undefined);
    assert.equal(r.renewable, false);
    assert.match(r.why, /brought by its operator/);
    assert.match(r.why, /--auto-renew-root-key/);
  });
});

describe('auto-renew observations (one table for logs, the phase gauge and Events)', () => {
  it('maps every engine event kind; the trust gate\'s trust-not-converged becomes a TrustNotConverged Warning, the pods metric and a log line naming the pods', () => {
    const start = observeRotationEvent('r1', { kind: 'phase-start', phase: 'add-anchor', summary: 's' });
    assert.equal(start?.phase, 'add-anchor');
    assert.equal(start?.event?.reason, EVENT_REASON.phase);
    const waiting = observeRotationEvent('r1', { kind: 'waiting', phase: 'retire-old-root', until: at(1), why: 'w' });
    assert.match(waiting?.log.msg ?? '', /retired at 2027-01-02/);
    const done = observeRotationEvent('r1', { kind: 'finished' });
    assert.equal(done?.phase, 'idle');
    assert.equal(done?.event?.reason, EVENT_REASON.finished);
    assert.equal(done?.podsNotConverged, 0);
    const pod = (name: string) => ({ namespace: 'apps', name, state: 'not-converged' as const, reason: 'lacks the new root', owner: `Deployment/${name.slice(0, 1)}` });
    const stale = observeRotationEvent('r1', { kind: 'trust-not-converged', phase: 'add-anchor', pods: [pod('a-1'), pod('b-2')], checked: 9, policy: 'control-plane', restarting: [] });
    assert.equal(stale?.event?.type, 'Warning');
    assert.equal(stale?.event?.reason, 'TrustNotConverged');
    assert.equal(stale?.podsNotConverged, 2);
    assert.equal(stale?.log.level, 'warn');
    assert.match(stale?.log.msg ?? '', /add-anchor: 2 of 9 running Dapr pod\(s\) do not trust the new root yet; the issuer is not switched until they do; waiting for them \(--auto-renew-restarts control-plane\): apps\/a-1, apps\/b-2$/);
    assert.deepEqual(stale?.log.fields.pods, ['apps/a-1', 'apps/b-2']);
    assert.match(stale?.event?.message ?? '', /apps\/a-1, apps\/b-2/);
    const restarting = observeRotationEvent('r1', { kind: 'trust-not-converged', phase: 'add-anchor', pods: [pod('a-1')], checked: 9, policy: 'apps', restarting: ['apps/Deployment/a'] });
    assert.match(restarting?.log.msg ?? '', /restarting apps\/Deployment\/a: apps\/a-1/);
    const many = observeRotationEvent('r1', { kind: 'trust-not-converged', phase: 'add-anchor', pods: Array.from({ length: 25 }, (_, i) => pod(`p-${i}`)), checked: 30, policy: 'none', restarting: [] });
    assert.match(many?.event?.message ?? '', /apps\/p-19 and 5 more$/, 'a long list is cut, the count kept');
    assert.equal(many?.podsNotConverged, 25);
    const converged = observeRotationEvent('r1', { kind: 'trust-converged', phase: 'add-anchor', checked: 9 });
    assert.equal(converged?.event?.reason, 'TrustConverged');
    assert.equal(converged?.podsNotConverged, 0);
    const distributed = observeRotationEvent('r1', { kind: 'trust-distributed', phase: 'add-anchor', created: ['a'], updated: ['b'], namespaces: 2 });
    assert.equal(distributed?.event?.reason, 'TrustDistributed');
    assert.match(distributed?.log.msg ?? '', /dapr-root-ca\.crt written in a \(created\), b \(updated\)/);
    const unknown = observeRotationEvent('r1', { kind: 'something-new', phase: 'add-anchor' } as never);
    assert.equal(unknown?.event?.type, 'Warning', 'an event kind the sentry does not know yet is never silent');
  });
});
