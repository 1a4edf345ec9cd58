/**
 * The rotation engine over a real directory store and file journal, with a fixed clock and a
 * sleeper that moves it: order of writes and backend steps, waits, --until, --force, failures to
 * converge, a bundle changed behind the rotation's back, Ctrl-C, an already-expired bundle.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { jwtMaterialToTexts, materialForKey, parseJwtMaterial } from '../../src/core/jwt-key.js';
import { DEFAULT_JWT_RETENTION_MS, retiredUntil } from '../../src/core/jwt-rotation.js';
import type { TrustBundle } from '../../src/core/bundle.js';
import { isWardenError, WardenError } from '../../src/core/errors.js';
import { computePhaseTargets } from '../../src/core/rotation-phases/targets.js';
import { runRotation, sameTexts, startRotation } from '../../src/rotation-engine/engine.js';
import type { RotationEvent } from '../../src/rotation-engine/events.js';
import { ClockSleeper, DAY, FixedClock, HOUR, makeBundle, planRecord, RecordingBackend, setupStore, T0, tempDir } from './helpers.js';

const SKEW = 15 * 60_000;

async function setup(t: Parameters<typeof tempDir>[0], opts: { originalValidityMs?: number; ageMs?: number } = {}) {
  const clock = new FixedClock(T0);
  const original = makeBundle(clock, opts.originalValidityMs === undefined ? {} : { validityMs: opts.originalValidityMs });
  clock.advance(opts.ageMs ?? HOUR);
  const material = makeBundle(clock);
  const dir = await tempDir(t);
  const { store, journal, version } = await setupStore(dir, original, clock);
  const sleeper = new ClockSleeper(clock);
  const backend = new RecordingBackend(store, journal, clock, sleeper);
  const events: RotationEvent[] = [];
  const record = planRecord(original, material, version, clock.now());
  const opts2 = { backend, clock, sleeper, report: (e: RotationEvent) => void events.push(e) };
  return { clock, original, material, store, journal, sleeper, backend, events, record, engine: opts2, targets: computePhaseTargets(original, material) };
}

async function storeTexts(store: { read(): Promise<{ state: string; texts?: unknown }> }): Promise<unknown> {
  const read = await store.read();
  return read.state === 'complete' ? read.texts : read.state;
}

describe('rotation engine', () => {
  it('writes each phase\'s target, then propagation, restarts, convergence; waits TTL + skew before retiring', async (t) => {
    const s = await setup(t);
    const seen: Record<string, boolean> = {};
    s.backend.converge = async (phase, expected: TrustBundle) => {
      // The store holds exactly the phase's target when its convergence is checked.
      seen[phase] = sameTexts((await s.store.read() as unknown as { texts: never }).texts, expected.toTexts());
      return { confirmed: true, note: `ok ${phase}` };
    };
    const started = s.clock.now().getTime();
    const out = await startRotation(s.record, s.engine);
    assert.equal(out.result, 'done');
    assert.equal(out.record.status, 'done');
    assert.deepEqual(seen, { 'add-anchor': true, 'switch-issuer': true, 'retire-old-root': true });
    assert.deepEqual(await storeTexts(s.store), s.material.toTexts());
    assert.deepEqual(await s.journal.read(), out.record, 'the journal holds the final record');

    assert.deepEqual(s.backend.calls.map((c) => `${c.phase}:${c.step}`), ['add-anchor', 'switch-issuer', 'retire-old-root'].flatMap((p) =>
      ['propagation', 'restart-cp', 'restart-apps', 'converge'].map((step) => `${p}:${step}`)));
    assert.deepEqual(s.backend.calls.filter((c) => c.step === 'converge').map((c) => c.expectedIssuerSerial),
      [s.original.issuer.serialHex, s.material.issuer.serialHex, s.material.issuer.serialHex]);
    // Waits: propagation, propagation, TTL + skew, propagation.
    assert.deepEqual(s.sleeper.calls, [10_000, 10_000, DAY + SKEW, 10_000]);
    const switchDone = Date.parse(out.record.phases['switch-issuer'].completedAt!);
    assert.equal(out.record.retireAfter, new Date(switchDone + DAY + SKEW).toISOString());
    assert.equal(Date.parse(out.record.phases['retire-old-root'].startedAt!), switchDone + DAY + SKEW);
    assert.equal(s.clock.now().getTime() - started, 3 * 10_000 + DAY + SKEW);

    const backups = await s.store.listBackups();
    assert.equal(backups.length, 1, 'one backup: the bundle from before the rotation');
    assert.deepEqual(await s.store.readBackup(backups[0]!.name), s.original.toTexts());
    assert.equal(out.record.backup?.name, backups[0]!.name);
    assert.deepEqual(s.events.filter((e) => e.kind === 'written').map((e) => e.kind === 'written' && e.phase), ['add-anchor', 'switch-issuer', 'retire-old-root']);
    assert.equal(s.events.at(-1)?.kind, 'finished');
  });

  it('--until stops after a phase; a later run continues from the journal', async (t) => {
    const s = await setup(t);
    const first = await startRotation(s.record, { ...s.engine, until: 'add-anchor' });
    assert.equal(first.result, 'stopped');
    assert.equal(first.record.phase, 'add-anchor');
    assert.deepEqual(await storeTexts(s.store), s.targets['add-anchor'].toTexts());
    const second = await runRotation((await s.journal.read())!, { ...s.engine, until: 'switch-issuer' });
    assert.equal(second.record.phase, 'switch-issuer');
    const again = await runRotation((await s.journal.read())!, { ...s.engine, until: 'add-anchor' });
    assert.equal(again.result, 'stopped', 'a phase already passed stops at once');
    assert.equal(again.record.phase, 'switch-issuer');
    const third = await runRotation((await s.journal.read())!, s.engine);
    assert.equal(third.result, 'done');
    assert.deepEqual(await storeTexts(s.store), s.material.toTexts());
  });

  it('--force retires without waiting for the old leaves', async (t) => {
    const s = await setup(t);
    const out = await startRotation(s.record, { ...s.engine, force: true });
    assert.equal(out.record.status, 'done');
    assert.deepEqual(s.sleeper.calls, [10_000, 10_000, 10_000]);
  });

  it('a phase that does not converge stops the rotation with the write recorded; resume does not write it again', async (t) => {
    const s = await setup(t);
    let writes = 0;
    const write = s.store.write.bind(s.store);
    s.store.write = async (texts, opts) => { writes++; return write(texts, opts); };
    s.backend.converge = async (phase) => {
      if (phase === 'switch-issuer') throw new WardenError('ERR_ROTATION_NOT_CONVERGED', 'sentry did not reload');
      return { confirmed: true, note: 'ok' };
    };
    await assert.rejects(startRotation(s.record, s.engine), (e: unknown) => isWardenError(e, 'ERR_ROTATION_NOT_CONVERGED'));
    const stuck = (await s.journal.read())!;
    assert.equal(stuck.phase, 'add-anchor');
    assert.ok(stuck.phases['switch-issuer'].writtenAt !== undefined && stuck.phases['switch-issuer'].completedAt === undefined);
    assert.deepEqual(await storeTexts(s.store), s.targets['switch-issuer'].toTexts());
    s.backend.converge = async () => ({ confirmed: true, note: 'ok now' });
    const out = await runRotation(stuck, s.engine);
    assert.equal(out.record.status, 'done');
    assert.equal(writes, 3, 'each phase written once');
  });

  it('refuses to go on when the bundle was changed behind its back (ERR_ROTATION_DIVERGED), writing nothing', async (t) => {
    const s = await setup(t);
    await startRotation(s.record, { ...s.engine, until: 'add-anchor' });
    const foreign = makeBundle(s.clock).toTexts();
    await s.store.write(foreign);
    const before = await s.journal.read();
    await assert.rejects(runRotation(before!, s.engine), (e: unknown) => isWardenError(e, 'ERR_ROTATION_DIVERGED') && /rollback/.test(e.message));
    assert.deepEqual(await storeTexts(s.store), foreign);
    assert.deepEqual(await s.journal.read(), before);
  });

  it('Ctrl-C during the wait stops cleanly between steps; resume finishes', async (t) => {
    const s = await setup(t);
    const controller = new AbortController();
    const sleeper = new ClockSleeper(s.clock, (ms) => { if (ms > HOUR) controller.abort(); });
    const engine = { ...s.engine, sleeper, signal: controller.signal };
    await assert.rejects(startRotation(s.record, engine), (e: unknown) =>
      isWardenError(e, 'ERR_ROTATION_INTERRUPTED') && /before write of retire-old-root/.test(e.message) && /--resume/.test(e.message));
    const stopped = (await s.journal.read())!;
    assert.equal(stopped.phase, 'switch-issuer');
    assert.equal(stopped.phases['retire-old-root'].startedAt, undefined);
    const out = await runRotation(stopped, s.engine);
    assert.equal(out.record.status, 'done');
    assert.deepEqual(await storeTexts(s.store), s.material.toTexts());
  });

  it('an expired bundle: add-anchor is skipped (said so), no wait before retiring, the original still backed up', async (t) => {
    const s = await setup(t, { originalValidityMs: HOUR, ageMs: 3 * HOUR });
    const out = await startRotation(s.record, s.engine);
    assert.equal(out.record.status, 'done');
    const skip = s.events.find((e) => e.kind === 'skipped');
    assert.ok(skip && skip.kind === 'skipped' && skip.phase === 'add-anchor' && /root expired/.test(skip.reason));
    assert.ok(out.record.phases['add-anchor'].skipped);
    assert.deepEqual(s.sleeper.calls, [10_000, 10_000], 'no wait: the old chain ended long ago');
    const backups = await s.store.listBackups();
    assert.deepEqual(await s.store.readBackup(backups[0]!.name), s.original.toTexts());
    assert.deepEqual(await storeTexts(s.store), s.material.toTexts());
  });

  it('a phase whose target is already in the store is recorded without writing', async (t) => {
    const s = await setup(t);
    await s.store.write(s.targets['add-anchor'].toTexts());
    const record = { ...s.record, original: s.record.original };
    // The store moved on from the original exactly to add-anchor's target: accepted as written.
    const out = await startRotation(record, { ...s.engine, until: 'add-anchor' });
    const written = s.events.find((e) => e.kind === 'written');
    assert.ok(written && written.kind === 'written' && written.alreadyThere);
    assert.equal(out.record.phase, 'add-anchor');
  });
});

describe('rotation engine and the JWT signing key', () => {
  it('switch-issuer renews a stored JWT pair (old public key retired, still published); the other phases keep it', async (t) => {
    const s = await setup(t);
    const old = materialForKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA', []);
    const { version } = await s.store.write({ ...s.original.toTexts(), ...jwtMaterialToTexts(old) }, { backup: false });
    const record = planRecord(s.original, s.material, version, s.clock.now());
    const seen: Record<string, string | undefined> = {};
    s.backend.converge = async (phase) => {
      const read = await s.store.read();
      seen[phase] = read.state === 'complete' && read.texts.jwtKey !== undefined ? parseJwtMaterial({ jwtKey: read.texts.jwtKey, jwks: read.texts.jwks! }).keyId : undefined;
      return { confirmed: true, note: `ok ${phase}` };
    };
    const out = await startRotation(record, s.engine);
    assert.equal(out.result, 'done');
    assert.equal(seen['add-anchor'], old.keyId, 'add-anchor keeps the key');
    assert.notEqual(seen['switch-issuer'], old.keyId, 'switch-issuer renews it');
    assert.equal(seen['retire-old-root'], seen['switch-issuer'], 'retire-old-root keeps the renewed key');
    const read = await s.store.read();
    assert.ok(read.state === 'complete');
    const now = parseJwtMaterial({ jwtKey: read.texts.jwtKey!, jwks: read.texts.jwks! });
    assert.deepEqual(now.jwks.keys.map((k) => k.kid), [now.keyId, old.keyId]);
    const switchedAt = Date.parse(out.record.phases['switch-issuer'].startedAt!);
    assert.equal(retiredUntil(now.jwks.keys[1]!), Math.floor((switchedAt + DEFAULT_JWT_RETENTION_MS) / 1000));
    assert.ok(sameTexts(read.texts, s.material.toTexts()), 'the X.509 files are the material');
  });
});
