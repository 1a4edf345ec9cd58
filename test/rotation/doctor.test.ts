/** `warden mtls doctor`: each broken state, diagnosed, with the exact commands that fix it, in order. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { doctorCommand, type DoctorOptions } from '../../src/cli/commands/doctor.js';
import { rotateCommand } from '../../src/cli/commands/rotate.js';
import { captureIo } from '../../src/cli/io.js';
import { DEFAULT_FILE_NAMES } from '../../src/cli/options.js';
import { FileJournalStore } from '../../src/rotation-engine/journal.js';
import type { ProbeResult } from '../../src/rotation-engine/sentry-compare.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { startTestSentry } from '../support/sentry-harness.js';
import { ClockSleeper, DAY, FixedClock, HOUR, makeBundle, T0, tempDir } from './helpers.js';

interface Report {
  healthy: boolean;
  diagnoses: { id: string; severity: string }[];
  fixes: { kind: string; command: string }[];
}

async function env(t: Parameters<typeof tempDir>[0], clock: FixedClock = new FixedClock(T0)) {
  const home = await tempDir(t, 'warden-doctor-');
  const certs = join(home, 'certs');
  const store = new FsTrustBundleStore({ dir: certs, clock });
  const base = { ...DEFAULT_FILE_NAMES, issuerCredentials: certs };
  const doctor = async (opts: Partial<DoctorOptions> = {}, probe?: ProbeResult) => {
    const io = captureIo({ clock, env: { HOME: home }, cwd: home });
    const runtime = probe === undefined ? {} : { probe: async () => probe };
    const code = await doctorCommand({ ...base, output: 'text', ...opts }, io, undefined, runtime);
    const jsonIo = captureIo({ clock, env: { HOME: home }, cwd: home });
    await doctorCommand({ ...base, ...opts, output: 'json' }, jsonIo, undefined, runtime);
    return { code, out: io.stdoutText(), report: JSON.parse(jsonIo.stdoutText()) as Report };
  };
  const cmd = (line: string): string => `${line} --issuer-credentials ${certs}`;
  const exportLine = `export DAPR_TRUST_ANCHORS="$(cat ${join(certs, 'ca.crt')})"  # then restart every daprd (it reads its trust anchors only at start)`;
  return { home, certs, clock, store, doctor, cmd, exportLine, base };
}

/** The numbered fix lines of the text output. */
function steps(out: string): string[] {
  return out.split('\n').filter((l) => /^ {2}\d+\. /.test(l)).map((l) => l.replace(/^ {2}\d+\. /, ''));
}

describe('warden mtls doctor', () => {
  it('healthy: exit 0, nothing to do', async (t) => {
    const e = await env(t);
    await e.store.write(makeBundle(e.clock).toTexts());
    const r = await e.doctor();
    assert.equal(r.code, 0);
    assert.match(r.out, /is healthy: nothing to do/);
    assert.deepEqual(r.report.fixes, []);
  });

  it('no bundle: renew, then restart daprd with the new anchors', async (t) => {
    const e = await env(t);
    const r = await e.doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /no-bundle: There is no trust bundle/);
    assert.deepEqual(steps(r.out), [e.cmd('warden mtls renew-certificate'), e.exportLine]);
  });

  it('partial bundle: rollback when a good backup exists, else renew --force', async (t) => {
    const e = await env(t);
    await e.store.write(makeBundle(e.clock).toTexts());
    await rm(join(e.certs, 'issuer.key'));
    const r = await e.doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(r.report.diagnoses.map((d) => d.id), ['partial-bundle']);
    assert.deepEqual(steps(r.out), [e.cmd('warden mtls renew-certificate --force'), e.exportLine]);
    e.clock.advance(1000);
    const good = makeBundle(e.clock);
    await e.store.write(good.toTexts(), { overwritePartial: true });
    e.clock.advance(1000);
    await e.store.write(makeBundle(e.clock).toTexts());
    await rm(join(e.certs, 'ca.crt'));
    assert.deepEqual(steps((await e.doctor()).out), [e.cmd('warden mtls rollback'), e.exportLine]);
  });

  it('expired root and issuer: renew in one step (recovery), then restart daprd', async (t) => {
    const e = await env(t);
    await e.store.write(makeBundle(e.clock, { validityMs: HOUR }).toTexts());
    e.clock.advance(2 * HOUR);
    const r = await e.doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(r.report.diagnoses.map((d) => d.id), ['bundle-expired']);
    assert.match(r.out, /root certificate expired at .*no downtime left to avoid/);
    assert.deepEqual(steps(r.out), [e.cmd('warden mtls renew-certificate'), e.exportLine]);
  });

  it('a ca.crt without the root the issuer chains to: roll back to the last good bundle', async (t) => {
    const e = await env(t);
    const good = makeBundle(e.clock);
    await e.store.write(good.toTexts());
    e.clock.advance(1000);
    const other = makeBundle(e.clock);
    await e.store.write(new TrustBundle(good.anchors, other.issuerChain, other.issuerKey).toTexts());
    const r = await e.doctor();
    assert.deepEqual(r.report.diagnoses.map((d) => d.id), ['issuer-not-in-anchors']);
    assert.match(r.out, /ca\.crt has not got the root the issuer chains to/);
    assert.deepEqual(steps(r.out), [e.cmd('warden mtls rollback'), e.exportLine]);
  });

  it('expiring soon: rotate without downtime', async (t) => {
    const e = await env(t);
    await e.store.write(makeBundle(e.clock, { validityMs: 10 * DAY }).toTexts());
    const r = await e.doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(r.report.diagnoses.map((d) => d.id), ['bundle-expiring']);
    assert.deepEqual(steps(r.out), [e.cmd('warden mtls rotate')]);
  });

  it('an unfinished rotation: resume it; changed behind its back: roll back to its backup; running: wait', async (t) => {
    const e = await env(t);
    await e.store.write(makeBundle(e.clock).toTexts(), { expectedVersion: null });
    e.clock.advance(HOUR);
    const io = captureIo({ clock: e.clock, env: { HOME: e.home }, cwd: e.home });
    assert.equal(await rotateCommand({ ...e.base, until: 'add-anchor', propagationDelay: 0 }, io, undefined, { sleeper: new ClockSleeper(e.clock) }), 0);
    const unfinished = await e.doctor();
    assert.equal(unfinished.code, 1);
    assert.deepEqual(unfinished.report.diagnoses.map((d) => d.id), ['rotation-unfinished']);
    assert.deepEqual(steps(unfinished.out), [e.cmd('warden mtls rotate --resume')]);

    const held = await new FileJournalStore(join(e.certs, '.rotation')).lock(T0);
    const running = await e.doctor();
    await held.release();
    assert.deepEqual(running.report.diagnoses.map((d) => d.id), ['rotation-running']);
    assert.match(steps(running.out)[0]!, new RegExp(`^wait for the running rotation \\(pid ${process.pid} on this host\\) to finish`));

    const journal = await new FileJournalStore(join(e.certs, '.rotation')).read();
    await e.store.write(makeBundle(e.clock).toTexts());
    const diverged = await e.doctor();
    assert.deepEqual(diverged.report.diagnoses.map((d) => d.id), ['rotation-diverged']);
    assert.deepEqual(steps(diverged.out), [e.cmd(`warden mtls rollback --backup ${journal!.backup!.name}`)]);
  });

  it('anchors a workload reads that lack the current root: copy ca.crt there and restart daprd', async (t) => {
    const e = await env(t);
    const old = makeBundle(e.clock);
    const anchorsFile = join(e.home, 'daprd-anchors.pem');
    await writeFile(anchorsFile, old.toTexts().ca);
    await e.store.write(makeBundle(e.clock).toTexts());
    const r = await e.doctor({ trustAnchors: [anchorsFile] });
    assert.deepEqual(r.report.diagnoses.map((d) => d.id), ['anchors-stale']);
    assert.deepEqual(steps(r.out), [`cp ${join(e.certs, 'ca.crt')} ${anchorsFile}`, e.exportLine]);
  });

  it('sentry: unreachable → start it; stale → restart it; cannot sign → says why', async (t) => {
    const e = await env(t);
    const current = makeBundle(e.clock);
    await e.store.write(current.toTexts());
    const unreachable = await e.doctor({ sentryAddress: '127.0.0.1:1' }, { ok: false, failure: 'unreachable', message: 'the sentry at 127.0.0.1:1 is not reachable (connection refused)' });
    assert.deepEqual(unreachable.report.diagnoses.map((d) => d.id), ['sentry-unreachable']);
    assert.deepEqual(steps(unreachable.out), [`warden sentry --issuer-credentials ${e.certs} --port 1`]);

    const old = makeBundle(e.clock);
    const stale = await e.doctor({ sentryAddress: 'x:1' }, { ok: true, observation: { chain: [old.issuer, old.issuer], trustAnchors: old.anchors } });
    assert.deepEqual(stale.report.diagnoses.map((d) => d.id), ['sentry-stale']);
    assert.deepEqual(steps(stale.out), [`restart the sentry (stop it, then: warden sentry --issuer-credentials ${e.certs} --port 1)`]);

    const refusing = await e.doctor({ sentryAddress: 'x:1' }, { ok: false, failure: 'refused', status: 'FAILED_PRECONDITION', message: 'the sentry refused to sign: FAILED_PRECONDITION: issuer expired' });
    assert.deepEqual(refusing.report.diagnoses.map((d) => d.id), ['sentry-cannot-sign']);
  });

  it('a real sentry: healthy on the same bundle (probe + healthz); another CA fails authentication; 503 health is reported', async (t) => {
    const e = await env(t, new FixedClock(systemClock.now()));
    const sentry = await startTestSentry({ dir: e.certs, texts: undefined, options: { trustDomain: 'localhost' } }).catch(async () => {
      throw new Error('sentry did not start');
    });
    t.after(() => sentry.close());
    const healthz = `http://127.0.0.1:${sentry.sentry.healthzPort}/healthz`;
    const ok = await e.doctor({ sentryAddress: sentry.address, healthzUrl: healthz });
    assert.equal(ok.code, 0, ok.out);

    const other = await env(t, new FixedClock(systemClock.now()));
    await other.store.write(makeBundle(systemClock, { trustDomain: 'localhost' }).toTexts());
    const foreign = await other.doctor({ sentryAddress: sentry.address });
    assert.deepEqual(foreign.report.diagnoses.map((d) => d.id), ['sentry-identity']);

    const server = createServer((_req, res) => { res.writeHead(503); res.end('issuer certificate has expired\n'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const sick = await e.doctor({ healthzUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz` });
    assert.deepEqual(sick.report.diagnoses.map((d) => d.id), ['sentry-unhealthy']);
    assert.match(sick.out, /answers 503: issuer certificate has expired/);
  });
});
