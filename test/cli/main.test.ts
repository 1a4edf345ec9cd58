import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { EXIT, exitCodeForError } from '../../src/cli/exit-codes.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { formatTable, STATUS_PREFIX } from '../../src/cli/output.js';
import { WardenError } from '../../src/core/errors.js';
import type { CliDeps } from '../../src/cli/deps.js';
import { assertBuilt, REPO, runWarden, tempHome } from './helpers.js';

before(assertBuilt);

const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('warden: help, version, usage errors (binary)', { concurrency: 4 }, () => {
  test('--help lists the commands; --version prints the package version; both exit 0', async (t) => {
    const { home } = await tempHome(t);
    const help = await runWarden(['--help'], { home });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: warden /);
    for (const c of ['sentry', 'mtls']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
    const version = await runWarden(['--version'], { home });
    assert.equal(version.code, 0);
    assert.equal(version.stdout, `${VERSION}\n`);
  });

  test('warden mtls (and mtls --help) lists the mtls commands on stdout, exit 0', async (t) => {
    const { home } = await tempHome(t);
    for (const args of [['mtls'], ['mtls', '--help']]) {
      const r = await runWarden(args, { home });
      assert.equal(r.code, 0, args.join(' '));
      for (const c of ['expiry', 'verify', 'export', 'renew-certificate']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
    }
  });

  test('warden mtls -k, also before a subcommand, needs a cluster: without a kubeconfig exit 1 (test/kube has the rest)', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['mtls', '-k'], { home, env: { KUBECONFIG: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^❌  error checking mTLS: no kubeconfig found.*\(ERR_KUBE_UNREACHABLE\)$/m);
    const io = captureIo({ env: { HOME: home } });
    assert.equal(await main(['mtls', '-k', 'expiry'], io), 1);
    assert.match(io.stderrText(), /no kubeconfig found.*\(ERR_KUBE_UNREACHABLE\)/);
    assert.equal(io.stdoutText(), '');
  });

  test('an unknown option exits 2 (Dapr: 255) with ❌ … (ERR_USAGE) and a hint', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['mtls', 'expiry', '--bogus'], { home });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "❌  unknown option '--bogus' (ERR_USAGE)\n(add --help for usage)\n");
    assert.equal(r.stdout, '');
  });

  test('warden with no command prints help on stderr, exit 2', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden([], { home });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Usage: warden /);
  });
});

describe('main (in-process)', () => {
  test('usage errors exit 2 with ❌ … (ERR_USAGE) and a hint', async () => {
    const cases: [string[], RegExp][] = [
      [['mtls', 'expiry', '--bogus'], /unknown option '--bogus'/],
      [['mtls', 'expiry', '-o'], /option '-o, --output <format>' argument missing/],
      [['mtls', 'expiry', '-o', 'xml'], /argument 'xml' is invalid/],
      [['mtls', 'expiry', 'extra'], /too many arguments for 'expiry'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['sentry', '--port', 'eighty'], /--port <port>' argument 'eighty' is invalid/],
    ];
    for (const [args, pattern] of cases) {
      const io = captureIo({ env: { HOME: '/nonexistent' } });
      assert.equal(await main(args, io), 2, `${args.join(' ')}: ${io.stderrText()}`);
      assert.match(io.stderrText(), new RegExp(`^❌  .*${pattern.source}.*\\(ERR_USAGE\\)$`, 'm'));
      assert.match(io.stderrText(), /\(add --help for usage\)/);
    }
    const io = captureIo({ env: { HOME: '/nonexistent' } });
    assert.equal(await main(['mtls', 'nonsense'], io), 2);
    assert.equal(io.stderrText(), "❌  unknown command 'mtls nonsense'; 'warden mtls --help' lists the commands (ERR_USAGE)\n");
  });

  const noDeps: CliDeps = {
    openStore: () => { throw new WardenError('ERR_STORE_IO', 'disk on fire'); },
    startSentry: () => Promise.reject(new Error('boom')),
    waitForShutdown: () => Promise.resolve('SIGTERM'),
  };

  test('a WardenError becomes "❌  <message> (<code>)" on stderr and its exit code', async () => {
    const io = captureIo({ env: { HOME: '/nonexistent' } });
    assert.equal(await main(['mtls', 'verify'], io, noDeps), 1);
    assert.equal(io.stderrText(), '❌  disk on fire (ERR_STORE_IO)\n');
  });

  test('an unexpected error exits 1 with its message', async () => {
    const io = captureIo({ env: { HOME: '/nonexistent' } });
    assert.equal(await main(['sentry'], io, noDeps), 1);
    assert.equal(io.stderrText(), '❌  unexpected error: boom\n');
  });

  test('exit-code table', () => {
    assert.equal(exitCodeForError(new WardenError('ERR_USAGE', 'x')), EXIT.usage);
    assert.equal(exitCodeForError(new WardenError('ERR_DURATION_INVALID', 'x')), EXIT.usage);
    assert.equal(exitCodeForError(new WardenError('ERR_BUNDLE_KEY_MISMATCH', 'x')), EXIT.checksFailed);
    assert.equal(exitCodeForError(new WardenError('ERR_ROOT_EXPIRED', 'x')), EXIT.checksFailed);
    assert.equal(exitCodeForError(new WardenError('ERR_BUNDLE_NOT_FOUND', 'x')), EXIT.failed);
    assert.equal(exitCodeForError(new Error('x')), EXIT.failed);
    assert.deepEqual([EXIT.ok, EXIT.failed, EXIT.usage, EXIT.checksFailed], [0, 1, 2, 3]);
  });
});

describe('output', () => {
  test('Dapr\'s status prefixes', () => {
    assert.deepEqual(STATUS_PREFIX, { success: '✅  ', failure: '❌  ', warning: '⚠  ', pending: '⌛  ', info: 'ℹ️  ' });
  });

  test('formatTable pads all but the last column, two spaces apart, no trailing blanks', () => {
    assert.equal(
      formatTable(['A', 'LONGER', 'C'], [['xyz', 'b', 'last one'], ['', 'bb', '']]),
      'A    LONGER  C\nxyz  b       last one\n     bb\n',
    );
  });
});
