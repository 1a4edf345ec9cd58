/**
 * Real daprd through a `warden mtls rotate` (issue 9): two self-hosted daprd sidecars keep invoking
 * each other while Warden rotates the root in all three phases, with zero failed calls, and end on
 * leaves from the new issuer. Needs DAPRD (skipped, saying so, without it).
 *
 * daprd reads DAPR_TRUST_ANCHORS once, at start. The rotation without restarts for self-hosted
 * daprd is therefore the "bring your own new root" path: the new root exists before the rotation
 * (made here with `warden mtls renew-certificate` into a directory of its own), each daprd starts
 * trusting the old and the new root, and `rotate --ca-root-certificate … --issuer-…` moves the
 * sentry over. The workload certificate TTL is 1 minute, so daprd renews (at half its life) from
 * the new issuer during the rotation's TTL + skew wait.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { warden } from '../e2e/fixtures/mesh.js';
import { opensslVerify } from '../support/openssl.js';
import { HANG_MS, until } from '../support/wait.js';
import { skipUnless } from './support/binaries.js';
import { startAppPair, stopAppPair, type RunningDaprd, type TinyApp } from './support/daprd.js';
import { readPeerChain } from './support/peer-chain.js';
import { httpGet } from './support/processes.js';
import { startWardenSentry, type RunningSentry } from './support/sentries.js';

const skip = skipUnless('DAPRD');

interface Call {
  at: number;
  from: string;
  ok: boolean;
  detail: string;
}

/** Calls A→B and B→A back to back until stopped; every outcome is recorded. */
function invokeContinuously(daprds: RunningDaprd[], calls: Call[]): { stop(): Promise<void> } {
  let running = true;
  const loops = daprds.map(async (from, i) => {
    const to = daprds[(i + 1) % daprds.length]!;
    while (running) {
      const res = await httpGet(from.ports.http, `/v1.0/invoke/${to.appId}/method/ping`, {}, 15_000);
      const ok = res.status === 200 && res.body === `hello from ${to.appId}`;
      calls.push({ at: Date.now(), from: from.appId, ok, detail: ok ? '' : `${res.status} ${res.body.slice(0, 300)}` });
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function issuerSubjectServedBy(d: RunningDaprd): Promise<string> {
  const { chainPem } = await readPeerChain(d.ports.internalGrpc);
  return parseCertificatesPem(chainPem[0]!)[0]!.issuer.text;
}

describe('real daprd keeps invoking through a warden mtls rotate (self-hosted)', { skip }, () => {
  let dir: string;
  let certs: string;
  let next: string;
  let config: string;
  let sentry: RunningSentry | undefined;
  const apps: TinyApp[] = [];
  const daprds: RunningDaprd[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-interop-rotate-'));
    certs = join(dir, 'certs');
    next = join(dir, 'next');
    config = join(dir, 'sentry-config.yaml');
    writeFileSync(config, 'kind: Configuration\nspec:\n  mtls:\n    enabled: true\n    workloadCertTTL: 1m\n    allowedClockSkew: 1s\n');
    sentry = await startWardenSentry(certs, ['--config', config]);
    const made = await warden(['mtls', 'renew-certificate', '--issuer-credentials', next, '--trust-domain', 'localhost']);
    assert.equal(made.code, 0, `${made.stdout}${made.stderr}`);
    const anchors = readFileSync(join(certs, 'ca.crt'), 'utf8') + readFileSync(join(next, 'ca.crt'), 'utf8');
    await startAppPair({ sentryAddress: sentry.address, trustAnchorsPem: anchors, dir }, apps, daprds);
  });

  after(() => stopAppPair({ daprds, sentry, apps, dir }));

  it('zero failed invocations across add-anchor, switch-issuer and retire-old-root; both daprd end on the new issuer', async (t) => {
    const oldIssuer = parseCertificatesPem(readFileSync(join(certs, 'issuer.crt')))[0]!.subject.text;
    const newIssuerPem = readFileSync(join(next, 'issuer.crt'), 'utf8');
    const newIssuer = parseCertificatesPem(newIssuerPem)[0]!.subject.text;
    for (const d of daprds) assert.equal(await issuerSubjectServedBy(d), oldIssuer);

    const calls: Call[] = [];
    const load = invokeContinuously(daprds, calls);
    try {
      await until(() => calls.filter((c) => c.ok).length >= 4, 'the first successful invocations both ways');
      const started = Date.now();
      const rotate = await warden(['mtls', 'rotate', '--issuer-credentials', certs, '--config', config,
        '--ca-root-certificate', join(next, 'ca.crt'), '--issuer-public-certificate', join(next, 'issuer.crt'),
        '--issuer-private-key', join(next, 'issuer.key'),
        '--propagation-delay', '1s', '--sentry-address', sentry!.address, '--timeout', '120s']);
      assert.equal(rotate.code, 0, `${rotate.stdout}${rotate.stderr}\nwarden sentry:\n${sentry!.proc.tail()}`);
      const rotated = Date.now();
      assert.equal((rotate.stdout.match(/Complete; convergence confirmed after/g) ?? []).length, 3, rotate.stdout);
      assert.equal(readFileSync(join(certs, 'ca.crt'), 'utf8'), readFileSync(join(next, 'ca.crt'), 'utf8'), 'ca.crt is the new root only');

      // daprd renews at half its leaf's life: both are on the new issuer by now or within one more minute.
      await until(async () => (await Promise.all(daprds.map(issuerSubjectServedBy))).every((s) => s === newIssuer),
        'both daprd to serve leaves from the new issuer', HANG_MS, 1000);
      for (const d of daprds) {
        const { chainPem } = await readPeerChain(d.ports.internalGrpc);
        const verified = opensslVerify({ anchorsPem: readFileSync(join(certs, 'ca.crt'), 'utf8'), untrustedPem: newIssuerPem, leafPem: chainPem[0]! });
        assert.ok(verified.ok, `${d.appId}: ${verified.output}`);
      }
      const settled = Date.now();
      await until(() => calls.filter((c) => c.ok && c.at > settled).length >= 4, 'successful invocations both ways after the rotation');

      const during = calls.filter((c) => c.at >= started && c.at <= rotated);
      const failed = calls.filter((c) => !c.ok);
      t.diagnostic(`rotation ${((rotated - started) / 1000).toFixed(1)} s; invocations: ${calls.length} in all, ${during.length} during the rotation, ${failed.length} failed`);
      assert.ok(during.filter((c) => c.ok).length >= 20, `too few invocations during the rotation to mean anything (${during.length})`);
      assert.deepEqual(failed.map((c) => `${new Date(c.at).toISOString()} ${c.from}: ${c.detail}`), []);
    } finally {
      await load.stop();
    }
  });
});
