/**
 * Issue 12, item 4: the reload watch survives the credentials directory being replaced. Every
 * scenario changes the bundle several times in a row, and every change must be reloaded: the
 * sentry's current CA must become exactly the new bundle each time (waited for as a condition,
 * bounded; no fixed sleeps).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import type { BundleTexts, X509_PARTS } from '../../src/core/bundle-texts.js';
import { computeBundleVersion } from '../../src/stores/bundle-version.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { buildBundle } from '../support/bundles.js';
import { assertBuilt, runWarden } from '../cli/helpers.js';
import { csrPem, x509Chain } from '../support/sentry-client.js';
import { startTestSentry, tempDir, type TestSentry } from '../support/sentry-harness.js';

const request = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };
const FILES = { ca: 'ca.crt', issuerCert: 'issuer.crt', issuerKey: 'issuer.key' } as const;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function bundles(n: number): Promise<BundleTexts[]> {
  const out: BundleTexts[] = [];
  for (let i = 0; i < n; i++) out.push((await buildBundle({ now: new Date() })).texts);
  return out;
}

/** Waits until the sentry serves `texts`, then checks a new leaf chains to its issuer. */
async function expectServing(t: TestSentry, texts: BundleTexts, step: string): Promise<void> {
  const version = computeBundleVersion(texts);
  const issuer = x509Chain(texts.issuerCert)[0]?.fingerprint256;
  // The CA is swapped first, the serving certificate re-issued right after: wait for both.
  await waitFor(`${step}: the sentry to reload`, () =>
    t.sentry.currentCa().version === version && x509Chain(t.sentry.servingCertificate()?.chainPem ?? '')[1]?.fingerprint256 === issuer);
  const res = await t.client(texts.ca).sign(request);
  assert.equal(x509Chain(res.workload_certificate)[1]?.fingerprint256, issuer, step);
}

function writePlain(dir: string, texts: BundleTexts): void {
  mkdirSync(dir, { recursive: true });
  for (const [part, name] of Object.entries(FILES) as [typeof X509_PARTS[number], string][]) writeFileSync(join(dir, name), texts[part], { mode: 0o600 });
}

/** The kubelet's AtomicWriter: a new `..<timestamp>` dir, `..data_tmp` renamed over `..data`, old dir removed. */
function kubeletPublish(dir: string, texts: BundleTexts, step: number, previous?: string): string {
  const version = `..2026_12_04_18_34_2${step}.${100000000 + step}`;
  writePlain(join(dir, version), texts);
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
  return version;
}

describe('reload survives replaced directories', () => {
  it("kubelet ..data layout: ..data re-pointed three times in a row, each change reloaded", async () => {
    const [a, b, c, d] = await bundles(4);
    const dir = tempDir();
    let version = kubeletPublish(dir, a!, 0);
    for (const name of Object.values(FILES)) symlinkSync(`..data/${name}`, join(dir, name));
    const t = await startTestSentry({ dir, options: { reloadDebounceMs: 200 } });
    try {
      await expectServing(t, a!, 'start');
      for (const [i, next] of [b!, c!, d!].entries()) {
        version = kubeletPublish(dir, next, i + 1, version);
        await expectServing(t, next, `re-point ${i + 1}`);
      }
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rm -rf DIR && warden mtls renew-certificate, twice: each reloaded', async () => {
    assertBuilt();
    const [a] = await bundles(1);
    const home = tempDir();
    const dir = join(home, '.dapr', 'certs');
    writePlain(dir, a!);
    const t = await startTestSentry({ dir, options: { reloadDebounceMs: 200 } });
    try {
      for (const i of [1, 2]) {
        rmSync(dir, { recursive: true, force: true });
        const run = await runWarden(['mtls', 'renew-certificate'], { home });
        assert.equal(run.code, 0, run.stderr);
        const read = await new FsTrustBundleStore({ dir, clock: systemClock }).read();
        assert.equal(read.state, 'complete');
        await expectServing(t, (read as { texts: BundleTexts }).texts, `recreate ${i}`);
      }
    } finally {
      await t.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('mv swap of the whole directory twice: each reloaded', async () => {
    const [a, b, c] = await bundles(3);
    const root = tempDir();
    const dir = join(root, 'certs');
    writePlain(dir, a!);
    const t = await startTestSentry({ dir, options: { reloadDebounceMs: 200 } });
    try {
      for (const [i, next] of [b!, c!].entries()) {
        writePlain(join(root, 'certs.new'), next);
        renameSync(dir, join(root, `certs.old${i}`));
        renameSync(join(root, 'certs.new'), dir);
        await expectServing(t, next, `swap ${i + 1}`);
      }
    } finally {
      await t.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a symlinked credentials directory re-pointed (ln -sfn) twice: each reloaded', async () => {
    const [a, b, c] = await bundles(3);
    const root = tempDir();
    const link = join(root, 'certs');
    writePlain(join(root, 'v0'), a!);
    symlinkSync('v0', link);
    const t = await startTestSentry({ dir: link, options: { reloadDebounceMs: 200 } });
    try {
      for (const [i, next] of [b!, c!].entries()) {
        writePlain(join(root, `v${i + 1}`), next);
        symlinkSync(`v${i + 1}`, join(root, 'certs.tmp'));
        renameSync(join(root, 'certs.tmp'), link);
        await expectServing(t, next, `re-point ${i + 1}`);
      }
    } finally {
      await t.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
