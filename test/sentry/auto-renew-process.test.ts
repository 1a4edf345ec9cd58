/**
 * `warden sentry --auto-renew` as a process on the real clock, self-hosted: the flags reach the
 * renewer, a due CA (30 days, 21 days old) is rotated through every phase (workload TTL 4 s, skew
 * 1 s, `--renew-propagation-delay 1s`), the journal ends `done` and marked as the sentry's, and the
 * log has a line per phase. Bounded waits on the journal file; no fixed sleeps.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import { REPO } from '../cli/helpers.js';

const MAIN = pathToFileURL(join(REPO, 'src/cli/main.ts')).href;

describe('warden sentry --auto-renew (process, self-hosted)', () => {
  it('rotates a due CA through every phase and logs each one', { timeout: 180_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-autorenew-proc-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const certs = join(dir, 'certs');
    await mkdir(certs);
    const born = { now: () => new Date(Date.now() - 21 * DAY_MS) };
    const texts = generateTrustBundle({ clock: born, trustDomain: 'public', namespace: 'default', validityMs: 30 * DAY_MS, clockSkewMs: 60_000 }).bundle.toTexts();
    await writeFile(join(certs, 'ca.crt'), texts.ca);
    await writeFile(join(certs, 'issuer.crt'), texts.issuerCert);
    await writeFile(join(certs, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 4s\n    allowedClockSkew: 1s\n');
    const child = spawn(process.execPath, [
      '--import', 'tsx', '--input-type=module', '-e',
      `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`,
      'sentry', '--issuer-credentials', certs, '--config', config, '--port', '0', '--listen-address', '127.0.0.1',
      '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false', '--sign-threads', '0',
      '--auto-renew', '--renew-propagation-delay', '1s',
    ], { cwd: REPO, env: { ...process.env, HOME: dir, WARDEN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    const deadline = Date.now() + 150_000;
    let journal: { status: string; settings: { startedBy?: string }; phases: Record<string, { completedAt?: string }> } | undefined;
    while (journal?.status !== 'done') {
      if (child.exitCode !== null) throw new Error(`the sentry exited with ${child.exitCode}\n${out}`);
      if (Date.now() > deadline) throw new Error(`the rotation did not finish\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
      journal = await readFile(join(certs, '.rotation', 'journal.json'), 'utf8').then((s) => JSON.parse(s), () => undefined);
    }
    assert.equal(journal.settings.startedBy, 'warden-sentry');
    for (const phase of ['add-anchor', 'switch-issuer', 'retire-old-root']) {
      assert.ok(journal.phases[phase]?.completedAt, `${phase} completed`);
      assert.match(out, new RegExp(`Automatic rotation \\S+: ${phase} \\(`));
    }
    assert.match(out, /Auto-renew: Rotation \S+ started: the (root|issuer) was due at/);
    const ca = parseCertificatesPem(await readFile(join(certs, 'ca.crt'), 'utf8'));
    assert.equal(ca.length, 1);
    assert.ok(!ca[0]!.der.equals(parseCertificatesPem(texts.ca)[0]!.der), 'a new root');
    assert.ok(ca[0]!.notAfter.getTime() - Date.now() > 29 * DAY_MS, 'with the old lifetime');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out.slice(-2000));
  });
});
