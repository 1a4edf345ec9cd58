/**
 * Crash safety of a rotation: a "kill" at every write point — before and after each journal write
 * and each bundle write — then a fresh process (new store and journal objects on the same
 * directory) resumes from whatever the journal says. Every run must end in the same state as an
 * uninterrupted one: the new bundle in the store, a finished journal, exactly one backup, of the
 * bundle from before the rotation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { runRotation, startRotation } from '../../src/rotation-engine/engine.js';
import { defaultJournalDir, FileJournalStore, type JournalStore } from '../../src/rotation-engine/journal.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import type { TrustBundleStore } from '../../src/stores/store.js';
import { ClockSleeper, HOUR, makeBundle, planRecord, RecordingBackend, setupStore, T0, tempDir } from './helpers.js';

class Crash extends Error {}

interface CrashPoint {
  index: number;
  when: 'before' | 'after';
}

/** Wraps the store and journal so that write number `point.index` (journal and store counted together) crashes. */
function crashing(store: TrustBundleStore, journal: JournalStore, point: CrashPoint | undefined, log: string[]): { store: TrustBundleStore; journal: JournalStore } {
  let n = 0;
  const hit = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    n++;
    log.push(what);
    if (point?.index === n && point.when === 'before') throw new Crash(`crash before ${what}`);
    const result = await fn();
    if (point?.index === n && point.when === 'after') throw new Crash(`crash after ${what}`);
    return result;
  };
  const wrappedStore: TrustBundleStore = {
    description: store.description,
    read: () => store.read(),
    write: (texts, opts) => hit('store', () => store.write(texts, opts)),
    listBackups: () => store.listBackups(),
    readBackup: (name) => store.readBackup(name),
  };
  const wrappedJournal: JournalStore = {
    description: journal.description,
    read: () => journal.read(),
    write: (record) => hit(`journal:${record.phase}`, () => journal.write(record)),
    lock: (now) => journal.lock(now),
    lockHolder: () => journal.lockHolder(),
  };
  return { store: wrappedStore, journal: wrappedJournal };
}

async function scenario(t: Parameters<typeof tempDir>[0], point: CrashPoint | undefined) {
  const clock = new FixedClock(T0);
  const original = makeBundle(clock);
  clock.advance(HOUR);
  const material = makeBundle(clock);
  const dir = await tempDir(t);
  const { version } = await setupStore(dir, original, clock);
  const sleeper = new ClockSleeper(clock);
  const record = planRecord(original, material, version, clock.now());
  const log: string[] = [];
  const open = (p: CrashPoint | undefined) => {
    const w = crashing(new FsTrustBundleStore({ dir, clock }), new FileJournalStore(defaultJournalDir(dir)), p, log);
    return { ...w, backend: new RecordingBackend(w.store, w.journal, clock, sleeper) };
  };
  const first = open(point);
  let crashed: string | undefined;
  try {
    await startRotation(record, { backend: first.backend, clock, sleeper });
  } catch (error) {
    if (!(error instanceof Crash)) throw error;
    crashed = error.message;
  }
  // "Restart": new objects on the same directory; resume from the journal, or start again if it was never written.
  clock.advance(5000);
  const second = open(undefined);
  const found = await second.journal.read();
  const out = found === undefined
    ? await startRotation(record, { backend: second.backend, clock, sleeper })
    : await runRotation(found, { backend: second.backend, clock, sleeper });
  const store = new FsTrustBundleStore({ dir, clock });
  return { out, crashed, log, store, original, material, journal: second.journal };
}

describe('crash at every write point, then --resume', () => {
  it('an uninterrupted run makes 11 journal writes and 3 bundle writes', async (t) => {
    const { log } = await scenario(t, undefined);
    assert.deepEqual(log, [
      'journal:plan', 'journal:plan', 'store', 'journal:plan', 'journal:add-anchor',
      'journal:add-anchor', 'store', 'journal:add-anchor', 'journal:switch-issuer',
      'journal:switch-issuer', 'store', 'journal:switch-issuer', 'journal:retire-old-root', 'journal:done',
    ]);
  });

  for (let index = 1; index <= 14; index++) {
    for (const when of ['before', 'after'] as const) {
      it(`crash ${when} write #${index}: resume reaches the same final state`, async (t) => {
        const { out, crashed, store, original, material, journal } = await scenario(t, { index, when });
        assert.ok(crashed, 'the crash happened');
        assert.equal(out.result, 'done');
        assert.equal(out.record.status, 'done');
        const read = await store.read();
        assert.equal(read.state, 'complete');
        assert.deepEqual(read.state === 'complete' && read.texts, material.toTexts());
        const backups = await store.listBackups();
        assert.equal(backups.length, 1, `exactly one backup (${backups.map((b) => b.name).join(', ')})`);
        assert.deepEqual(await store.readBackup(backups[0]!.name), original.toTexts());
        assert.equal(out.record.backup?.name, backups[0]!.name, 'the journal names the backup, even if the crash lost it');
        for (const phase of ['add-anchor', 'switch-issuer', 'retire-old-root'] as const) {
          assert.ok(out.record.phases[phase].completedAt, `${phase} complete`);
        }
        assert.deepEqual(await journal.read(), out.record);
      });
    }
  }
});
