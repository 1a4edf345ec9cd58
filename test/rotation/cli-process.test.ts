/**
 * The rotation through the built binary as real processes (`npm run build` first; `npm test` does
 * it): a second rotation is refused while one runs; a rotation killed with SIGKILL mid-phase is
 * resumed to the end; Ctrl-C (SIGINT) stops it cleanly between steps.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { REPO, runWarden, writeBundle } from '../cli/helpers.js';
import { assertRotationBuilt } from './built.js';
import { makeBundle, tempDir } from './helpers.js';

const BIN = join(REPO, 'bin', 'warden.js');

/** Starts `warden …` and resolves once stdout matches `ready`. */
function startWarden(args: string[], home: string, ready: RegExp): { child: ChildProcess; out: () => string; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: home, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const readyP = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (ready.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`exited ${code} before ready:\n${out}`)));
    // A bound for a hang only: starting node on a loaded machine can take seconds.
    setTimeout(() => reject(new Error(`not ready after 120 s:\n${out}`)), 120_000).unref();
  });
  return { child, out: () => out, ready: readyP, exited };
}

async function journalOf(certs: string): Promise<{ status: string; phase: string; phases: Record<string, Record<string, string>> }> {
  return JSON.parse(await readFile(join(certs, '.rotation', 'journal.json'), 'utf8'));
}

describe('warden mtls rotate as real processes', () => {
  it('refuses a second rotation while one runs; after a SIGKILL mid-phase, --resume finishes it', async (t) => {
    assertRotationBuilt();
    const home = await tempDir(t, 'warden-rot-proc-');
    const certs = join(home, 'certs');
    const original = makeBundle(systemClock);
    await writeBundle(certs, original.toTexts());
    const creds = ['--issuer-credentials', certs];
    const a = startWarden(['mtls', 'rotate', ...creds, '--propagation-delay', '1h', '--workload-ttl', '1s', '--allowed-clock-skew', '0s'], home, /\[add-anchor\] Waiting 1h0m0s for/);
    t.after(() => void a.child.kill('SIGKILL'));
    await a.ready;

    const second = await runWarden(['mtls', 'rotate', '--resume', ...creds], { home });
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`pid ${a.child.pid} on this host.*\\(ERR_ROTATION_IN_PROGRESS\\)`, 's'));
    const third = await runWarden(['mtls', 'rotate', ...creds], { home });
    assert.equal(third.code, 1);
    assert.match(third.stderr, /ERR_ROTATION_IN_PROGRESS/);

    a.child.kill('SIGKILL');
    await a.exited;
    const killed = await journalOf(certs);
    assert.equal(killed.status, 'in-progress');
    assert.ok(killed.phases['add-anchor']!.writtenAt && !killed.phases['add-anchor']!.completedAt, 'killed between write and convergence');
    const status = await runWarden(['mtls', 'rotate', '--status', '-o', 'json', ...creds], { home });
    const json = JSON.parse(status.stdout) as { running: unknown; next: { kind: string; phase: string } };
    assert.equal(json.running, null, 'the dead process holds no lock');
    assert.deepEqual(json.next.kind, 'converge');

    const refused = await runWarden(['mtls', 'rotate', ...creds], { home });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /unfinished rotation.*--resume.*\(ERR_ROTATION_IN_PROGRESS\)/s);

    const resumed = await runWarden(['mtls', 'rotate', '--resume', '--propagation-delay', '0s', ...creds], { home });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Rotation complete/);
    const final = TrustBundle.fromTexts({
      ca: await readFile(join(certs, 'ca.crt'), 'utf8'),
      issuerCert: await readFile(join(certs, 'issuer.crt'), 'utf8'),
      issuerKey: await readFile(join(certs, 'issuer.key'), 'utf8'),
    });
    assert.equal(final.anchors.length, 1);
    assert.ok(!final.root.der.equals(original.root.der));
    assert.equal((await journalOf(certs)).status, 'done');
  });

  it('Ctrl-C stops between steps with ERR_ROTATION_INTERRUPTED; the journal is consistent and --resume completes', async (t) => {
    assertRotationBuilt();
    const home = await tempDir(t, 'warden-rot-proc-');
    const certs = join(home, 'certs');
    await writeBundle(certs, makeBundle(systemClock).toTexts());
    const creds = ['--issuer-credentials', certs];
    const a = startWarden(['mtls', 'rotate', ...creds, '--propagation-delay', '1h', '--workload-ttl', '1s', '--allowed-clock-skew', '0s'], home, /\[add-anchor\] Waiting 1h0m0s for/);
    t.after(() => void a.child.kill('SIGKILL'));
    await a.ready;
    const started = performance.now();
    a.child.kill('SIGINT');
    assert.equal(await a.exited, 1);
    assert.ok(performance.now() - started < 60_000, 'stopped promptly, not after the 1 h wait');
    assert.match(a.out(), /Rotation stopped before converge of add-anchor.*--resume.*\(ERR_ROTATION_INTERRUPTED\)/s);
    const journal = await journalOf(certs);
    assert.equal(journal.phase, 'plan');
    assert.ok(journal.phases['add-anchor']!.writtenAt);
    const resumed = await runWarden(['mtls', 'rotate', '--resume', '--propagation-delay', '0s', ...creds], { home });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await journalOf(certs)).status, 'done');
  });
});
