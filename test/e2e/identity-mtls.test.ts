/**
 * End to end: a real `warden sentry` (in-process, short workload TTL) and three demo workloads as
 * separate processes that get identities from it, renew them, and call each other over mTLS. No
 * call may fail across the renewals, and the certificates peers saw must chain to the sentry's root.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { isSelfSigned, parseCertificatesPem, certificatesToPem } from '../../src/core/certificate.js';
import { runSentry, type RunningSentry } from '../../src/sentry/server.js';
import { opensslVerify } from '../support/openssl.js';

const APP = fileURLToPath(new URL('./fixtures/app.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const APPS = ['alpha', 'beta', 'gamma'];
// Calls run until each workload has seen every peer renew (10 s TTL: a renewal every ~5 s, leaving 5 s for a late one on a loaded machine). A call
// gets 10 s before it counts as failed: only a hang takes that long, however loaded the machine.
const CALL_TIMEOUT_MS = 10_000;
// The bound on every wait: reached only by a hang.
const HANG_MS = 120_000;

interface AppEvent {
  app: string;
  event: string;
  [key: string]: unknown;
}

interface RunningApp {
  name: string;
  child: ChildProcess;
  events: AppEvent[];
  stderr: string[];
  exited: Promise<number | null>;
}

function startApp(name: string, env: Record<string, string>): RunningApp {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], {
    cwd: REPO,
    env: { ...process.env, ...env, APP_ID: name },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const app: RunningApp = {
    name,
    child,
    events: [],
    stderr: [],
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      app.events.push(JSON.parse(line) as AppEvent);
    } catch {
      app.stderr.push(`(stdout) ${line}`);
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => app.stderr.push(line));
  return app;
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms: number): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('identity client end to end with warden sentry', () => {
  let dir: string;
  let sentry: RunningSentry;
  const apps: RunningApp[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-e2e-identity-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 10s\n    allowedClockSkew: 1s\n');
    sentry = await runSentry({
      issuerCredentials: join(dir, 'credentials'),
      port: 0,
      listenAddress: '127.0.0.1',
      healthzPort: 0,
      healthzListenAddress: '127.0.0.1',
      enableMetrics: false,
      config,
      handleSignals: false,
      logger: pino({ level: 'warn' }),
    });
  });

  after(async () => {
    for (const app of apps) if (app.child.exitCode === null) app.child.kill('SIGKILL');
    await sentry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('three workloads call each other across renewals without a single failed call', async (t) => {
    const anchorsFile = join(dir, 'credentials', 'ca.crt');
    const env = { SENTRY_ADDRESS: `127.0.0.1:${sentry.port}`, TRUST_ANCHORS_FILE: anchorsFile, CALL_INTERVAL_MS: '100', CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS) };
    for (const name of APPS) apps.push(startApp(name, env));

    const listening = await Promise.all(
      apps.map((app) =>
        waitFor(`${app.name} to listen (stderr: ${app.stderr.join(' | ')})`, () => app.events.find((e) => e.event === 'listening'), HANG_MS),
      ),
    );
    const peers = listening.map((e) => ({ port: e.port as number, id: e.spiffeId as string }));
    assert.deepEqual(peers.map((p) => p.id), APPS.map((a) => `spiffe://public/ns/default/${a}`));
    for (const app of apps) {
      app.child.stdin!.write(`${JSON.stringify({ peers: peers.filter((p) => p.id !== `spiffe://public/ns/default/${app.name}`) })}\n`);
    }

    // Call until every workload has seen each peer present two different certificates (a renewal
    // in between): the events decide, not a fixed time, so a loaded machine only makes it slower.
    const renewedPeers = (app: RunningApp): boolean => APPS.filter((p) => p !== app.name).every((peer) =>
      new Set(app.events.filter((e) => e.event === 'call' && e.ok === true && e.peer === `spiffe://public/ns/default/${peer}`).map((e) => e.peerSerial)).size >= 2);
    await waitFor('every workload to see each peer renewed', () => (apps.every(renewedPeers) ? true : undefined), HANG_MS);

    // Stop calling first (so no call races a peer's exit), wait until the calls in flight have ended, then stop the processes.
    for (const app of apps) app.child.stdin!.write('{"peers":[]}\n');
    await Promise.all(apps.map((app) => waitFor(`${app.name} to finish its calls`, () => app.events.find((e) => e.event === 'idle'), CALL_TIMEOUT_MS + HANG_MS)));
    for (const app of apps) app.child.kill('SIGTERM');
    const codes = await Promise.all(apps.map((a) => a.exited));
    assert.deepEqual(codes, [0, 0, 0]);

    for (const app of apps) {
      const calls = app.events.filter((e) => e.event === 'call');
      const failed = calls.filter((e) => e.ok !== true);
      const summary = app.events.find((e) => e.event === 'summary');
      assert.ok(summary, `${app.name} printed its counters`);
      assert.deepEqual(failed, [], `${app.name}: failed calls (stderr: ${app.stderr.slice(-5).join(' | ')})`);
      assert.equal(summary.fail, 0);
      assert.equal(summary.ok, calls.length);
      for (const peer of APPS.filter((p) => p !== app.name)) {
        const toPeer = calls.filter((e) => e.peer === `spiffe://public/ns/default/${peer}`);
        t.diagnostic(`${app.name} called ${peer} ${toPeer.length} times`);
        assert.ok(toPeer.length >= 2, `${app.name} called ${peer} ${toPeer.length} times`);
        const serials = new Set(toPeer.map((e) => e.peerSerial));
        assert.ok(serials.size >= 2, `${app.name} saw ${peer} present ${serials.size} different certificates (renewals)`);
      }
      assert.ok((summary.renewals as number) >= 1, `${app.name} renewed ${String(summary.renewals)} times`);
      assert.equal(summary.renewalFailures, 0);
      t.diagnostic(`${app.name} served ${String(summary.served)} calls, renewed ${String(summary.renewals)} times`);
      assert.ok((summary.served as number) >= 4, `${app.name} served ${String(summary.served)} calls`);
    }

    // Every leaf a peer presented was issued by the sentry's issuer; check them all in-process
    // and one of them with openssl against the sentry's ca.crt.
    const caPem = readFileSync(anchorsFile, 'utf8');
    const issuerSubject = sentry.currentCa().bundle.issuer.subject.text;
    const chains = apps.flatMap((a) => a.events.filter((e) => typeof e.peerChainPem === 'string').map((e) => e.peerChainPem as string));
    assert.ok(chains.length >= 12, `captured ${chains.length} distinct peer chains`);
    for (const pem of chains) assert.equal(parseCertificatesPem(pem)[0]?.issuer.text, issuerSubject);
    const sample = parseCertificatesPem(chains[chains.length - 1] as string);
    const verdict = opensslVerify({
      anchorsPem: caPem,
      untrustedPem: certificatesToPem(sample.slice(1).filter((c) => !isSelfSigned(c))),
      leafPem: certificatesToPem(sample.slice(0, 1)),
      attime: new Date(sample[0]!.notBefore.getTime() + 1000),
    });
    assert.ok(verdict.ok, verdict.output);
  });
});
