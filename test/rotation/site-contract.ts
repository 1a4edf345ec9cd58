/**
 * The behaviour every site (a directory, the cluster) must share, run through the CLI as an
 * operator would: backups and rollback over the store, the journal's lock, a rotation stopped
 * and resumed, renew refused meanwhile, doctor's fix commands runnable as printed. A site test
 * calls `runSiteContract('directory', makeFixture)`; a fix in a command lands once for both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { isWardenError } from '../../src/core/errors.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { openSite } from '../../src/cli/site/open-site.js';
import type { Site } from '../../src/cli/site/site.js';

export interface SiteFixture {
  /** The flags that address this site (`--issuer-credentials DIR`, `-k --kubeconfig F`). */
  args: string[];
  /** The bundle the site starts with. */
  original: BundleTexts;
  /** What the site's store holds now (the Secret's keys for a cluster). */
  current(): Promise<BundleTexts | undefined>;
  /** The options `openSite` gets for `args`. */
  siteOptions: Record<string, unknown>;
  /** The second rollback restarts what reads the bundle (a cluster) or says what to restart (a directory). */
  expectAfterRollback: RegExp;
}

interface Run {
  code: number;
  out: string;
  err: string;
}

async function warden(args: string[]): Promise<Run> {
  const io = captureIo({ env: { HOME: '/nonexistent' } });
  const code = await main(args, io);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

/** Splits a printed command line as a POSIX shell would (single quotes only, as shellQuote writes). */
export function shellSplit(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/'\\''/g, '\'') : m[2]!);
  return out;
}

export function runSiteContract(name: string, makeFixture: (t: { after(fn: () => Promise<void>): void }) => Promise<SiteFixture>): void {
  describe(`${name}: site contract`, () => {
    const open = (fx: SiteFixture): Promise<Site> => openSite('doctor', fx.siteOptions as never, captureIo({ env: { HOME: '/nonexistent' } }));

    it('the journal lock is exclusive, names its holder, and is free again once released', async (t) => {
      const fx = await makeFixture(t);
      const site = await open(fx);
      assert.equal(await site.journal.lockHolder(), undefined);
      const lock = await site.journal.lock(new Date());
      try {
        assert.ok((await site.journal.lockHolder())?.length, 'a holder is named');
        const other = await open(fx);
        await assert.rejects(other.journal.lock(new Date()), (e: unknown) => isWardenError(e) && e.code === 'ERR_ROTATION_IN_PROGRESS');
      } finally {
        await lock.release();
      }
      assert.equal(await site.journal.lockHolder(), undefined);
    });

    it('a rotation stopped after add-anchor: renew is refused, doctor\'s fix runs as printed, rollback abandons it and restores the original', async (t) => {
      const fx = await makeFixture(t);
      const rotate = await warden(['mtls', 'rotate', ...fx.args, '--propagation-delay', '0', '--until', 'add-anchor']);
      assert.equal(rotate.code, 0, rotate.err);
      assert.notEqual((await fx.current())?.ca, fx.original.ca, 'ca.crt holds both roots');

      const renew = await warden(['mtls', 'renew-certificate', ...fx.args]);
      assert.equal(renew.code, 1);
      assert.match(renew.err, /ERR_ROTATION_IN_PROGRESS/);

      const doctor = await warden(['mtls', 'doctor', ...fx.args, '-o', 'json']);
      assert.equal(doctor.code, 1, doctor.err);
      const report = JSON.parse(doctor.out) as { fixes: { kind: string; command: string }[] };
      const resume = report.fixes.find((f) => f.kind === 'resume');
      assert.ok(resume, doctor.out);
      const site = await open(fx);
      assert.equal(resume.command, site.commandLine('rotate', ['--resume']));
      const status = await warden(shellSplit(site.commandLine('rotate', ['--status'])).slice(1));
      assert.equal(status.code, 0, status.err);
      assert.match(status.out + status.err, /is in progress \(last completed phase: add-anchor\)/);

      const backups = await warden(shellSplit(site.commandLine('backups', ['-o', 'json'])).slice(1));
      assert.equal(backups.code, 0, backups.err);
      const list = JSON.parse(backups.out).backups as { name: string; restorable: string; root: { sha256: string } }[];
      assert.equal(list.length, 1);
      assert.equal(list[0]!.restorable, 'ok');

      const rollback = await warden(shellSplit(site.commandLine('rollback', ['--backup', list[0]!.name])).slice(1));
      assert.equal(rollback.code, 0, rollback.err);
      assert.match(rollback.out + rollback.err, /unfinished rotation \S+ is abandoned/);
      assert.match(rollback.out + rollback.err, fx.expectAfterRollback);
      assert.deepEqual(await fx.current(), fx.original);
      assert.equal((await site.journal.read())?.status, 'rolled-back');
      const again = await warden(['mtls', 'doctor', ...fx.args, '-o', 'json']);
      assert.equal(again.code, 0, `healthy after the rollback: ${again.out}`);
    });

    it('an unknown backup is refused, naming the runnable backups command; nothing is written', async (t) => {
      const fx = await makeFixture(t);
      const rotate = await warden(['mtls', 'rotate', ...fx.args, '--propagation-delay', '0', '--until', 'add-anchor']);
      assert.equal(rotate.code, 0, rotate.err);
      const before = await fx.current();
      const missing = await warden(['mtls', 'rollback', ...fx.args, '--backup', 'no-such-backup']);
      assert.equal(missing.code, 1);
      const site = await open(fx);
      assert.ok(missing.err.includes(site.commandLine('backups')), `names the runnable backups command: ${missing.err}`);
      assert.deepEqual(await fx.current(), before);
    });
  });
}
