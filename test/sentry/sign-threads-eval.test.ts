/**
 * Signing threads in a process started with `node --input-type=module -e '...'` (how the kube CLI and
 * auto-renew tests launch a sentry). A worker inherits execArgv unless given its own, and
 * `--input-type` is refused outside `-e`, so every thread died at start and the calls that reached
 * one failed with INTERNAL "failed to sign certificate". The pool now starts its threads with a
 * filtered execArgv (src/sentry/worker-exec-argv.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loaderExecArgv, startWorker, workerExecArgv } from '../../src/sentry/worker-exec-argv.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const src = (path: string): string => JSON.stringify(fileURLToPath(new URL(`../../src/${path}`, import.meta.url)));
const support = (path: string): string => JSON.stringify(fileURLToPath(new URL(`../support/${path}`, import.meta.url)));

// Issues straight after the pool starts, so the call goes to a thread (not the no-thread fallback)
// and fails if that thread cannot start.
const CHILD = `
const { generateKeyPairSync } = await import('node:crypto');
const { pino } = await import('pino');
const { generateTrustBundle } = await import(${src('core/bundle.ts')});
const { isIssuedBy, parseCertificatesPem } = await import(${src('core/certificate.ts')});
const { systemClock } = await import(${src('core/clock.ts')});
const { CaStateHolder, createCaState } = await import(${src('sentry/ca-state.ts')});
const { SignThreadPool } = await import(${src('sentry/sign-threads.ts')});
const { csrPem } = await import(${support('sentry-client.ts')});
const config = { workloadCertTtlMs: 3600_000, allowedClockSkewMs: 60_000 };
const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default', keyAlgorithm: 'ed25519' });
const holder = new CaStateHolder(createCaState(bundle, 1, { clock: systemClock, config }));
const pool = new SignThreadPool(2, holder, config, pino({ level: 'silent' }));
try {
  const req = { csrPem: Buffer.from(csrPem(generateKeyPairSync('ed25519').privateKey)), identity: { spiffeId: 'spiffe://public/ns/default/app' }, dnsNames: [], atMs: Date.now() };
  const leaves = await Promise.all([pool.issue(req), pool.issue(req)]);
  const chained = leaves.every((leaf) => isIssuedBy(parseCertificatesPem(leaf.chainPem)[0], bundle.issuer));
  process.stdout.write(JSON.stringify({ ok: true, chained, threads: pool.threadIds().length }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err?.message ?? err), cause: String(err?.cause?.message ?? '') }));
} finally {
  await pool.close();
}
`;

describe('signing threads under `node --input-type=module -e`', () => {
  it('the threads start and sign (they no longer inherit --input-type)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A hang bound, not a speed check: the child only signs two leaves.
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hung\n${out}\n${err}`)); }, 120_000);
      child.once('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out), { ok: true, chained: true, threads: 2 }, err);
  });

  it('workerExecArgv drops the main-script-only options and keeps the rest', () => {
    assert.deepEqual(
      workerExecArgv(['--import', 'tsx', '--input-type=module', '-e', 'code', '--max-old-space-size=64']),
      ['--import', 'tsx', '--max-old-space-size=64'],
    );
    assert.deepEqual(workerExecArgv(['--input-type', 'module', '--eval', 'x', '--print=y', '-p', 'z', '--check', '-i']), []);
    assert.deepEqual(workerExecArgv(['--import=tsx', '--enable-source-maps']), ['--import=tsx', '--enable-source-maps']);
    assert.deepEqual(loaderExecArgv(['--stack-trace-limit=10', '--import', 'tsx', '-r', 'x.cjs', '--conditions=dev', '--input-type=module']), ['--import', 'tsx', '-r', 'x.cjs', '--conditions=dev']);
  });

  it('startWorker: inherits when nothing is to drop; falls back to the loader options when Node refuses the filtered list', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-worker-argv-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const entry = pathToFileURL(join(dir, 'echo.mjs'));
    writeFileSync(entry, "import { parentPort } from 'node:worker_threads'; parentPort.postMessage(process.execArgv);\n");
    const answer = (worker: ReturnType<typeof startWorker>): Promise<string[]> => new Promise((resolve, reject) => {
      worker.once('message', (m: string[]) => { void worker.terminate(); resolve(m); });
      worker.once('error', reject);
    });
    // The test runner's own per-process flags (--stack-trace-limit, ...) are refused in an explicit list.
    assert.deepEqual(await answer(startWorker(entry, ['--stack-trace-limit=10', '--input-type=module', '-e', 'x', '--conditions=dev'])), ['--conditions=dev']);
    assert.deepEqual(await answer(startWorker(entry, ['--input-type=module', '-e', 'x', '--conditions=dev'])), ['--conditions=dev']);
    assert.ok(Array.isArray(await answer(startWorker(entry, []))));
  });
});
