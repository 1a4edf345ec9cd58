/**
 * `warden sentry`'s JWT flags (spec 3.1; Dapr's cmd/sentry/options/options.go): names, defaults,
 * mapping onto SentryOptions, and Dapr's one validation (`--jwt-issuer` needs `--jwt-enabled`).
 * The binary with `--jwt-enabled` is exercised end to end in test/sentry/jwt.test.ts (in-process)
 * and here once as a real process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { CliDeps, SentryOptions } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { assertBuilt, REPO } from './helpers.js';

async function run(args: string[]): Promise<{ code: number; opts: SentryOptions | undefined; stderr: string }> {
  let opts: SentryOptions | undefined;
  const deps: CliDeps = {
    openStore: () => { throw new Error('unused'); },
    startSentry: (o) => { opts = o; return Promise.resolve({ close: () => Promise.resolve() }); },
    waitForShutdown: () => Promise.resolve('SIGTERM'),
  };
  const io = captureIo({ env: { HOME: '/home/u' }, cwd: '/work/dir' });
  const code = await main(['sentry', ...args, '--log-file', '/dev/null'], io, deps);
  return { code, opts, stderr: io.stderrText() };
}

test('defaults are Dapr\'s: off, jwt.key, jwks.json, RS256, 24h, no issuer, no key id', async () => {
  const { code, opts } = await run([]);
  assert.equal(code, 0);
  assert.deepEqual(
    [opts?.jwtEnabled, opts?.jwtKeyFilename, opts?.jwksFilename, opts?.jwtSigningAlgorithm, opts?.jwtTtlMs, opts?.jwtIssuer, opts?.jwtKeyId],
    [false, 'jwt.key', 'jwks.json', 'RS256', 24 * 3600e3, undefined, undefined],
  );
});

test('every JWT flag is mapped; a given empty --jwt-issuer is kept (Dapr: fs.Changed)', async () => {
  const { code, opts, stderr } = await run(['--jwt-enabled', '--jwt-key-filename', '/keys/k.pem', '--jwks-filename=/keys/set.json',
    '--jwt-issuer', 'https://iss', '--jwt-signing-algorithm', 'ES256', '--jwt-key-id', 'kid-1', '--jwt-ttl', '90m']);
  assert.equal(code, 0, stderr);
  assert.deepEqual(
    [opts?.jwtEnabled, opts?.jwtKeyFilename, opts?.jwksFilename, opts?.jwtSigningAlgorithm, opts?.jwtTtlMs, opts?.jwtIssuer, opts?.jwtKeyId],
    [true, '/keys/k.pem', '/keys/set.json', 'ES256', 90 * 60e3, 'https://iss', 'kid-1'],
  );
  assert.equal((await run(['--jwt-enabled=true', '--jwt-issuer='])).opts?.jwtIssuer, '');
  assert.equal((await run(['--jwt-enabled=false'])).opts?.jwtEnabled, false);
});

test('--jwt-issuer without --jwt-enabled exits 2 with Dapr\'s text', async () => {
  const { code, opts, stderr } = await run(['--jwt-issuer', 'https://iss']);
  assert.equal(code, 2);
  assert.equal(opts, undefined, 'the sentry was not started');
  assert.match(stderr, /jwt-issuer cannot be set when jwt-enabled is false/);
});

test('a bad --jwt-ttl is refused', async () => {
  assert.equal((await run(['--jwt-ttl', 'soon'])).code, 2);
});

before(assertBuilt);

test('the binary with --jwt-enabled generates jwt.key (0600) and jwks.json beside the bundle and serves', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'warden-jwt-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [join(REPO, 'bin', 'warden.js'), 'sentry', '--issuer-credentials', dir, '--jwt-enabled',
    '--port', '0', '--healthz-port', '0', '--enable-metrics=false', '--listen-address', '127.0.0.1', '--healthz-listen-address', '127.0.0.1'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Bounded by the test runner's timeout; the sentry logs this line once it serves.
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => { if (/Sentry started, serving on port/.test(out)) resolve(); };
    child.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  assert.equal((await stat(join(dir, 'jwt.key'))).mode & 0o777, 0o600);
  assert.ok((await stat(join(dir, 'jwks.json'))).isFile());
  assert.match(out, /Generating JWT signing key and persisting to store/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
});
