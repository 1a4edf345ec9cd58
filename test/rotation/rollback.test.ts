/** `warden mtls rollback` and `warden mtls backups` in-process on a real directory. */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { isWardenError } from '../../src/core/errors.js';
import { backupsCommand } from '../../src/cli/commands/backups.js';
import { rollbackCommand, type RollbackOptions } from '../../src/cli/commands/rollback.js';
import { rotateCommand } from '../../src/cli/commands/rotate.js';
import { captureIo } from '../../src/cli/io.js';
import { DEFAULT_FILE_NAMES } from '../../src/cli/options.js';
import { FileJournalStore } from '../../src/rotation-engine/journal.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { readBundle, snapshotDir } from '../cli/helpers.js';
import { ClockSleeper, DAY, FixedClock, HOUR, makeBundle, T0, tempDir } from './helpers.js';

async function env(t: Parameters<typeof tempDir>[0]) {
  const home = await tempDir(t, 'warden-rollback-');
  const certs = join(home, 'certs');
  const clock = new FixedClock(T0);
  const store = new FsTrustBundleStore({ dir: certs, clock });
  const io = () => captureIo({ clock, env: { HOME: home }, cwd: home });
  const base = { ...DEFAULT_FILE_NAMES, issuerCredentials: certs };
  const rollback = async (opts: Partial<RollbackOptions> = {}) => {
    const i = io();
    const code = await rollbackCommand({ ...base, ...opts }, i);
    return { code, out: i.stdoutText(), err: i.stderrText() };
  };
  const backups = async () => {
    const i = io();
    const code = await backupsCommand({ ...base, output: 'json' }, i);
    assert.equal(code, 0);
    return JSON.parse(i.stdoutText()) as { backups: { name: string; restorable: string; root: { state: string } | null }[] };
  };
  return { home, certs, clock, store, io, base, rollback, backups };
}

describe('warden mtls rollback', () => {
  it('restores the latest backup, backing up what it replaces; then a named one', async (t) => {
    const e = await env(t);
    const a = makeBundle(e.clock);
    const b = makeBundle(e.clock);
    const c = makeBundle(e.clock);
    await e.store.write(a.toTexts());
    e.clock.advance(1000);
    await e.store.write(b.toTexts());
    e.clock.advance(1000);
    await e.store.write(c.toTexts());
    e.clock.advance(1000);
    const [newest, older] = (await e.backups()).backups;
    assert.deepEqual((await e.backups()).backups.map((x) => x.restorable), ['ok', 'ok']);

    const r = await e.rollback();
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`Rolled back to ${newest!.name}`));
    assert.match(r.out, /The bundle it replaced is backed up in .*\.backup/);
    assert.deepEqual(await readBundle(e.certs), b.toTexts());
    const after = (await e.backups()).backups;
    assert.equal(after.length, 3, 'the replaced bundle was backed up');
    assert.deepEqual(await e.store.readBackup(after[0]!.name), c.toTexts());

    const named = await e.rollback({ backup: older!.name });
    assert.equal(named.code, 0, named.err);
    assert.deepEqual(await readBundle(e.certs), a.toTexts());
    await assert.rejects(e.rollback({ backup: '20990101T000000Z' }), (err: unknown) => isWardenError(err, 'ERR_BUNDLE_NOT_FOUND') && /warden mtls backups/.test(err.message));
  });

  it('refuses a backup whose root expired (ERR_BACKUP_EXPIRED) unless --force; a broken one never (exit 3)', async (t) => {
    const e = await env(t);
    const old = makeBundle(e.clock, { validityMs: HOUR });
    await e.store.write(old.toTexts());
    e.clock.advance(1000);
    const current = makeBundle(e.clock);
    await e.store.write(current.toTexts());
    e.clock.advance(2 * DAY);
    const listed = (await e.backups()).backups;
    assert.deepEqual(listed.map((x) => [x.restorable, x.root?.state]), [['expired', 'expired']]);
    const before = await snapshotDir(e.certs);
    await assert.rejects(e.rollback(), (err: unknown) => isWardenError(err, 'ERR_BACKUP_EXPIRED') && /root expired at/.test(err.message) && /--force/.test(err.message));
    assert.deepEqual(await snapshotDir(e.certs), before, 'nothing written');
    const forced = await e.rollback({ force: true });
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /restoring it anyway \(--force\)/);
    assert.deepEqual(await readBundle(e.certs), old.toTexts());

    // A backup whose key does not match its issuer: refused even with --force.
    const broken = join(e.certs, '.backup', '20300101T000000Z');
    await mkdir(broken, { recursive: true });
    const other = makeBundle(e.clock).toTexts();
    await writeFile(join(broken, 'ca.crt'), current.toTexts().ca);
    await writeFile(join(broken, 'issuer.crt'), current.toTexts().issuerCert);
    await writeFile(join(broken, 'issuer.key'), other.issuerKey);
    const snapshot = await snapshotDir(e.certs);
    const refused = await e.rollback({ backup: '20300101T000000Z', force: true });
    assert.equal(refused.code, 3);
    assert.match(refused.out, /ERR_BUNDLE_KEY_MISMATCH/);
    assert.deepEqual(await snapshotDir(e.certs), snapshot);
    assert.equal((await e.backups()).backups[0]!.restorable, 'broken');
  });

  it('replaces a partial bundle; with no backup at all it says so', async (t) => {
    const e = await env(t);
    await assert.rejects(e.rollback(), (err: unknown) => isWardenError(err, 'ERR_BUNDLE_NOT_FOUND') && /no backups/.test(err.message));
    const a = makeBundle(e.clock);
    await e.store.write(a.toTexts());
    e.clock.advance(1000);
    await e.store.write(makeBundle(e.clock).toTexts());
    await rm(join(e.certs, 'issuer.key'));
    const r = await e.rollback();
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await readBundle(e.certs), a.toTexts());
  });

  it('abandons an unfinished rotation (restoring the bundle from before it); refused while a rotation runs', async (t) => {
    const e = await env(t);
    const original = makeBundle(e.clock);
    await e.store.write(original.toTexts(), { expectedVersion: null });
    e.clock.advance(HOUR);
    const i = e.io();
    assert.equal(await rotateCommand({ ...e.base, until: 'switch-issuer', propagationDelay: 0 }, i, undefined, { sleeper: new ClockSleeper(e.clock) }), 0, i.stderrText());
    assert.notDeepEqual(await readBundle(e.certs), original.toTexts());

    const held = await new FileJournalStore(join(e.certs, '.rotation')).lock(T0);
    await assert.rejects(e.rollback(), (err: unknown) => isWardenError(err, 'ERR_ROTATION_IN_PROGRESS'));
    await held.release();

    const r = await e.rollback();
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /unfinished rotation .* is abandoned/);
    assert.deepEqual(await readBundle(e.certs), original.toTexts());
    const journal = await new FileJournalStore(join(e.certs, '.rotation')).read();
    assert.equal(journal?.status, 'rolled-back');
    // A new rotation may start now.
    const again = e.io();
    assert.equal(await rotateCommand({ ...e.base, until: 'add-anchor', propagationDelay: 0 }, again, undefined, { sleeper: new ClockSleeper(e.clock) }), 0, again.stderrText());
    assert.equal(TrustBundle.fromTexts(await readBundle(e.certs)).anchors.length, 2);
  });

  it('backups lists newest first, as a table with how to restore', async (t) => {
    const e = await env(t);
    await e.store.write(makeBundle(e.clock).toTexts());
    e.clock.advance(1000);
    await e.store.write(makeBundle(e.clock).toTexts());
    e.clock.advance(1000);
    await e.store.write(makeBundle(e.clock).toTexts());
    const i = e.io();
    assert.equal(await backupsCommand({ ...e.base, output: 'text' }, i), 0);
    const lines = i.stdoutText().split('\n');
    assert.match(lines[0]!, /^NAME +ROOT +ROOT EXPIRES +ISSUER EXPIRES +RESTORABLE$/);
    assert.match(lines[1]!, /^20260601T120002Z +O=cluster.local sha256 [0-9A-F]{2}(:[0-9A-F]{2}){7}… +2027-06-01 \d\d:\d\d:\d\d \+0000 UTC \(valid\) .* yes$/);
    assert.match(lines[2]!, /^20260601T120001Z /);
    assert.match(i.stdoutText(), /default: the newest, 20260601T120002Z/);
  });
});
