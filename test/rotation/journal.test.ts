/** The file journal: atomic 0600 writes, validation on read, and the rotation lock. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { recordIntent } from '../../src/core/rotation-phases/record.js';
import { FileJournalStore } from '../../src/rotation-engine/journal.js';
import { makeBundle, planRecord, T0, tempDir } from './helpers.js';

const clock = new FixedClock(T0);
const record = planRecord(makeBundle(clock), makeBundle(clock), 'v0', T0);

describe('FileJournalStore', () => {
  it('reads nothing before the first write, then exactly what was written; file 0600, dir 0700, no temp files left', async (t) => {
    const dir = join(await tempDir(t), '.rotation');
    const journal = new FileJournalStore(dir);
    assert.equal(await journal.read(), undefined);
    await journal.write(record);
    assert.deepEqual(await journal.read(), record);
    const next = recordIntent(record, 'add-anchor', 'v0', new Date(T0.getTime() + 1000));
    await journal.write(next);
    assert.deepEqual(await journal.read(), next);
    assert.equal((await stat(journal.path)).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(dir), ['journal.json']);
  });

  it('refuses a journal that is not JSON, has another format or misses fields (ERR_ROTATION_JOURNAL_INVALID)', async (t) => {
    const dir = await tempDir(t);
    const journal = new FileJournalStore(dir);
    const cases: [string, RegExp][] = [
      ['{ not json', /not valid JSON/],
      [JSON.stringify({ ...record, format: 2 }), /format 2/],
      [JSON.stringify({ ...record, phase: 'sideways' }), /unknown phase/],
      [JSON.stringify({ ...record, material: { ...record.material, issuerKeyPem: undefined } }), /material.issuerKeyPem missing/],
      [JSON.stringify({ ...record, phases: { 'add-anchor': {} } }), /phases.switch-issuer missing/],
    ];
    for (const [text, why] of cases) {
      await writeFile(journal.path, text);
      await assert.rejects(journal.read(), (e: unknown) => isWardenError(e, 'ERR_ROTATION_JOURNAL_INVALID') && why.test(e.message) && e.message.includes(journal.path));
    }
  });

  it('a second lock is refused with ERR_ROTATION_IN_PROGRESS naming the holder; free again after release', async (t) => {
    const journal = new FileJournalStore(await tempDir(t));
    const held = await journal.lock(T0);
    assert.equal(await journal.lockHolder(), `pid ${process.pid} on this host`);
    await assert.rejects(new FileJournalStore(journal.dir).lock(T0), (e: unknown) =>
      isWardenError(e, 'ERR_ROTATION_IN_PROGRESS') && e.message.includes(`pid ${process.pid}`));
    await held.release();
    assert.equal(await journal.lockHolder(), undefined);
    const again = await journal.lock(T0);
    await again.release();
  });

  it('a lock left by a process that died is taken over', async (t) => {
    const journal = new FileJournalStore(await tempDir(t));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    await mkdir(journal.dir, { recursive: true });
    await writeFile(journal.lockPath, JSON.stringify({ id: 'x', pid, hostname: hostname(), createdAt: T0.toISOString() }));
    assert.equal(await journal.lockHolder(), undefined, 'a dead owner holds nothing');
    const held = await journal.lock(T0);
    assert.match(await readFile(journal.lockPath, 'utf8'), new RegExp(`"pid":${process.pid}`));
    await held.release();
  });
});
