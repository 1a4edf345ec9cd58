/**
 * `warden sentry --workers 2` as real processes (the built binary): a primary that owns healthz
 * and metrics and two node:cluster workers sharing one gRPC port. Both workers serve (each with
 * its own serving SVID), health and metrics are aggregated without multiplying per-bundle facts, a
 * killed worker is replaced, a reload reaches every worker, start-up failures stop everything with
 * the failing error, SIGTERM stops every process, and the expiry warning is logged once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { assertBuilt, REPO } from '../cli/helpers.js';
import { buildBundle, withExpiresIn, type BuiltBundle } from '../support/bundles.js';
import { opensslVerify } from '../support/openssl.js';
import { connectSentry, csrPem, x509Chain } from '../support/sentry-client.js';
import { tempDir, writeBundleFiles, type LogRecord } from '../support/sentry-harness.js';

const DAY = 24 * 3600 * 1000;
const SPIFFE_ID = 'spiffe://localhost/ns/default/dapr-sentry';
const request = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };

interface Started {
  port: number;
  healthzPort: number;
  metricsPort: number;
  workerPids: number[];
}

interface SentryRun {
  child: ChildProcess;
  dir: string;
  records: LogRecord[];
  stderr(): string;
  started: Promise<Started>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node bin/warden.js sentry --workers 2 …` on 127.0.0.1 with every port 0, stdout parsed as JSON log records. */
function runSentry(dir: string, extra: string[] = []): SentryRun {
  const child = spawn(process.execPath, [
    join(REPO, 'bin', 'warden.js'), 'sentry', '--issuer-credentials', dir, '--workers', '2',
    '--port', '0', '--listen-address', '127.0.0.1',
    '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1',
    '--metrics-port', '0', '--metrics-listen-address', '127.0.0.1',
    ...extra,
  ], { cwd: REPO, env: { ...process.env, NAMESPACE: 'default', WARDEN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const records: LogRecord[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const started = new Promise<Started>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as LogRecord;
      records.push(record);
      if (record.msg.startsWith('Sentry started')) resolve(record as unknown as Started);
    });
    void exited.then(({ code }) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
  });
  started.catch(() => {});
  return { child, dir, records, stderr: () => stderr, started, exited };
}

/** Pids of live processes whose command line mentions `text` (our unique temp directory). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** One SignCertificate call on a connection of its own; the serving certificate seen and the leaf chain. */
async function signOnNewConnection(port: number, anchorsPem: string): Promise<{ servingFp: string; chain: ReturnType<typeof x509Chain> }> {
  const client = connectSentry({ address: `127.0.0.1:${port}`, anchorsPem, expectedId: SPIFFE_ID });
  try {
    const res = await client.sign(request, 30_000);
    const serving = client.peerCertificates.at(-1);
    assert.ok(serving, 'a serving certificate was presented');
    return { servingFp: serving.fingerprint256, chain: x509Chain(res.workload_certificate) };
  } finally {
    client.close();
  }
}

/**
 * Parses Prometheus text exposition strictly: HELP/TYPE once per family, every sample of a declared
 * family, no series twice, numeric values. Returns the samples by `name{labels}`.
 */
function parseExposition(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][\w:]*) /.exec(line);
    if (help) {
      assert.ok(!helps.has(help[1]!), `HELP twice for ${help[1]}`);
      helps.add(help[1]!);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `TYPE twice for ${type[1]}`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const [, name, labels = '', value] = sample as unknown as [string, string, string | undefined, string];
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((f) => types.has(f));
    assert.ok(family !== undefined, `sample of an undeclared family: ${line}`);
    assert.match(value, /^(NaN|[+-]Inf|-?\d+(\.\d+)?(e[+-]?\d+)?)$/, line);
    assert.ok(!samples.has(name + labels), `series twice: ${name}${labels}`);
    samples.set(name + labels, Number(value));
  }
  return samples;
}

function issuerFingerprint(built: BuiltBundle): string {
  return x509Chain(built.texts.issuerCert)[0]!.fingerprint256;
}

/** True once `pid` no longer exists. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

before(assertBuilt);

describe('warden sentry --workers 2', () => {
  let a: BuiltBundle;
  let run: SentryRun;
  let started: Started;
  let callsMade = 0;

  before(async () => {
    // A's issuer ends before the default 365 days of the bundle reloaded later, so the min-aggregated
    // expiry gauge only shows the new issuer once every worker has reloaded.
    a = await buildBundle({ now: new Date() }, withExpiresIn(200 * DAY));
    const dir = tempDir('warden-workers-');
    writeBundleFiles(dir, a.texts);
    run = runSentry(dir);
    started = await run.started;
  });

  after(async () => {
    run.child.kill('SIGKILL');
    for (const pid of started?.workerPids ?? []) if (!isGone(pid)) process.kill(pid, 'SIGKILL');
    rmSync(run.dir, { recursive: true, force: true });
  });

  it('both workers serve on the one port, each with its own serving certificate; leaves chain to the issuer', async () => {
    assert.equal(started.workerPids.length, 2);
    assert.ok(started.port > 0);
    const servingCerts = new Set<string>();
    let first: Awaited<ReturnType<typeof signOnNewConnection>> | undefined;
    for (let i = 0; i < 60 && servingCerts.size < 2; i++) {
      const result = await signOnNewConnection(started.port, a.texts.ca);
      callsMade++;
      first ??= result;
      servingCerts.add(result.servingFp);
      assert.equal(result.chain[1]?.fingerprint256, issuerFingerprint(a));
    }
    assert.equal(servingCerts.size, 2, `${callsMade} connections all reached one worker`);
    const [leaf, issuer] = first!.chain;
    const verified = opensslVerify({ anchorsPem: a.texts.ca, untrustedPem: issuer!.toString(), leafPem: leaf!.toString() });
    assert.ok(verified.ok, verified.output);
    // Worker lines carry their index; the primary logged the start once.
    assert.ok(run.records.some((r) => r.worker === 0) && run.records.some((r) => r.worker === 1));
    assert.equal(run.records.filter((r) => r.msg.startsWith('Sentry started')).length, 1);
    assert.match(run.records.find((r) => r.msg.startsWith('Sentry started'))!.msg, new RegExp(`^Sentry started, serving on port ${started.port} with 2 workers$`));
  });

  it('/healthz 200 with both up; metrics sum the calls across workers and keep per-bundle facts single', async () => {
    const health = await httpGet(started.healthzPort, '/healthz');
    assert.equal(health.status, 200, health.body);
    const samples = parseExposition((await httpGet(started.metricsPort, '/metrics')).body);
    assert.equal(samples.get('dapr_sentry_cert_sign_success_total'), callsMade);
    assert.equal(samples.get('dapr_sentry_cert_sign_request_received_total'), callsMade);
    assert.equal(samples.get('warden_sentry_sign_duration_seconds_count'), callsMade);
    const issuerSeconds = a.bundle.issuer.notAfter.getTime() / 1000;
    assert.equal(samples.get('dapr_sentry_issuercert_expiry_timestamp'), issuerSeconds);
    assert.equal(samples.get('warden_sentry_issuer_expiry_timestamp_seconds'), issuerSeconds);
    assert.equal(samples.get('warden_sentry_root_expiry_timestamp_seconds'), a.bundle.root.notAfter.getTime() / 1000);
    assert.equal(samples.get('dapr_sentry_issuercert_changed_total'), 0);
    assert.equal(samples.get('warden_sentry_reload_failures_total'), 0);
    // Process metrics: summed (several processes), but one start time (the primary's, the earliest).
    assert.ok((samples.get('process_start_time_seconds') ?? 0) > 0);
    assert.equal(samples.get('process_max_fds'), Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]));
  });

  it('a killed worker: /healthz 503, a replacement after ~1 s, then 200; calls keep succeeding', async () => {
    const victim = started.workerPids[1]!;
    process.kill(victim, 'SIGKILL');
    const down = await waitFor('/healthz 503', async () => {
      const h = await httpGet(started.healthzPort, '/healthz');
      return h.status === 503 ? h : undefined;
    }, 30_000);
    assert.match(down.body, /worker 1: /);
    let duringRestart = 0;
    await waitFor('/healthz 200 again', async () => {
      await signOnNewConnection(started.port, a.texts.ca); // the other worker serves meanwhile
      callsMade++;
      duringRestart++;
      return (await httpGet(started.healthzPort, '/healthz')).status === 200 ? true : undefined;
    }, 60_000);
    assert.ok(duringRestart > 0);
    const died = run.records.find((r) => /^Sentry worker 1 exited unexpectedly/.test(r.msg));
    assert.ok(died, 'the death was logged');
    assert.equal(died.level, 50);
    assert.equal(died.signal, 'SIGKILL');
    const back = run.records.find((r) => r.msg === 'Sentry worker 1 ready' && r.pid !== victim);
    assert.ok(back, 'the replacement was logged with its pid');
    assert.ok(back.time as number - (died.time as number) >= 900, 'the replacement was not forked at once');
    started.workerPids[1] = back.pid as number;
    assert.ok(isGone(victim));
    for (let i = 0; i < 4; i++, callsMade++) await signOnNewConnection(started.port, a.texts.ca);
  });

  it('a new bundle on disk is picked up by every worker', async () => {
    const b = await buildBundle({ now: new Date() });
    const store = new FsTrustBundleStore({ dir: run.dir, clock: systemClock });
    await store.write(b.texts);
    const anchors = a.texts.ca + b.texts.ca;
    const newIssuer = issuerFingerprint(b);
    // Each worker re-issues its serving certificate from the new issuer: two of those seen = both reloaded.
    const reloaded = new Set<string>();
    await waitFor('leaves from the new issuer on both workers', async () => {
      const { servingFp, chain } = await signOnNewConnection(started.port, anchors);
      if (chain[1]?.fingerprint256 === newIssuer) reloaded.add(servingFp);
      return reloaded.size >= 2 ? true : undefined;
    }, 60_000);
    for (let i = 0; i < 8; i++) {
      const { chain } = await signOnNewConnection(started.port, b.texts.ca);
      assert.equal(chain[1]?.fingerprint256, newIssuer);
    }
    const samples = parseExposition((await httpGet(started.metricsPort, '/')).body);
    assert.equal(samples.get('warden_sentry_issuer_expiry_timestamp_seconds'), b.bundle.issuer.notAfter.getTime() / 1000);
    assert.ok((samples.get('dapr_sentry_issuercert_changed_total') ?? 0) >= 1);
    assert.equal((await httpGet(started.healthzPort, '/healthz')).status, 200);
  });

  it('SIGTERM: every worker closes, the primary exits 0 within the grace, no process is left', async () => {
    run.child.kill('SIGTERM');
    const result = await Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    assert.deepEqual(result, { code: 0, signal: null }, run.stderr());
    assert.ok(run.records.filter((r) => r.msg === 'Sentry worker stopped').length >= 2);
    assert.equal(run.records.at(-1)?.msg, 'Sentry stopped');
    await waitFor('no process left', () => (processesMentioning(run.dir).length === 0 ? true : undefined), 30_000);
    for (const port of [started.port, started.healthzPort, started.metricsPort]) {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`), `port ${port} closed`);
    }
  });
});

describe('warden sentry --workers: refusals', () => {
  it('a partial bundle: non-zero exit, ERR_BUNDLE_PARTIAL once on stderr, no worker left', async () => {
    const dir = tempDir('warden-workers-');
    try {
      const a = await buildBundle({ now: new Date() });
      writeFileSync(join(dir, 'ca.crt'), a.texts.ca);
      const run = runSentry(dir);
      const { code } = await run.exited;
      assert.equal(code, 1);
      assert.match(run.stderr(), /^❌  the trust bundle in [^]* is incomplete[^]*\(ERR_BUNDLE_PARTIAL\)\n$/);
      assert.equal(processesMentioning(dir).length, 0);
      assert.ok(!run.records.some((r) => r.worker !== undefined), 'no worker was started');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker that cannot start (gRPC port taken): the others stop, its error is the command\'s', async () => {
    const dir = tempDir('warden-workers-');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const run = runSentry(dir, ['--port', String(taken)]);
      const { code } = await run.exited;
      assert.equal(code, 1);
      const errors = run.stderr().match(/\(ERR_LISTEN_FAILED\)/g) ?? [];
      assert.equal(errors.length, 1, run.stderr());
      assert.match(run.stderr(), new RegExp(`^❌  cannot listen for gRPC on 127\\.0\\.0\\.1:${taken}: [^]*EADDRINUSE`));
      await waitFor('no process left', () => (processesMentioning(dir).length === 0 ? true : undefined), 30_000);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--workers 0, --workers x and --workers 2 with --mode kubernetes are usage errors', async () => {
    const dir = tempDir('warden-workers-');
    try {
      for (const args of [['--workers', '0'], ['--workers', 'x'], ['--workers', '2', '--mode', 'kubernetes']]) {
        const run = runSentry(dir, args);
        const { code } = await run.exited;
        assert.equal(code, 2, args.join(' '));
        assert.match(run.stderr(), /--workers[^]*\(ERR_USAGE\)/, args.join(' '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('warden sentry --workers: logs', () => {
  it('an expiring issuer is warned about once, not once per worker; workers exit when the primary dies', async () => {
    const dir = tempDir('warden-workers-');
    const built = await buildBundle({ now: new Date() }, withExpiresIn(5 * DAY));
    writeBundleFiles(dir, built.texts);
    const run = runSentry(dir);
    try {
      const started = await run.started;
      // Worker 0 logs its expiry check right after it is ready; give worker 1 the same chance.
      await waitFor('both workers serving', () =>
        (run.records.filter((r) => /^Sentry worker \d serving/.test(r.msg)).length === 2 ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 300));
      const expiryWarnings = run.records.filter((r) => r.msg.startsWith('Dapr issuer certificate expiration warning'));
      assert.equal(expiryWarnings.length, 1, JSON.stringify(expiryWarnings));
      assert.equal(expiryWarnings[0]?.worker, 0);
      assert.equal(run.records.filter((r) => r.code === 'WARN_ISSUER_EXPIRING').length, 1, 'the start-up note, from the primary only');

      // The primary disappears without a word: its workers leave too.
      run.child.kill('SIGKILL');
      await run.exited;
      await waitFor('workers gone', () => (started.workerPids.every(isGone) ? true : undefined), 30_000);
      await waitFor('each worker said why', () =>
        (run.records.filter((r) => r.msg === 'The Sentry primary went away; this worker exits').length === 2 ? true : undefined), 30_000);
    } finally {
      run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
