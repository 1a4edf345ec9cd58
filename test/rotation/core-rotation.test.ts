/** The pure rotation core: phase targets, their checks, the retire time, the step machine, the plan and timeline. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { hasErrors, runChecks } from '../../src/core/checks/index.js';
import { FixedClock } from '../../src/core/clock.js';
import { publicKeysEqual } from '../../src/core/keys.js';
import {
  addAnchorSkipReason, buildTimeline, computePhaseTargets, computeRetireAfter, mergeAnchors, nextStep, oldChainEnd, planRotation,
  recordCompleted, recordFinished, recordIntent, recordSkipped, recordWritten, retireAfterOf, timelineDurationMs, WRITE_PHASES,
} from '../../src/core/rotation-phases/index.js';
import { DAY, HOUR, makeBundle, planRecord, POLICY, T0 } from './helpers.js';

const ders = (b: TrustBundle): string[] => b.anchors.map((a) => a.der.toString('hex'));

describe('phase targets', () => {
  const clock = new FixedClock(T0);
  const original = makeBundle(clock);
  clock.advance(HOUR);
  const material = makeBundle(clock);
  const targets = computePhaseTargets(original, material);

  it('add-anchor: old root then new root, old issuer and key', () => {
    const t = targets['add-anchor'];
    assert.deepEqual(ders(t), [...ders(original), ...ders(material)]);
    assert.ok(t.issuer.der.equals(original.issuer.der));
    assert.ok(publicKeysEqual(t.issuerKey, original.issuerKey));
    assert.ok(t.root.der.equals(original.root.der), 'the old issuer still chains to the old root');
  });

  it('switch-issuer: the same ca.crt as add-anchor, the new issuer and key', () => {
    const t = targets['switch-issuer'];
    assert.equal(t.toTexts().ca, targets['add-anchor'].toTexts().ca, 'ca.crt does not change in this phase');
    assert.ok(t.issuer.der.equals(material.issuer.der));
    assert.ok(publicKeysEqual(t.issuerKey, material.issuerKey));
    assert.ok(t.root.der.equals(material.root.der), 'the new issuer chains to the new root');
  });

  it('retire-old-root: the new root only', () => {
    const t = targets['retire-old-root'];
    assert.deepEqual(ders(t), ders(material));
    assert.deepEqual(t.toTexts(), material.toTexts());
  });

  it('every target passes the whole check chain, now and half a year later', () => {
    for (const at of [clock.now(), new Date(clock.now().getTime() + 180 * DAY)]) {
      for (const phase of WRITE_PHASES) {
        const findings = runChecks(targets[phase], at, POLICY);
        assert.equal(hasErrors(findings), false, `${phase} at ${at.toISOString()}: ${JSON.stringify(findings)}`);
      }
    }
    // The extra anchor is reported as such, not as an error.
    assert.ok(runChecks(targets['add-anchor'], clock.now(), POLICY).some((f) => f.code === 'INFO_MULTI_ROOT'));
  });

  it('targets are deterministic: the same bytes every time (a resumed rotation writes what the first run would have)', () => {
    const again = computePhaseTargets(TrustBundle.fromTexts(original.toTexts()), TrustBundle.fromTexts(material.toTexts()));
    for (const phase of WRITE_PHASES) assert.deepEqual(again[phase].toTexts(), targets[phase].toTexts());
  });

  it('an original that already holds several roots keeps them all until retire; duplicates are merged', () => {
    const third = makeBundle(clock);
    const multi = original.withAnchors([...original.anchors, third.root]);
    const t = computePhaseTargets(multi, material);
    assert.deepEqual(ders(t['add-anchor']), [...ders(original), ...ders(third), ...ders(material)]);
    assert.deepEqual(ders(t['retire-old-root']), ders(material));
    assert.equal(mergeAnchors(original.anchors, original.anchors).length, 1);
  });
});

describe('retire time and the step machine', () => {
  const clock = new FixedClock(T0);
  const original = makeBundle(clock);
  const material = makeBundle(clock);

  it('retire = switch-issuer completion + workload TTL + clock skew', () => {
    const done = new Date(T0.getTime() + 5 * HOUR);
    const far = new Date(T0.getTime() + 300 * DAY);
    assert.equal(computeRetireAfter(done, far, POLICY).toISOString(), new Date(done.getTime() + DAY + 15 * 60_000).toISOString());
    const custom = { workloadTtlMs: 4000, clockSkewMs: 1000 };
    assert.equal(computeRetireAfter(done, far, custom).getTime(), done.getTime() + 5000);
  });

  it('…or the end of the old chain + skew when that comes first (nothing verifies against it after)', () => {
    const done = new Date(T0.getTime() + 5 * HOUR);
    const chainEnd = new Date(done.getTime() + HOUR);
    assert.equal(computeRetireAfter(done, chainEnd, POLICY).getTime(), chainEnd.getTime() + 15 * 60_000);
    const shortLived = makeBundle(clock, { validityMs: 2 * HOUR });
    assert.equal(oldChainEnd(shortLived).getTime(), Math.min(shortLived.root.notAfter.getTime(), shortLived.issuer.notAfter.getTime()));
  });

  it('walks plan → write → converge per phase, waits before retiring, then finishes', () => {
    let r = planRecord(original, material, 'v0', T0);
    let now = T0;
    const at = (ms: number): Date => (now = new Date(now.getTime() + ms));
    assert.deepEqual(nextStep(r, now), { kind: 'write', phase: 'add-anchor' });
    r = recordIntent(r, 'add-anchor', 'v0', at(0));
    assert.deepEqual(nextStep(r, now), { kind: 'reconcile', phase: 'add-anchor' });
    r = recordWritten(r, 'add-anchor', 'v1', at(100), { name: 'b1', location: '/b1' });
    assert.equal(r.backup?.name, 'b1');
    assert.deepEqual(nextStep(r, now), { kind: 'converge', phase: 'add-anchor', propagatedAt: new Date(now.getTime() + 10_000) });
    r = recordCompleted(r, 'add-anchor', 'ok', at(12_000));
    assert.equal(r.phase, 'add-anchor');
    assert.deepEqual(nextStep(r, now), { kind: 'write', phase: 'switch-issuer' });
    r = recordWritten(recordIntent(r, 'switch-issuer', 'v1', at(0)), 'switch-issuer', 'v2', at(50), { name: 'b2', location: '/b2' });
    assert.equal(r.backup?.name, 'b1', 'the first backup is the one kept');
    const switchDone = at(11_000);
    r = recordCompleted(r, 'switch-issuer', 'ok', switchDone, computeRetireAfter(switchDone, oldChainEnd(original), r.policy));
    const retireAt = new Date(switchDone.getTime() + DAY + 15 * 60_000);
    assert.equal(retireAfterOf(r)?.getTime(), retireAt.getTime());
    assert.deepEqual(nextStep(r, now), { kind: 'wait', phase: 'retire-old-root', until: retireAt });
    assert.deepEqual(nextStep(r, new Date(retireAt.getTime() - 1)), { kind: 'wait', phase: 'retire-old-root', until: retireAt });
    assert.deepEqual(nextStep(r, retireAt), { kind: 'write', phase: 'retire-old-root' });
    assert.deepEqual(nextStep(r, now, { force: true }), { kind: 'write', phase: 'retire-old-root' }, '--force retires at once');
    r = recordCompleted(recordWritten(recordIntent(r, 'retire-old-root', 'v2', retireAt), 'retire-old-root', 'v3', retireAt), 'retire-old-root', 'ok', retireAt);
    assert.deepEqual(nextStep(r, retireAt), { kind: 'finish' });
    r = recordFinished(r, retireAt);
    assert.equal(r.status, 'done');
    assert.equal(r.phase, 'done');
    assert.deepEqual(nextStep(r, retireAt), { kind: 'done' });
  });

  it('a skipped phase counts as complete; transitions never mutate their input', () => {
    const r = planRecord(original, material, 'v0', T0);
    const frozen = JSON.stringify(r);
    const skipped = recordSkipped(r, 'add-anchor', 'expired', T0);
    assert.equal(JSON.stringify(r), frozen);
    assert.deepEqual(nextStep(skipped, T0), { kind: 'write', phase: 'switch-issuer' });
  });
});

describe('plan', () => {
  it('a healthy original: no skips, every phase checked and valid', () => {
    const clock = new FixedClock(T0);
    const plan = planRotation({ original: makeBundle(clock), material: makeBundle(clock), now: T0, policy: POLICY });
    assert.equal(plan.invalid, false);
    assert.deepEqual(plan.phases.map((p) => [p.phase, p.skip]), WRITE_PHASES.map((p) => [p, undefined]));
    assert.deepEqual(plan.notes, []);
  });

  it('an expired original: add-anchor is skipped and says why; the rest passes; the notes say it plainly', () => {
    const clock = new FixedClock(T0);
    const original = makeBundle(clock, { validityMs: HOUR });
    clock.advance(2 * HOUR);
    const material = makeBundle(clock);
    const now = clock.now();
    assert.equal(addAnchorSkipReason(original, new Date(T0.getTime() + 30 * 60_000), POLICY), undefined, 'not skipped while valid');
    const plan = planRotation({ original, material, now, policy: POLICY });
    assert.equal(plan.invalid, false);
    assert.match(plan.phases[0]!.skip ?? '', /root expired at .*issuer expired at/);
    assert.ok(plan.notes.some((n) => /root certificate expired/.test(n)));
    const sw = plan.phases[1]!;
    assert.ok(sw.findings.some((f) => f.code === 'WARN_ANCHOR_EXPIRED'), 'the dead old root is a warning in switch-issuer');
    // No wait before retiring: the old chain ended an hour ago.
    assert.ok(computeRetireAfter(now, oldChainEnd(original), POLICY).getTime() < now.getTime());
  });

  it('new material whose issuer does not chain to its root makes the plan invalid', () => {
    const clock = new FixedClock(T0);
    const a = makeBundle(clock);
    const b = makeBundle(clock);
    const mixed = new TrustBundle(a.anchors, b.issuerChain, b.issuerKey);
    const plan = planRotation({ original: makeBundle(clock), material: mixed, now: T0, policy: POLICY });
    assert.equal(plan.invalid, true);
    assert.ok(plan.phases[2]!.findings.some((f) => f.code === 'ERR_ISSUER_NOT_FROM_ANCHORS'));
  });

  it('timeline: propagation and convergence per phase, then TTL + skew before retiring (none with force)', () => {
    const clock = new FixedClock(T0);
    const original = makeBundle(clock);
    const estimates = { propagationMs: 10_000, restartMs: 0, convergenceMs: 500 };
    const input = {
      now: T0, estimates: { 'add-anchor': estimates, 'switch-issuer': estimates, 'retire-old-root': estimates },
      skips: {}, policy: POLICY, force: false, oldChainEndsAt: oldChainEnd(original),
    };
    const rows = buildTimeline(input);
    assert.equal(timelineDurationMs(rows), 3 * 10_500 + DAY + 15 * 60_000);
    const wait = rows.find((r) => r.step === 'wait for old leaves to expire');
    assert.equal(wait?.startsAt.getTime(), T0.getTime() + 2 * 10_500);
    assert.equal(timelineDurationMs(buildTimeline({ ...input, force: true })), 3 * 10_500);
    const skipped = buildTimeline({ ...input, skips: { 'add-anchor': 'expired' } });
    assert.deepEqual(skipped.filter((r) => r.phase === 'add-anchor').map((r) => r.step), ['skip']);
  });
});
