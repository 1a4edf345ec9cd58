/**
 * `warden sentry --oidc-*` (in-process): Dapr 1.18's flags, defaults and checks between them
 * (cmd/sentry/options Validate, cmd/sentry/app), and what reaches `SentryOptions.oidc`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CliDeps, SentryOptions } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseStringSliceArg } from '../../src/cli/options.js';
import { oidcOptionsOf, type SentryCommandOptions } from '../../src/cli/commands/sentry.js';
import { pino } from 'pino';
import { checkOidcTlsPair, validateOidcFlags } from '../../src/sentry/oidc/options.js';
import { checkWorkerOptions } from '../../src/sentry/cluster/workers-option.js';

async function run(args: string[]): Promise<{ code: number; opts: SentryOptions | undefined; stderr: string; stdout: string }> {
  let opts: SentryOptions | undefined;
  const deps: CliDeps = {
    openStore: () => { throw new Error('unused'); },
    startSentry: (o) => {
      opts = o;
      return Promise.resolve({ close: () => Promise.resolve() });
    },
    waitForShutdown: () => Promise.resolve('SIGTERM'),
  };
  const io = captureIo({ env: { HOME: '/home/u' }, cwd: '/work/dir' });
  const code = await main(['sentry', '--log-file', '/dev/null', ...args], io, deps);
  return { code, opts, stderr: io.stderrText(), stdout: io.stdoutText() };
}

describe('warden sentry --oidc-* flags', () => {
  test('--oidc-enabled with TLS on (the default) needs both files, with Dapr\'s messages; exit 2', async () => {
    const noCert = await run(['--oidc-enabled']);
    assert.equal(noCert.code, 2);
    assert.match(noCert.stderr, /Invalid options: oidc-server-tls-cert-file is required when OIDC HTTP server is enabled \(unless oidc-server-tls-enabled is false\)/);
    const noKey = await run(['--oidc-enabled', '--oidc-server-tls-cert-file', 'c.pem']);
    assert.match(noKey.stderr, /oidc-server-tls-key-file is required when OIDC HTTP server is enabled/);
    // Given, even empty, counts (pflag's Changed), as in Dapr.
    assert.equal((await run(['--oidc-enabled', '--oidc-server-tls-cert-file=', '--oidc-server-tls-key-file='])).code, 0);
  });

  test('with Dapr\'s log format (bin/sentry) it is Dapr\'s fatal line, before any other, and exit 1', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-oidc-flags-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const log = join(dir, 'sentry.log');
    const r = await run(['--log-format', 'dapr', '--log-as-json', '--log-file', log, '--oidc-enabled']);
    assert.equal(r.code, 1);
    const lines = (await readFile(log, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['fatal',
      'Invalid options: oidc-server-tls-cert-file is required when OIDC HTTP server is enabled (unless oidc-server-tls-enabled is false)']]);
  });

  test('one TLS file without the other is refused even with OIDC or TLS off', async () => {
    for (const args of [['--oidc-server-tls-cert-file', 'c.pem'], ['--oidc-enabled', '--oidc-server-tls-enabled=false', '--oidc-server-tls-key-file', 'k.pem']]) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /both OIDC TLS certificate and key must be provided if one is specified/);
    }
  });

  test('--oidc-enabled without --jwt-enabled starts without an OIDC server, as Dapr does', async () => {
    const r = await run(['--oidc-enabled', '--oidc-server-tls-enabled=false']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.opts?.oidc, undefined);
  });

  test('with --jwt-enabled too, the flags map onto SentryOptions.oidc (files against the working directory)', () => {
    const flags = {
      oidcEnabled: true, jwtEnabled: true, oidcServerListenPort: 9080, oidcServerListenAddress: '0.0.0.0', oidcServerTlsEnabled: true,
      oidcServerTlsCertFile: 'tls/oidc.crt', oidcServerTlsKeyFile: '/abs/oidc.key', oidcJwksUri: 'https://x/jwks', oidcPathPrefix: '/p',
      oidcAllowedHosts: ['a', 'b'], jwtIssuer: 'https://issuer', jwtSigningAlgorithm: 'ES256',
    } as unknown as SentryCommandOptions;
    const io = captureIo({ cwd: '/work/dir' });
    assert.deepEqual(oidcOptionsOf(flags, io, pino({ level: 'silent' })), {
      listenAddress: '0.0.0.0', port: 9080, tlsCertFile: '/work/dir/tls/oidc.crt', tlsKeyFile: '/abs/oidc.key',
      jwksUri: 'https://x/jwks', pathPrefix: '/p', allowedHosts: ['a', 'b'], jwtIssuer: 'https://issuer', signingAlgorithm: 'ES256',
    });
    assert.equal(oidcOptionsOf({ ...flags, jwtEnabled: false }, io, pino({ level: 'silent' })), undefined);
  });

  test('OIDC is served by one process: --workers N > 1 with OIDC is a usage error', () => {
    assert.throws(() => checkWorkerOptions({ workers: 2, mode: 'standalone', oidc: {} }), /--workers 2 cannot serve OIDC discovery; with --oidc-enabled, run --workers 1/);
    assert.doesNotThrow(() => checkWorkerOptions({ workers: 1, mode: 'standalone', oidc: {} }));
  });

  test('the checks and defaults are Dapr\'s: port 9080, address localhost, TLS on', () => {
    assert.equal(validateOidcFlags({ enabled: false, tlsEnabled: true }), undefined);
    assert.equal(validateOidcFlags({ enabled: true, tlsEnabled: false }), undefined);
    assert.equal(validateOidcFlags({ enabled: true, tlsEnabled: true, tlsCertFile: 'c', tlsKeyFile: 'k' }), undefined);
    assert.equal(checkOidcTlsPair({ enabled: false, tlsEnabled: true }), undefined);
    assert.match(checkOidcTlsPair({ enabled: false, tlsEnabled: true, tlsKeyFile: 'k' }) ?? '', /both OIDC TLS certificate and key/);
  });

  test('help lists every --oidc-* flag of Dapr 1.18 with Dapr\'s defaults', async () => {
    const { stdout } = await run(['--help']);
    for (const flag of ['--oidc-enabled', '--oidc-server-listen-port', '--oidc-server-listen-address', '--oidc-server-tls-enabled',
      '--oidc-server-tls-cert-file', '--oidc-server-tls-key-file', '--oidc-jwks-uri', '--oidc-path-prefix', '--oidc-allowed-hosts']) {
      assert.match(stdout, new RegExp(`${flag} `), flag);
    }
    assert.match(stdout, /--oidc-server-listen-port <port> .*\(default: 9080\)/);
    assert.match(stdout, /--oidc-server-listen-address <address> .*\(default: "localhost"\)/);
  });

  test('--oidc-allowed-hosts is a pflag string slice: comma-separated, quoted fields, repeatable', () => {
    assert.deepEqual(parseStringSliceArg('a.example,b.example:443', undefined), ['a.example', 'b.example:443']);
    assert.deepEqual(parseStringSliceArg('c', ['a', 'b']), ['a', 'b', 'c']);
    assert.deepEqual(parseStringSliceArg('"x,y",z', undefined), ['x,y', 'z']);
    assert.deepEqual(parseStringSliceArg('', undefined), []);
    assert.throws(() => parseStringSliceArg('"open', undefined), /unterminated quote/);
  });
});
