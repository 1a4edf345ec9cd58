/**
 * `warden sentry --auto-renew` self-hosted never fights: two sentries on one directory rotate once
 * (one lock, one journal, one set of writes), a `warden mtls rotate` run while the sentry rotates
 * is refused naming the sentry's process, and a rotation a person started is left alone.
 * The sentries run in process on a simulated clock; the CLI is a real process on the real clock
 * (the simulated clock starts at the real time, so both agree on what is valid).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { certificatesToPem, parseCertificatesPem } from '../../src/core/certificate.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import { generatePrivateKey, privateKeyToPkcs8Pem } from '../../src/core/keys.js';
import { runSentry, type RunningSentry } from '../../src/sentry/server.js';
import { REPO } from '../cli/helpers.js';
import { SimTime, until } from '../support/sim-time.js';

const HOUR = 3_600_000;

/** A directory whose 30-day CA is 21 days old: past 2/3 of its life, so due for renewal. */
async function dueBundle(sim: SimTime): Promise<{ dir: string; certs: string; config: string; firstCa: string; rootKey: KeyObject }> {
  const dir = await mkdtemp(join(tmpdir(), 'warden-autorenew-lock-'));
  const certs = join(dir, 'certs');
  await mkdir(certs);
  const born = { now: () => new Date(sim.now().getTime() - 21 * DAY_MS) };
  const generated = generateTrustBundle({ clock: born, trustDomain: 'public', namespace: 'default', validityMs: 30 * DAY_MS, clockSkewMs: 60_000 });
  const texts = generated.bundle.toTexts();
  await writeFile(join(certs, 'ca.crt'), texts.ca);
  await writeFile(join(certs, 'issuer.crt'), texts.issuerCert);
  await writeFile(join(certs, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
  const config = join(dir, 'config.yaml');
  await writeFile(config, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 1h\n    allowedClockSkew: 1m\n');
  return { dir, certs, config, firstCa: texts.ca, rootKey: generated.rootKey };
}

async function startSentry(sim: SimTime, certs: string, config: string, logs: string[], extra: Partial<Parameters<typeof runSentry>[0]> = {}): Promise<RunningSentry> {
  const logger = pino({ level: 'info' }, { write: (line: string) => { logs.push(String((JSON.parse(line) as { msg?: string }).msg)); } });
  return runSentry({
    issuerCredentials: certs, config, port: 0, listenAddress: '127.0.0.1', healthzPort: 0, healthzListenAddress: '127.0.0.1',
    metricsPort: 0, metricsListenAddress: '127.0.0.1', clock: sim, logger, reloadDebounceMs: 10, signThreads: 0,
    autoRenew: true, autoRenewSleeper: sim.exact, autoRenewCheckIntervalMs: HOUR, autoRenewRetryDelayMs: HOUR,
    autoRenewPropagationDelayMs: 60_000, autoRenewTimeoutMs: HOUR, ...extra,
  });
}

async function counter(sentry: RunningSentry, result: string): Promise<number> {
  const values = (await sentry.metrics.autoRenewals.get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

async function journalOf(certs: string): Promise<{ id: string; status: string; phase: string; settings: Record<string, unknown> } | undefined> {
  try {
    return JSON.parse(await readFile(join(certs, '.rotation', 'journal.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function cli(args: string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'support', 'run-cli.ts'), ...args], { cwd: REPO, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Both sentries asleep and serving what is on disk. */
async function quiet(sim: SimTime, sentries: RunningSentry[], certs: string): Promise<boolean> {
  if (sim.pending.exact < sentries.length) return false;
  const onDisk = certificatesToPem(parseCertificatesPem(await readFile(join(certs, 'ca.crt'), 'utf8')));
  return sentries.every((s) => certificatesToPem(s.currentCa().bundle.anchors) === onDisk);
}

describe('sentry --auto-renew: one lock with the other rotators (self-hosted)', () => {
  it('two sentries on one directory: exactly one rotation, one set of writes', { timeout: 300_000 }, async (t) => {
    const sim = new SimTime(Date.now());
    const { dir, certs, config, firstCa } = await dueBundle(sim);
    t.after(() => rm(dir, { recursive: true, force: true }));
    const logs: string[] = [];
    const a = await startSentry(sim, certs, config, logs);
    const b = await startSentry(sim, certs, config, logs);
    t.after(async () => {
      sim.releaseAll();
      await Promise.all([a.close(), b.close()]);
    });
    for (let i = 0; i < 500; i++) {
      await until(() => quiet(sim, [a, b], certs), `both sentries quiet at ${sim.now().toISOString()}`);
      if ((await journalOf(certs))?.status === 'done' && (await counter(a, 'completed')) + (await counter(b, 'completed')) === 1) break;
      sim.step(HOUR);
    }
    const journal = await journalOf(certs);
    assert.equal(journal?.status, 'done');
    assert.equal((await counter(a, 'started')) + (await counter(b, 'started')), 1, 'one rotation started');
    assert.equal((await counter(a, 'completed')) + (await counter(b, 'completed')), 1, 'one rotation completed');
    assert.ok((await counter(a, 'blocked')) + (await counter(b, 'blocked')) >= 1, 'the other sentry found the lock held');
    // One set of writes: the first write backed the original bundle up, once.
    const backups = (await readdir(join(certs, '.backup'))).filter((n) => !n.startsWith('.'));
    assert.equal(backups.length, 1, `one backup: ${backups.join(', ')}`);
    const ca = await readFile(join(certs, 'ca.crt'), 'utf8');
    assert.notEqual(ca, firstCa);
    assert.equal(parseCertificatesPem(ca).length, 1);
    // A further turn does not rotate again: the new CA is not due.
    sim.step(HOUR);
    await until(() => quiet(sim, [a, b], certs), 'quiet after the rotation');
    assert.equal((await counter(a, 'started')) + (await counter(b, 'started')), 1);
  });

  it('`warden mtls rotate` while the sentry rotates is refused (the sentry holds the lock); a person\'s rotation is never taken over', { timeout: 300_000 }, async (t) => {
    const sim = new SimTime(Date.now());
    const { dir, certs, config } = await dueBundle(sim);
    t.after(() => rm(dir, { recursive: true, force: true }));
    const logs: string[] = [];
    const sentry = await startSentry(sim, certs, config, logs);
    t.after(async () => {
      sim.releaseAll();
      await sentry.close();
    });
    // The sentry starts its rotation and waits for propagation after add-anchor (simulated time stands still).
    await until(async () => (await journalOf(certs))?.phase === 'plan' || (await journalOf(certs))?.status === 'in-progress', 'the automatic rotation to start');
    await until(() => sim.pending.exact >= 1, 'the sentry to wait');
    const manual = await cli(['mtls', 'rotate', '--issuer-credentials', certs], dir);
    assert.equal(manual.code, 1, manual.stdout + manual.stderr);
    assert.match(manual.stderr + manual.stdout, /ERR_ROTATION_IN_PROGRESS/);
    assert.match(manual.stderr + manual.stdout, new RegExp(`pid ${process.pid}`));
    const auto = await journalOf(certs);
    assert.equal(auto?.settings.startedBy, 'warden-sentry');

    // Finish it, then let a person start one (stopped after add-anchor): the sentry leaves it alone.
    for (let i = 0; i < 500 && (await journalOf(certs))?.status !== 'done'; i++) {
      await until(() => quiet(sim, [sentry], certs), 'the sentry quiet');
      sim.step(HOUR);
    }
    assert.equal((await journalOf(certs))?.status, 'done');
    await until(() => quiet(sim, [sentry], certs), 'the sentry quiet after its rotation');
    const person = await cli(['mtls', 'rotate', '--issuer-credentials', certs, '--until', 'add-anchor', '--propagation-delay', '0s', '--valid-until', '1'], dir);
    assert.equal(person.code, 0, person.stdout + person.stderr);
    const manualRecord = await journalOf(certs);
    assert.equal(manualRecord?.status, 'in-progress');
    assert.equal(manualRecord?.settings.startedBy, 'warden-mtls-rotate', 'a person\'s rotation says so (the sentry resumes only its own)');
    const blockedBefore = await counter(sentry, 'blocked');
    // A day later (the new CA would not be due yet anyway; the point is the journal): still the person's.
    for (let i = 0; i < 3; i++) {
      sim.step(HOUR);
      await until(() => sim.pending.exact >= 1, 'the sentry to wait');
    }
    assert.ok((await counter(sentry, 'blocked')) > blockedBefore, 'the sentry counted the person\'s rotation as blocking');
    const still = await journalOf(certs);
    assert.equal(still?.id, manualRecord?.id);
    assert.equal(still?.phase, 'add-anchor');
    assert.ok(logs.some((l) => /was started by a person and is unfinished/.test(l)));
  });

  it('a bundle it cannot renew (the given root key is not the root\'s) is not touched: warnings and metrics instead', { timeout: 120_000 }, async (t) => {
    const sim = new SimTime(Date.now());
    const { dir, certs, config, firstCa } = await dueBundle(sim);
    t.after(() => rm(dir, { recursive: true, force: true }));
    const wrongKey = join(dir, 'other-root.key');
    await writeFile(wrongKey, privateKeyToPkcs8Pem(generatePrivateKey('ed25519')), { mode: 0o600 });
    const logs: string[] = [];
    const sentry = await startSentry(sim, certs, config, logs, { autoRenewRootKey: wrongKey });
    t.after(async () => {
      sim.releaseAll();
      await sentry.close();
    });
    for (let i = 0; i < 3; i++) {
      await until(() => sim.pending.exact >= 1, 'the sentry to wait');
      sim.step(HOUR);
    }
    await until(() => sim.pending.exact >= 1, 'the sentry to wait');
    const body = (await sentry.metrics.render()).body;
    assert.match(body, /^warden_sentry_auto_renew_possible 0$/m);
    assert.match(body, /^warden_sentry_rotation_phase\{phase="idle"\} 1$/m);
    assert.equal(await counter(sentry, 'started'), 0);
    assert.equal(await journalOf(certs), undefined, 'no rotation was recorded');
    assert.equal(await readFile(join(certs, 'ca.crt'), 'utf8'), firstCa);
    const warnings = logs.filter((l) => /was due for automatic renewal at .*but the sentry cannot renew it: the provided root key/.test(l));
    assert.ok(warnings.length >= 2, `warned once per check interval (${warnings.length})`);
  });

  it('with --auto-renew-root-key: the renewal keeps the root key (a new root certificate for the same key)', { timeout: 300_000 }, async (t) => {
    const sim = new SimTime(Date.now());
    const { dir, certs, config, firstCa, rootKey } = await dueBundle(sim);
    t.after(() => rm(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'root.key');
    await writeFile(keyFile, privateKeyToPkcs8Pem(rootKey), { mode: 0o600 });
    const logs: string[] = [];
    const sentry = await startSentry(sim, certs, config, logs, { autoRenewRootKey: keyFile });
    t.after(async () => {
      sim.releaseAll();
      await sentry.close();
    });
    for (let i = 0; i < 500 && (await journalOf(certs))?.status !== 'done'; i++) {
      await until(() => quiet(sim, [sentry], certs), 'the sentry quiet');
      sim.step(HOUR);
    }
    const journal = await journalOf(certs) as unknown as { status: string; material: { source: string } };
    assert.equal(journal.status, 'done');
    assert.equal(journal.material.source, 'private-key');
    const [before] = parseCertificatesPem(firstCa);
    const after = parseCertificatesPem(await readFile(join(certs, 'ca.crt'), 'utf8'));
    assert.equal(after.length, 1);
    assert.ok(!after[0]!.der.equals(before!.der), 'a new root certificate');
    assert.ok(after[0]!.publicKey.equals(before!.publicKey), 'for the same root key');
    assert.ok(after[0]!.notAfter.getTime() > before!.notAfter.getTime());
  });
});
