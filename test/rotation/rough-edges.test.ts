/**
 * Issue 13's rough edges of rotate, rollback, backups and doctor over a directory site, each with a
 * test that failed before the fix: fix order from dependencies (1), restart advice after a skipped
 * add-anchor (4), a sentry failing on an expired bundle (5), renew during a rotation and the
 * diverged rollback advice (6), printed commands runnable as printed (8), fingerprints in
 * backups (10), one --timeout rule and rollback's exit 3 for an expired backup (11).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupsCommand } from '../../src/cli/commands/backups.js';
import { doctorCommand, type DoctorOptions } from '../../src/cli/commands/doctor.js';
import { rotateCommand, type RotateOptions } from '../../src/cli/commands/rotate.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseTimeoutArg } from '../../src/cli/options.js';
import type { RotationRecord } from '../../src/core/rotation-phases/record.js';
import { FileJournalStore } from '../../src/rotation-engine/journal.js';
import type { ProbeResult } from '../../src/rotation-engine/sentry-compare.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { writeBundle } from '../cli/helpers.js';
import { ClockSleeper, DAY, FixedClock, HOUR, makeBundle, T0, tempDir } from './helpers.js';

/** A bundle directory with non-default file names, so a printed command that drops them fails. */
async function env(t: Parameters<typeof tempDir>[0], opts: { validityMs?: number; ageMs?: number } = {}) {
  const home = await tempDir(t, 'warden-edges-');
  const certs = join(home, 'my certs');
  const names = { issuerCaFilename: 'anchors.pem', issuerCertificateFilename: 'issuer.crt', issuerKeyFilename: 'issuer.key' };
  const clock = new FixedClock(T0);
  const original = makeBundle(clock, opts.validityMs === undefined ? {} : { validityMs: opts.validityMs });
  const store = new FsTrustBundleStore({ dir: certs, caFile: names.issuerCaFilename, clock });
  await store.write(original.toTexts(), { expectedVersion: null });
  clock.advance(opts.ageMs ?? HOUR);
  const sleeper = new ClockSleeper(clock);
  const base = { ...names, issuerCredentials: certs };
  const io = () => captureIo({ clock, env: { HOME: home }, cwd: home });
  const rotate = async (extra: Partial<RotateOptions>) => {
    const i = io();
    try {
      const code = await rotateCommand({ ...base, propagationDelay: 0, ...extra }, i, undefined, { sleeper });
      return { code, out: i.stdoutText() + i.stderrText() };
    } catch (error) {
      return { code: 1, out: i.stdoutText() + i.stderrText(), error: error as Error & { code?: string } };
    }
  };
  const doctor = async (extra: Partial<DoctorOptions> = {}, probe?: ProbeResult) => {
    const i = io();
    await doctorCommand({ ...base, output: 'json', ...extra }, i, undefined, probe === undefined ? {} : { probe: async () => probe });
    return JSON.parse(i.stdoutText()) as { diagnoses: { id: string; message: string }[]; fixes: { kind: string; command: string }[] };
  };
  /** `warden …` through main(), as an operator would type it. */
  const cli = async (args: string[]) => {
    const i = captureIo({ env: { HOME: home }, cwd: home });
    const code = await main(args, i);
    return { code, out: i.stdoutText(), err: i.stderrText() };
  };
  const journal = new FileJournalStore(join(certs, '.rotation'));
  return { home, certs, names, clock, original, store, base, rotate, doctor, cli, journal, io };
}

/** Splits a printed command line as a POSIX shell would (single quotes only, as shellQuote writes). */
function shellSplit(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/'\\''/g, '\'') : m[2]!);
  return out;
}

describe('rough edges of the site commands (issue 13)', () => {
  it('1: doctor orders fixes by their dependencies in every mid-rotation state: daprd\'s anchors before --resume', async (t) => {
    const e = await env(t);
    const daprdAnchors = join(e.home, 'daprd-anchors.pem');
    await writeFile(daprdAnchors, e.original.toTexts().ca);
    assert.equal((await e.rotate({ until: 'plan' })).code, 0);
    const states: [string, () => Promise<void>][] = [
      ['plan recorded', async () => undefined],
      ['add-anchor written, not converged', async () => {
        assert.equal((await e.rotate({ resume: true, until: 'add-anchor' })).code, 0);
        const r = (await e.journal.read())!;
        const { completedAt: _c, convergence: _v, ...written } = r.phases['add-anchor'];
        await e.journal.write({ ...r, phase: 'plan', phases: { ...r.phases, 'add-anchor': written } } as RotationRecord);
      }],
      ['paused after add-anchor', async () => {
        assert.equal((await e.rotate({ resume: true, until: 'add-anchor' })).code, 0);
      }],
      ['switch-issuer started, not written', async () => {
        const r = (await e.journal.read())!;
        const read = await e.store.read();
        assert.equal(read.state, 'complete');
        await e.journal.write({ ...r, phases: { ...r.phases, 'switch-issuer': { startedAt: e.clock.now().toISOString(), fromVersion: read.state === 'complete' ? read.version : '' } } } as RotationRecord);
      }],
      ['paused after switch-issuer', async () => {
        assert.equal((await e.rotate({ resume: true, until: 'switch-issuer' })).code, 0);
      }],
    ];
    for (const [name, reach] of states) {
      await reach();
      const report = await e.doctor({ trustAnchors: [daprdAnchors] });
      const kinds = report.fixes.map((f) => f.kind);
      assert.ok(kinds.includes('resume'), `${name}: ${kinds.join(', ')}`);
      const read = await e.store.read();
      const newRootInCa = read.state === 'complete' && read.texts.ca !== e.original.toTexts().ca;
      if (!newRootInCa) {
        assert.deepEqual(kinds, ['resume'], `${name}: daprd's anchors still match ca.crt`);
        continue;
      }
      assert.ok(kinds.indexOf('copy-anchors') >= 0 && kinds.indexOf('copy-anchors') < kinds.indexOf('resume'), `${name}: copy the anchors before resuming (${kinds.join(', ')})`);
      assert.ok(kinds.indexOf('restart-daprd') < kinds.indexOf('resume'), `${name}: restart daprd before resuming (${kinds.join(', ')})`);
    }
  });

  it('4: rotate on an expired bundle tells to restart daprd at switch-issuer (add-anchor was skipped), never "No restarts needed"', async (t) => {
    const e = await env(t, { validityMs: HOUR, ageMs: 2 * DAY });
    const r = await e.rotate({ force: true });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\[add-anchor\] Skipped/);
    assert.doesNotMatch(r.out, /No restarts needed/);
    assert.match(r.out, /\[switch-issuer\] add-anchor was skipped, so every daprd still trusts only the old \(expired\) root: restart every daprd now/);
  });

  it('5: doctor names the expiry when the sentry fails on an expired bundle, not a trust-domain mismatch or a stale bundle', async (t) => {
    const e = await env(t, { validityMs: HOUR, ageMs: 2 * DAY });
    const report = await e.doctor({ sentryAddress: '127.0.0.1:50001' }, { ok: false, failure: 'identity', message: 'certificate has expired' });
    const ids = report.diagnoses.map((d) => d.id);
    assert.ok(ids.includes('bundle-expired'), ids.join(', '));
    assert.ok(ids.includes('sentry-expired'), ids.join(', '));
    assert.ok(!ids.includes('sentry-identity') && !ids.includes('sentry-stale'), ids.join(', '));
    const sentry = report.diagnoses.find((d) => d.id === 'sentry-expired')!;
    assert.match(sentry.message, /because the root expired at .* and the issuer expired at /);
    assert.doesNotMatch(sentry.message, /trust-domain|stale/);
  });

  it('6: renew-certificate refuses during an unfinished rotation; a diverged rotation names the backup from before it', async (t) => {
    const e = await env(t);
    assert.equal((await e.rotate({ until: 'add-anchor' })).code, 0);
    const before = await e.store.read();
    const flags = ['--issuer-credentials', e.certs, '--issuer-ca-filename', 'anchors.pem'];
    const renew = await e.cli(['mtls', 'renew-certificate', ...flags]);
    assert.equal(renew.code, 1, renew.out + renew.err);
    assert.match(renew.err, /Rotation \S+ is unfinished .*`warden mtls rotate --resume --issuer-credentials '[^']+my certs' --issuer-ca-filename anchors.pem`.*ERR_ROTATION_IN_PROGRESS/s);
    assert.deepEqual(await e.store.read(), before, 'nothing written');

    // Someone replaces the bundle anyway (another tool): --resume refuses and names the right backup.
    const record = (await e.journal.read())!;
    assert.ok(record.backup, 'the rotation recorded its backup');
    await e.store.write(makeBundle(e.clock).toTexts(), { backup: true });
    const resumed = await e.rotate({ resume: true });
    assert.equal(resumed.error?.code, 'ERR_ROTATION_DIVERGED');
    assert.ok(resumed.error!.message.includes(`warden mtls rollback --backup ${record.backup.name} --issuer-credentials '${e.certs}' --issuer-ca-filename anchors.pem`), resumed.error!.message);
  });

  it('8: every warden command rotate, backups, rollback and doctor print is runnable as printed', async (t) => {
    const e = await env(t);
    const printed: string[] = [];
    const collect = (text: string): void => {
      for (const m of text.matchAll(/`(warden [^`]+)`|^ {2}\d+\. (warden .+)$/gm)) printed.push((m[1] ?? m[2])!);
    };
    collect((await e.rotate({ until: 'add-anchor' })).out);
    collect((await e.rotate({})).error!.message);
    const status = e.io();
    await rotateCommand({ ...e.base, status: true }, status, undefined, {});
    collect(status.stdoutText());
    const backups = e.io();
    await backupsCommand({ ...e.base, output: 'text' }, backups);
    collect(backups.stdoutText() + backups.stderrText());
    const doctor = e.io();
    await doctorCommand({ ...e.base, output: 'text' }, doctor);
    collect(doctor.stdoutText());
    const held = await e.journal.lock(e.clock.now());
    try {
      const locked = await e.rotate({ resume: true });
      assert.equal(locked.error?.code, 'ERR_ROTATION_IN_PROGRESS');
      collect(locked.error!.message);
    } finally {
      await held.release();
    }
    assert.ok(printed.length >= 6, printed.join('\n'));
    for (const line of printed) {
      assert.ok(line.includes(`--issuer-credentials '${e.certs}'`) && line.includes('--issuer-ca-filename anchors.pem'), `addresses this directory: ${line}`);
    }
    // Read-only ones run as printed (shell-split) and find this rotation.
    const record = (await e.journal.read())!;
    for (const line of new Set(printed.filter((l) => /rotate --status|mtls backups/.test(l)))) {
      const r = await e.cli(shellSplit(line).slice(1));
      assert.equal(r.code, 0, `${line}\n${r.err}`);
      if (line.includes('--status')) assert.match(r.out + r.err, new RegExp(`Rotation ${record.id}`));
    }
  });

  it('10: backups shows each root\'s SHA-256 fingerprint, so roots with the same subject are told apart', async (t) => {
    const e = await env(t);
    for (let i = 0; i < 2; i += 1) {
      const read = await e.store.read();
      await e.store.write(makeBundle(e.clock).toTexts(), { backup: true, expectedVersion: read.state === 'complete' ? read.version : null });
      e.clock.advance(1000);
    }
    const json = e.io();
    await backupsCommand({ ...e.base, output: 'json' }, json);
    const rows = JSON.parse(json.stdoutText()).backups as { root: { subject: string; sha256: string } }[];
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.root.subject, rows[1]!.root.subject, 'same subject (the trust domain)');
    assert.notEqual(rows[0]!.root.sha256, rows[1]!.root.sha256);
    assert.match(rows[0]!.root.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const text = e.io();
    await backupsCommand({ ...e.base, output: 'text' }, text);
    const lines = text.stdoutText().split('\n').slice(1, 3);
    assert.ok(lines[0]!.includes(rows[0]!.root.sha256.slice(0, 23)) && lines[1]!.includes(rows[1]!.root.sha256.slice(0, 23)), text.stdoutText());
  });

  it('11: --timeout is seconds or a Go duration everywhere; rollback of an expired backup exits 3', async (t) => {
    assert.equal(parseTimeoutArg('30'), 30_000);
    assert.equal(parseTimeoutArg('5m'), 300_000);
    assert.equal(parseTimeoutArg('1m30s'), 90_000);
    for (const bad of ['0', '1.5', 'soon', '-5s']) assert.throws(() => parseTimeoutArg(bad), /whole number of seconds .* or a Go duration/);
    const e = await env(t);
    // renew-certificate's --timeout takes a duration too (it is -k only: the refusal is about -k, not the value).
    const renew = await e.cli(['mtls', 'renew-certificate', '--timeout', '5m', '--issuer-credentials', e.certs]);
    assert.equal(renew.code, 2);
    assert.doesNotMatch(renew.err, /whole number of seconds/);
    assert.match(renew.err, /-k/);
    const dry = await e.cli(['mtls', 'rotate', '--dry-run', '-o', 'json', '--timeout', '90', '--issuer-credentials', e.certs, '--issuer-ca-filename', 'anchors.pem']);
    assert.equal(dry.code, 0, dry.err);
    assert.equal(JSON.parse(dry.out).settings.timeoutMs, 90_000);

    // An expired backup: the check chain refuses it, so exit 3 as the README's table says.
    const expired = await tempDir(t, 'warden-edges-exp-');
    const old = makeBundle(new FixedClock(new Date(Date.now() - 3 * DAY)), { validityMs: DAY });
    await writeBundle(expired, old.toTexts());
    const s = new FsTrustBundleStore({ dir: expired, clock: new FixedClock(new Date()) });
    const read = await s.read();
    await s.write(makeBundle(new FixedClock(new Date())).toTexts(), { backup: true, expectedVersion: read.state === 'complete' ? read.version : null });
    const rollback = await e.cli(['mtls', 'rollback', '--issuer-credentials', expired]);
    assert.match(rollback.err, /ERR_BACKUP_EXPIRED/);
    assert.equal(rollback.code, 3);
    assert.match(await readFile(join(expired, 'ca.crt'), 'utf8'), /BEGIN CERTIFICATE/);
  });
});
