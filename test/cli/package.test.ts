/**
 * The npm package (issue 13, rough edge 12): `npm pack` must ship dist/ (the compiled CLI), the
 * launcher and the proto file, or `npm install -g warden-<version>.tgz` installs a `warden` that
 * cannot start. The tarball is unpacked where `npm install -g --prefix P` puts it
 * (P/lib/node_modules/warden, P/bin/warden → its bin/warden.js), with the repository's
 * node_modules standing in for the registry (tests send no traffic off the machine).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { assertBuilt, REPO } from './helpers.js';

before(assertBuilt);

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('npm package', () => {
  it('npm pack ships dist/, bin/ and proto/, and the unpacked package runs `warden --help` and a dry-run renewal', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-pack-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // --ignore-scripts: dist/ is already built; `prepare` would rebuild it under other running tests.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as
      { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const needed of ['bin/warden.js', 'bin/sentry.js', 'dist/cli/main.js', 'dist/sentry/sign-thread.js', 'proto/sentry.proto', 'package.json']) {
      assert.ok(files.includes(needed), `${needed} is in the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests');

    const prefix = join(dir, 'prefix');
    const pkg = join(prefix, 'lib', 'node_modules', 'warden');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', pkg, '--strip-components=1']);
    symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
    mkdirSync(join(prefix, 'bin'));
    symlinkSync(join(pkg, 'bin', 'warden.js'), join(prefix, 'bin', 'warden'));
    symlinkSync(join(pkg, 'bin', 'sentry.js'), join(prefix, 'bin', 'sentry'));

    const home = join(dir, 'home');
    mkdirSync(home);
    const help = await run(join(prefix, 'bin', 'warden'), ['--help'], { HOME: home });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: warden /m);
    const dry = await run(join(prefix, 'bin', 'warden'), ['mtls', 'renew-certificate', '--dry-run'], { HOME: home });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Dry run: nothing was written/);
    // The `sentry` bin: Dapr Sentry's command line (bin/sentry.js), as the image's /sentry runs it.
    const sentryHelp = await run(join(prefix, 'bin', 'sentry'), ['--help'], { HOME: home });
    assert.equal(sentryHelp.code, 0, sentryHelp.stderr);
    assert.match(sentryHelp.stdout, /^Usage: warden sentry /m);
    assert.match(sentryHelp.stdout, /--log-as-json/);
  });
});
