/**
 * `warden mtls rotate` in-process (fixed clock, a sleeper that moves it, so a 24 h wait costs
 * nothing): dry run, full run, --until/--status/--resume, refusals, an expired bundle, and the
 * three ways to choose the new root (fresh, --private-key, provided files).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { isWardenError } from '../../src/core/errors.js';
import { generatePrivateKey, parsePrivateKeyPem, privateKeyToPkcs8Pem, publicKeysEqual } from '../../src/core/keys.js';
import { rotateCommand, type RotateOptions } from '../../src/cli/commands/rotate.js';
import { captureIo } from '../../src/cli/io.js';
import { DEFAULT_FILE_NAMES } from '../../src/cli/options.js';
import { FileJournalStore } from '../../src/rotation-engine/journal.js';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { readBundle, snapshotDir, writeBundle } from '../cli/helpers.js';
import { ClockSleeper, DAY, FixedClock, HOUR, makeBundle, T0, tempDir } from './helpers.js';

async function env(t: Parameters<typeof tempDir>[0], opts: { validityMs?: number; ageMs?: number } = {}) {
  const home = await tempDir(t, 'warden-rot-cli-');
  const certs = join(home, 'certs');
  const clock = new FixedClock(T0);
  const original = makeBundle(clock, opts.validityMs === undefined ? {} : { validityMs: opts.validityMs });
  await writeBundle(certs, original.toTexts());
  clock.advance(opts.ageMs ?? HOUR);
  const sleeper = new ClockSleeper(clock);
  const run = async (extra: Partial<RotateOptions>) => {
    const io = captureIo({ clock, env: { HOME: home }, cwd: home });
    const code = await rotateCommand({ ...DEFAULT_FILE_NAMES, issuerCredentials: certs, ...extra }, io, undefined, { sleeper });
    return { code, out: io.stdoutText(), err: io.stderrText() };
  };
  return { home, certs, clock, original, sleeper, run };
}

describe('warden mtls rotate (in-process)', () => {
  it('--dry-run prints every phase and the timeline, and writes nothing', async (t) => {
    const e = await env(t);
    const before = await snapshotDir(e.home);
    const r = await e.run({ dryRun: true });
    assert.equal(r.code, 0, r.err);
    for (const phase of ['add-anchor', 'switch-issuer', 'retire-old-root']) assert.match(r.out, new RegExp(`${phase} +ca\\.crt`));
    assert.match(r.out, /retire-old-root +wait for old leaves to expire +24h15m0s/);
    assert.match(r.out, /Expected total: 24h15m30s/);
    assert.match(r.out, /Dry run: nothing was written/);
    assert.deepEqual(await snapshotDir(e.home), before);
    const json = await e.run({ dryRun: true, output: 'json', workloadTtl: 4000, allowedClockSkew: 1000, propagationDelay: 2000 });
    const plan = JSON.parse(json.out) as { valid: boolean; totalMs: number; phases: { phase: string; anchors: unknown[] }[] };
    assert.equal(plan.valid, true);
    assert.equal(plan.totalMs, 3 * 2000 + 5000);
    assert.deepEqual(plan.phases.map((p) => p.anchors.length), [2, 2, 1]);
    assert.deepEqual(await snapshotDir(e.home), before);
  });

  it('runs all phases (waiting TTL + skew before retiring), then --status says done', async (t) => {
    const e = await env(t);
    const r = await e.run({ propagationDelay: 0 });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\[add-anchor\] Written; the bundle from before the rotation is backed up in .*\.backup/);
    assert.match(r.out, /\[retire-old-root\] Waiting until/);
    assert.match(r.out, /Rotation complete/);
    // One wait of TTL + skew, slept in 10-minute steps by the countdown (src/cli/countdown.ts).
    assert.equal(e.sleeper.calls.reduce((a, b) => a + b, 0), DAY + 15 * 60_000);
    assert.equal(e.sleeper.calls.length, Math.ceil((DAY + 15 * 60_000) / (10 * 60_000)));
    const now = TrustBundle.fromTexts(await readBundle(e.certs));
    assert.equal(now.anchors.length, 1);
    assert.ok(!now.root.der.equals(e.original.root.der), 'the old root is gone');
    assert.ok(now.issuer.issuer.der.equals(now.root.subject.der));
    const status = await e.run({ status: true, output: 'json' });
    const json = JSON.parse(status.out) as { status: string; phases: Record<string, { state: string }>; running: unknown; next: { kind: string } };
    assert.equal(json.status, 'done');
    assert.deepEqual(Object.values(json.phases).map((p) => p.state), ['complete', 'complete', 'complete']);
    assert.equal(json.running, null);
    assert.equal(json.next.kind, 'done');
    assert.doesNotMatch(status.out, /PRIVATE KEY/, 'status never prints keys');
  });

  it('--until stops after a phase; --status shows it; a new rotation is refused; --resume finishes', async (t) => {
    const e = await env(t);
    const r = await e.run({ until: 'add-anchor', propagationDelay: 0 });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Stopped after add-anchor as asked/);
    const status = await e.run({ status: true });
    assert.match(status.out, /in progress \(last completed phase: add-anchor\), not running/);
    assert.match(status.out, /add-anchor +complete/);
    assert.match(status.out, /switch-issuer +pending/);
    assert.match(status.out, new RegExp(`Next: continue with \`warden mtls rotate --resume --issuer-credentials ${e.certs.replace(/[/.]/g, '\\$&')}\``));
    await assert.rejects(e.run({}), (err: unknown) => isWardenError(err, 'ERR_ROTATION_IN_PROGRESS') && /--resume/.test(err.message) && /rollback/.test(err.message));
    const resumed = await e.run({ resume: true, until: 'switch-issuer' });
    assert.equal(resumed.code, 0, resumed.err);
    const waiting = await e.run({ status: true });
    assert.match(waiting.out, /retire-old-root +pending .*not before/);
    assert.match(waiting.out, /retire-old-root may run from .* \(in 1 day and 0 hours\)/);
    const done = await e.run({ resume: true });
    assert.equal(done.code, 0, done.err);
    assert.match(done.out, /Rotation complete/);
    await assert.rejects(e.run({ resume: true }), (err: unknown) => isWardenError(err, 'ERR_ROTATION_NOT_FOUND') && /is done/.test(err.message));
  });

  it('a rotation already running (lock held) refuses a second one with ERR_ROTATION_IN_PROGRESS', async (t) => {
    const e = await env(t);
    await e.run({ until: 'plan' });
    const held = await new FileJournalStore(join(e.certs, '.rotation')).lock(T0);
    t.after(() => held.release());
    const before = await snapshotDir(e.certs);
    await assert.rejects(e.run({ resume: true }), (err: unknown) => isWardenError(err, 'ERR_ROTATION_IN_PROGRESS') && err.message.includes(`pid ${process.pid}`));
    const status = await e.run({ status: true });
    assert.match(status.out, new RegExp(`running now \\(pid ${process.pid} on this host\\)`));
    assert.deepEqual(await snapshotDir(e.certs), before);
  });

  it('refuses meaningless flag combinations and a resume with nothing to resume', async (t) => {
    const e = await env(t);
    await assert.rejects(e.run({ status: true, privateKey: 'k.pem' }), (err: unknown) => isWardenError(err, 'ERR_USAGE'));
    await assert.rejects(e.run({ resume: true, workloadTtl: 1000 }), (err: unknown) => isWardenError(err, 'ERR_USAGE') && /retire time was fixed/.test(err.message));
    await assert.rejects(e.run({ resume: true, dryRun: true }), (err: unknown) => isWardenError(err, 'ERR_USAGE'));
    await assert.rejects(e.run({ resume: true }), (err: unknown) => isWardenError(err, 'ERR_ROTATION_NOT_FOUND'));
    const none = await e.run({ status: true });
    assert.match(none.out, /No rotation has been recorded/);
  });

  it('works on an expired bundle and says so plainly: add-anchor skipped, no wait before retiring', async (t) => {
    const e = await env(t, { validityMs: HOUR, ageMs: 2 * DAY });
    const r = await e.run({ propagationDelay: 0 });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /The current root certificate expired at .*nothing verifies against it any more/);
    assert.match(r.out, /\[add-anchor\] Skipped: the current bundle can no longer be used to sign \(its root expired at/);
    assert.deepEqual(e.sleeper.calls, [], 'no wait for old leaves: none can verify');
    const now = TrustBundle.fromTexts(await readBundle(e.certs));
    assert.ok(now.root.notAfter.getTime() > e.clock.now().getTime() + 300 * DAY);
    assert.equal(now.anchors.length, 1);
  });

  it('--private-key keeps the root key; --root-key-out saves a fresh one (0600) and the journal records where', async (t) => {
    const e = await env(t);
    const keyFile = join(e.home, 'root.key');
    const key = generatePrivateKey('ecdsa-p256');
    await writeFile(keyFile, privateKeyToPkcs8Pem(key), { mode: 0o600 });
    const r = await e.run({ privateKey: keyFile, propagationDelay: 0, force: true });
    assert.equal(r.code, 0, r.err);
    assert.ok(publicKeysEqual(TrustBundle.fromTexts(await readBundle(e.certs)).root.publicKey, key));

    const e2 = await env(t);
    const out = join(e2.home, 'new-root.key');
    const r2 = await e2.run({ rootKeyOut: out, propagationDelay: 0, until: 'add-anchor' });
    assert.equal(r2.code, 0, r2.err);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const journal = JSON.parse(await readFile(join(e2.certs, '.rotation', 'journal.json'), 'utf8')) as { material: { rootKeyPath: string; anchorsPem: string } };
    assert.equal(journal.material.rootKeyPath, out);
    const newRoot = TrustBundle.fromTexts({ ca: journal.material.anchorsPem, issuerCert: journal.material.anchorsPem, issuerKey: await readFile(out, 'utf8') });
    assert.ok(publicKeysEqual(newRoot.anchors[0]!.publicKey, parsePrivateKeyPem(await readFile(out, 'utf8'))));
  });

  it('installs provided certificates (bring your own); a provided issuer from another root is refused with exit 3, nothing written', async (t) => {
    const e = await env(t);
    const dir = join(e.home, 'byo');
    await mkdir(dir);
    const mine = generateTrustBundle({ clock: e.clock, trustDomain: 'cluster.local', namespace: 'dapr-system' }).bundle.toTexts();
    const other = makeBundle(e.clock).toTexts();
    await writeFile(join(dir, 'ca.crt'), mine.ca);
    await writeFile(join(dir, 'issuer.crt'), other.issuerCert);
    await writeFile(join(dir, 'issuer.key'), other.issuerKey);
    const files = { caRootCertificate: join(dir, 'ca.crt'), issuerPublicCertificate: join(dir, 'issuer.crt'), issuerPrivateKey: join(dir, 'issuer.key') };
    const before = await snapshotDir(e.certs);
    const bad = await e.run({ ...files, propagationDelay: 0 });
    assert.equal(bad.code, 3);
    assert.match(bad.out, /ERR_ISSUER_NOT_FROM_ANCHORS/);
    assert.deepEqual(await snapshotDir(e.certs), before);
    await writeFile(join(dir, 'issuer.crt'), mine.issuerCert);
    await writeFile(join(dir, 'issuer.key'), mine.issuerKey);
    const good = await e.run({ ...files, propagationDelay: 0, force: true });
    assert.equal(good.code, 0, good.err);
    assert.equal((await readBundle(e.certs)).ca, mine.ca);
  });
});
