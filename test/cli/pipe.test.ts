/**
 * Output piped into a reader that goes away (`warden mtls verify | head -1`; issue 13, rough edge
 * 2): the command finishes and exits with its real outcome instead of crashing on EPIPE with exit 1.
 * The reader here closes its end of the pipe before the command writes anything, so every write
 * meets a closed pipe.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { assertBuilt, exists, readBundle, REPO, tempHome, writeBundle } from './helpers.js';

interface Outcome { code: number | null; stderr: string }

/** Runs warden with HOME=`home`, its stdout (and optionally stderr) read by nobody. */
function runIntoClosedPipe(args: string[], home: string, closeStderr = false): Promise<Outcome> {
  const env: Record<string, string | undefined> = { ...process.env, HOME: home };
  delete env.NAMESPACE;
  const child = spawn(process.execPath, [join(REPO, 'bin', 'warden.js'), ...args], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  if (closeStderr) child.stderr.destroy();
  else child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`warden ${args.join(' ')} did not finish`)); }, 20_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

describe('output into a closed pipe', () => {
  before(assertBuilt);

  it('verify, backups and rotate --status exit with their own outcome, without an EPIPE crash', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default' }).bundle.toTexts());
    for (const args of [['mtls', 'verify'], ['mtls', 'verify', '-o', 'json'], ['mtls', 'backups'], ['mtls', 'rotate', '--status'], ['mtls', 'expiry']]) {
      const r = await runIntoClosedPipe(args, home);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/);
    }
  });

  it('a failing verify still exits 3, and a closed stderr does not crash it either', async (t) => {
    const { home, certs } = await tempHome(t);
    const texts = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default' }).bundle.toTexts();
    const other = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default' }).bundle.toTexts();
    await writeBundle(certs, { ...texts, ca: other.ca });
    assert.equal((await runIntoClosedPipe(['mtls', 'verify'], home)).code, 3);
    assert.equal((await runIntoClosedPipe(['mtls', 'verify'], home, true)).code, 3);
  });

  it('renew-certificate writes the bundle and exits 0', async (t) => {
    const { home, certs } = await tempHome(t);
    const r = await runIntoClosedPipe(['mtls', 'renew-certificate', '--valid-until', '30'], home);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await exists(join(certs, 'issuer.key')));
    const written = await readBundle(certs);
    assert.match(written.ca, /BEGIN CERTIFICATE/);
  });
});
