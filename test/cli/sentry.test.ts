import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { CliDeps, SentryOptions } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { buildBundle, withMismatchedKey } from '../support/bundles.js';
import { freePorts } from '../support/free-ports.js';
import { waitUntil } from '../support/wait-until.js';
import { assertBuilt, exists, REPO, runWarden, tempHome, writeBundle } from './helpers.js';

before(assertBuilt);

function healthStatus(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

describe('warden sentry (binary)', () => {
  test('starts with the flags, generates a bundle in $HOME/.dapr/certs, serves /healthz, exits 0 on SIGTERM', async (t) => {
    const { home, certs } = await tempHome(t);
    const [port, healthzPort] = await freePorts(2);
    const child = spawn(
      process.execPath,
      [join(REPO, 'bin', 'warden.js'), 'sentry', '--port', String(port), '--listen-address', '127.0.0.1',
        '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false'],
      { cwd: home, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

    // Until /healthz answers 200 or the process exits; the bound is for a hang (a start took more than
    // the old 10 s of polling at load 30), not a speed check.
    const status = await waitUntil('/healthz 200 or an exit', async () => {
      if (child.exitCode !== null) return `exited ${child.exitCode}`;
      const s = await healthStatus(healthzPort);
      return s === 200 ? s : undefined;
    }, 120_000, 100).catch((err: Error) => `${err.message}`);
    assert.equal(status, 200, output);
    assert.ok(await exists(join(certs, 'ca.crt')), 'bundle generated in the default credentials directory');
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000).unref())]);
    assert.equal(code, 0, output);
  });

  test('a bundle with a check error stops the sentry with exit 3', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withMismatchedKey())).texts);
    const r = await runWarden(['sentry', '--port', '0', '--healthz-port', '0', '--enable-metrics=false'], { home });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^❌  [^]*\(ERR_BUNDLE_KEY_MISMATCH\)\n$/);
  });

  test('--mode kubernetes with an unreadable kubeconfig exits 1 (test/sentry-kube covers the mode)', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['sentry', '--mode', 'kubernetes', '--kubeconfig', 'missing-kubeconfig', '--port', '0', '--healthz-port', '0', '--enable-metrics=false'], { home });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot load the kubeconfig .*missing-kubeconfig.*\(ERR_KUBE_UNREACHABLE\)/);
  });
});

describe('warden sentry flag mapping (in-process)', () => {
  async function startedWith(args: string[], env: Record<string, string> = {}): Promise<{ opts: SentryOptions; events: string[] }> {
    const events: string[] = [];
    let opts: SentryOptions = {};
    const deps: CliDeps = {
      openStore: () => { throw new Error('unused'); },
      startSentry: (o) => {
        opts = o;
        events.push('start');
        return Promise.resolve({ close: () => { events.push('close'); return Promise.resolve(); } });
      },
      waitForShutdown: () => { events.push('wait'); return Promise.resolve('SIGTERM'); },
    };
    const io = captureIo({ env: { HOME: '/home/u', ...env }, cwd: '/work/dir' });
    const code = await main(['sentry', ...args], io, deps);
    assert.equal(code, 0, io.stderrText());
    return { opts, events };
  }

  test('defaults: Dapr\'s, except the credentials directory ($HOME/.dapr/certs)', async () => {
    const { opts, events } = await startedWith([]);
    assert.deepEqual(events, ['start', 'wait', 'close']);
    assert.equal(opts.issuerCredentials, '/home/u/.dapr/certs');
    assert.deepEqual(
      [opts.trustDomain, opts.port, opts.healthzPort, opts.metricsPort, opts.enableMetrics, opts.mode, opts.namespace, opts.handleSignals],
      ['localhost', 50001, 8080, 9090, true, 'standalone', 'default', false],
    );
    assert.deepEqual([opts.issuerCaFilename, opts.issuerCertificateFilename, opts.issuerKeyFilename], ['ca.crt', 'issuer.crt', 'issuer.key']);
    assert.equal(opts.config, undefined);
  });

  test('flags and env are mapped; relative paths resolve against the working directory', async () => {
    const { opts } = await startedWith(
      ['--issuer-credentials', 'creds', '--trust-domain', 'cluster.local', '--port', '6000', '--listen-address', '127.0.0.1',
        '--healthz-port', '0', '--metrics-port', '9999', '--config', 'cfg.yaml', '--enable-metrics=false',
        '--issuer-key-filename', '/abs/k.pem'],
      { NAMESPACE: 'dapr-system' },
    );
    assert.equal(opts.issuerCredentials, '/work/dir/creds');
    assert.equal(opts.config, '/work/dir/cfg.yaml');
    assert.deepEqual(
      [opts.trustDomain, opts.port, opts.listenAddress, opts.healthzPort, opts.metricsPort, opts.enableMetrics, opts.namespace, opts.issuerKeyFilename],
      ['cluster.local', 6000, '127.0.0.1', 0, 9999, false, 'dapr-system', '/abs/k.pem'],
    );
  });

  test('expiry warning window and interval, cluster domain and key algorithm (Warden additions)', async () => {
    const defaults = (await startedWith([])).opts;
    assert.deepEqual([defaults.expiryWarningWindowMs, defaults.expiryWarningIntervalMs, defaults.keyAlgorithm], [30 * 24 * 3600e3, 3600e3, 'ed25519']);
    const { opts } = await startedWith(['--expiry-warning-window', '240h', '--expiry-warning-interval', '10m', '--cluster-domain', 'cluster.local', '--key-algorithm', 'ecdsa-p256']);
    assert.deepEqual([opts.expiryWarningWindowMs, opts.expiryWarningIntervalMs, opts.clusterDomain, opts.keyAlgorithm], [240 * 3600e3, 600e3, 'cluster.local', 'ecdsa-p256']);
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '--expiry-warning-window', 'soon'], io, deps), 2);
  });

  test('--dapr-version (Warden addition): 1.18 by default; selects the leaf profile and the generated key algorithm; bad values refused', async () => {
    const defaults = (await startedWith([])).opts;
    assert.deepEqual([defaults.daprVersion, defaults.keyAlgorithm], ['1.18', 'ed25519']);
    for (const version of ['1.16', '1.17'] as const) {
      const { opts } = await startedWith(['--dapr-version', version]);
      assert.deepEqual([opts.daprVersion, opts.keyAlgorithm], [version, 'ecdsa-p256']);
    }
    assert.equal(defaults.kubeSecretPollMs, 10_000);
    assert.equal((await startedWith(['--kube-secret-poll-interval', '0s'])).opts.kubeSecretPollMs, 0);
    const explicit = (await startedWith(['--dapr-version', '1.17', '--key-algorithm', 'ed25519'])).opts;
    assert.deepEqual([explicit.daprVersion, explicit.keyAlgorithm], ['1.17', 'ed25519']);
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '--dapr-version', '1.15'], io, deps), 2);
    assert.match(io.stderrText(), /--dapr-version <version>' argument '1\.15' is invalid\. Allowed choices are 1\.16, 1\.17, 1\.18/);
  });

  test('--max-connections and --max-connections-per-peer (Warden additions): defaults, values, bad values', async () => {
    const defaults = (await startedWith([])).opts;
    assert.deepEqual([defaults.maxConnections, defaults.maxConnectionsPerPeer], [8192, 2048]);
    const { opts } = await startedWith(['--max-connections', '500', '--max-connections-per-peer', '64']);
    assert.deepEqual([opts.maxConnections, opts.maxConnectionsPerPeer], [500, 64]);
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    for (const bad of [['--max-connections', '0'], ['--max-connections-per-peer', 'many'], ['--max-connections', '1.5']]) {
      const io = captureIo();
      assert.equal(await main(['sentry', ...bad], io, deps), 2, bad.join(' '));
      assert.match(io.stderrText(), /a whole number from 1 to 1000000/);
    }
  });

  test('--release-memory (Warden addition): on by default, =false turns it off', async () => {
    assert.equal((await startedWith([])).opts.releaseMemory, true);
    assert.equal((await startedWith(['--release-memory=false'])).opts.releaseMemory, false);
    assert.equal((await startedWith(['--release-memory'])).opts.releaseMemory, true);
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '--release-memory=sometimes'], io, deps), 2);
  });

  test('--enable-metrics accepts Go\'s boolean spellings', async () => {
    assert.equal((await startedWith(['--enable-metrics'])).opts.enableMetrics, true);
    assert.equal((await startedWith(['--enable-metrics=0'])).opts.enableMetrics, false);
    assert.equal((await startedWith(['--enable-metrics=TRUE'])).opts.enableMetrics, true);
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '--enable-metrics=maybe'], io, deps), 2);
  });

  test('pflag bools: `--enable-metrics false` is true plus an ignored (and warned) positional, as Dapr\'s Sentry reads it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-sentry-flags-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const log = join(dir, 'sentry.log');
    const { opts } = await startedWith(['--enable-metrics', 'false', '--log-as-json', '--log-format', 'dapr', '--log-file', log, '--metrics-port', '9999']);
    assert.deepEqual([opts.enableMetrics, opts.metricsPort], [true, 9999]);
    const records = (await readFile(log, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    const warning = records.filter((r) => r.level === 'warning');
    assert.equal(warning.length, 1, JSON.stringify(records));
    assert.match(warning[0]!.msg, /^Ignoring positional arguments \["false"\]/);
    assert.equal((await startedWith(['--enable-metrics=false'])).opts.enableMetrics, false);
  });

  test('single-dash long flags are Dapr\'s double-dash ones; -h stays help', async () => {
    const { opts } = await startedWith(['-port', '6000', '-trust-domain', 'cluster.local', '-enable-metrics=false', '-healthz-port=0']);
    assert.deepEqual([opts.port, opts.trustDomain, opts.enableMetrics, opts.healthzPort], [6000, 'cluster.local', false, 0]);
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '-h'], io, deps), 0);
    assert.match(io.stdoutText(), /--log-level <level>/);
  });

  test('--log-level takes Dapr\'s levels only', async () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'fatal']) await startedWith(['--log-level', level, '--log-file', '/dev/null']);
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '--log-level', 'warning'], io, deps), 2);
  });

  test('help: durations in Go syntax, and every displayed default is accepted back as input', async () => {
    const io = captureIo();
    const deps = { openStore: () => { throw new Error(); }, startSentry: () => { throw new Error(); }, waitForShutdown: () => Promise.resolve('') };
    assert.equal(await main(['sentry', '--help'], io, deps), 0);
    const help = io.stdoutText();
    assert.doesNotMatch(help, /default: \d{6,}/, 'no durations in milliseconds');
    assert.match(help, /--expiry-warning-window <duration> .*\(default: 720h0m0s\)/);
    const defaults = [...help.matchAll(/^\s+(--[a-z-]+) [<[][^>\]]+[>\]]\s.*default: ("[^"]*"|[^,)\s]+)/gm)].map((m) => [m[1]!, m[2]!] as const);
    assert.ok(defaults.length >= 30, `found ${defaults.length} defaults`);
    for (const [flag, shown] of defaults) {
      const value = shown.startsWith('"') ? (JSON.parse(shown) as string) : shown;
      if (flag === '--issuer-credentials') continue; // "$HOME/.dapr/certs": the shell expands it
      await startedWith([`${flag}=${value}`, '--log-file', '/dev/null']);
    }
  });
});
