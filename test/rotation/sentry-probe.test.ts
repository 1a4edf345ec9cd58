/**
 * Convergence against a real sentry (in-process, real TCP+TLS): the probe sees what it signs with
 * and which anchors it hands out, and the self-hosted backend waits until the sentry has reloaded
 * each phase's bundle, or gives up with ERR_ROTATION_NOT_CONVERGED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { computePhaseTargets } from '../../src/core/rotation-phases/targets.js';
import { SelfHostedBackend } from '../../src/rotation-engine/backends/self-hosted.js';
import type { RotationEvent } from '../../src/rotation-engine/events.js';
import { FileJournalStore } from '../../src/rotation-engine/journal.js';
import { anchorsPemOf, compareWithBundle } from '../../src/rotation-engine/sentry-compare.js';
import { probeSentry } from '../../src/rotation-engine/sentry-probe.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { systemTimers } from '../../src/sidecar-client/timers.js';
import { startTestSentry, type TestSentry } from '../support/sentry-harness.js';
import { makeBundle, planRecord } from './helpers.js';

describe('sentry probe and self-hosted convergence', () => {
  const original = makeBundle(systemClock, { trustDomain: 'localhost' });
  const material = makeBundle(systemClock, { trustDomain: 'localhost' });
  const targets = computePhaseTargets(original, material);
  let t: TestSentry;
  const target = (): { address: string } => ({ address: t.address });

  before(async () => {
    t = await startTestSentry({ texts: original.toTexts(), options: { reloadDebounceMs: 1000 } });
  });
  after(async () => {
    await t?.close();
  });

  it('sees the issuer it signs with and the anchors it hands out', async () => {
    const result = await probeSentry(target(), anchorsPemOf(original));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(compareWithBundle(result.observation, original, new Date()), []);
    const reasons = compareWithBundle(result.observation, targets['switch-issuer'], new Date());
    assert.equal(reasons.length, 2, reasons.join('\n'));
    assert.match(reasons[0]!, /not with the expected issuer/);
    assert.match(reasons[1]!, /hands out 1 trust anchor\(s\).*not the expected 2/);
    const retire = compareWithBundle(result.observation, targets['retire-old-root'], new Date());
    assert.match(retire[2] ?? '', /does not verify against the expected anchors/);
  });

  it('tells an unreachable sentry, a foreign CA and a wrong SPIFFE ID apart', async () => {
    const down = await probeSentry({ address: '127.0.0.1:1', deadlineMs: 1000 }, anchorsPemOf(original));
    assert.equal(!down.ok && down.failure, 'unreachable');
    const foreign = await probeSentry(target(), anchorsPemOf(material));
    assert.equal(!foreign.ok && foreign.failure, 'identity', JSON.stringify(foreign));
    const wrongId = await probeSentry({ ...target(), controlPlaneTrustDomain: 'cluster.local' }, anchorsPemOf(original));
    assert.equal(!wrongId.ok && wrongId.failure, 'identity', JSON.stringify(wrongId));
  });

  it('the backend confirms each phase only once the sentry has reloaded it', async () => {
    const store = new FsTrustBundleStore({ dir: t.dir });
    // The real probe, recording whether each answer already matched the phase's bundle.
    const answers: boolean[] = [];
    let expectedNow = original;
    const probe: typeof probeSentry = async (where, anchorsPem) => {
      const result = await probeSentry(where, anchorsPem);
      answers.push(result.ok && compareWithBundle(result.observation, expectedNow, new Date()).length === 0);
      return result;
    };
    const backend = new SelfHostedBackend({
      store, journal: new FileJournalStore(`${t.dir}/.rotation`), clock: systemClock, sleeper: systemTimers,
      caPath: `${t.dir}/ca.crt`, sentry: target(), pollIntervalMs: 100, probe,
    });
    const record = planRecord(original, material, 'v', new Date(), { propagationDelayMs: 0, timeoutMs: 120_000 }); // a bound for a hang only
    const events: RotationEvent[] = [];
    const ctx = { record, writtenAt: new Date(), signal: new AbortController().signal, report: (e: RotationEvent) => void events.push(e) };
    let waitedPhases = 0;
    for (const phase of ['add-anchor', 'switch-issuer', 'retire-old-root'] as const) {
      expectedNow = targets[phase];
      answers.length = 0;
      await store.write(targets[phase].toTexts(), { backup: false });
      const result = await backend.confirmConverged(phase, targets[phase], ctx);
      assert.equal(result.confirmed, true, result.note);
      assert.match(result.note, /signs with the expected issuer/);
      assert.ok(t.sentry.currentCa().bundle.issuer.der.equals(targets[phase].issuer.der));
      assert.equal(answers.at(-1), true, `${phase}: the last probe matched the new bundle`);
      assert.ok(answers.slice(0, -1).every((matched) => !matched), `${phase}: confirmed at the first matching answer`);
      // No timing assumption: a phase whose first answer was still the old CA shows the backend waiting.
      if (answers[0] === false) waitedPhases++;
    }
    // The 1 s reload debounce makes the sentry lag the writes, so the waiting path is exercised.
    assert.ok(waitedPhases >= 1, 'at least one phase was probed before the sentry had reloaded it');
    assert.ok(events.some((e) => e.kind === 'converging'));
  });

  it('gives up with ERR_ROTATION_NOT_CONVERGED when the sentry keeps its old CA (a refused reload)', async () => {
    const store = new FsTrustBundleStore({ dir: t.dir });
    const backend = new SelfHostedBackend({
      store, journal: new FileJournalStore(`${t.dir}/.rotation`), clock: systemClock, sleeper: systemTimers,
      caPath: `${t.dir}/ca.crt`, sentry: target(), pollIntervalMs: 100,
    });
    // A bundle the sentry refuses to load (issuer key of another bundle): it keeps signing with the current one.
    const current = TrustBundle.fromTexts((await store.read() as unknown as { texts: never }).texts);
    const broken = new TrustBundle(current.anchors, current.issuerChain, original.issuerKey);
    await store.write(broken.toTexts(), { backup: false });
    const record = planRecord(original, material, 'v', new Date(), { propagationDelayMs: 0, timeoutMs: 1500 });
    const ctx = { record, writtenAt: new Date(), signal: new AbortController().signal, report: () => undefined };
    const expected = makeBundle(systemClock, { trustDomain: 'localhost' });
    await assert.rejects(backend.confirmConverged('switch-issuer', expected, ctx), (e: unknown) =>
      isWardenError(e, 'ERR_ROTATION_NOT_CONVERGED') && /did not take it up within 1.5s/.test(e.message) && /log/.test(e.message));
  });

  it('without --sentry-address convergence is reported as not confirmed', async () => {
    const backend = new SelfHostedBackend({
      store: new FsTrustBundleStore({ dir: t.dir }), journal: new FileJournalStore(`${t.dir}/.rotation`), clock: systemClock,
      sleeper: systemTimers, caPath: `${t.dir}/ca.crt`,
    });
    const record = planRecord(original, material, 'v', new Date());
    const result = await backend.confirmConverged('add-anchor', original, { record, writtenAt: new Date(), signal: new AbortController().signal, report: () => undefined });
    assert.deepEqual(result, { confirmed: false, note: 'not confirmed: no --sentry-address was given, so the sentry\'s reload was not checked' });
  });
});
