/**
 * Zero downtime, measured. A real `warden sentry` process (workload TTL 40 s, skew 1 s: see LEAF_TTL_S) and four
 * workloads as separate processes, each serving mTLS and calling the other three continuously,
 * trust anchors from the watched ca.crt. `warden mtls rotate` (the built binary) runs through all
 * phases with short waits: not a single call may fail, calls happen in every phase, and at the end
 * every leaf chains to the new root and the old root is gone from ca.crt. Throughput is the
 * benchmark's business: printed here, never asserted. Then the same mesh takes a one-step
 * `renew-certificate` with a fresh root, which must break calls (so this test can fail).
 * Calls, failures and p99 latency per phase are printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificatesToPem, isSelfSigned, parseCertificatesPem } from '../../src/core/certificate.js';
import { verifyChainToAnchors } from '../../src/sidecar-client/verify-chain.js';
import { opensslVerify } from '../support/openssl.js';
import {
  callsOf, formatStats, killAll, MESH_HANG_MS, REPO, startMesh, startSentryProcess, statsBetween, stopMesh, waitFor, warden,
  type AppEvent, type CallStats, type RunningApp, type SentryProcess,
} from './fixtures/mesh.js';

const APPS = ['alpha', 'beta', 'gamma', 'delta'];
// A call that takes this long counts as failed: only a hang does, however loaded the machine.
const CALL_TIMEOUT_MS = 15_000;
// A workload renews at half-life and keeps presenting its old leaf until the renewal returns, so a
// call started just before that carries a leaf with (TTL - skew)/2 minus the renewal's own time
// left. If its handshake outlasts that, the peer refuses an expired certificate and the caller sees
// "ECONNRESET socket hang up": with a 12 s TTL (5.5 s margin) that failed 1-66 calls per run at load
// 20-35 (handshakes of up to 10 s), before the rotation as much as during it, so no rotation gap.
// 40 s leaves 19.5 s: more than CALL_TIMEOUT_MS plus a slow renewal, so a leaf can only run out
// under a call that would have counted as failed (a hang) anyway. The cost: retire waits TTL+skew.
const LEAF_TTL_S = 40;

interface Journal {
  createdAt: string;
  phases: Record<'add-anchor' | 'switch-issuer' | 'retire-old-root', { startedAt: string; writtenAt: string; completedAt: string; convergence: string }>;
}

/** A failed call with the leaves both sides held then (from their `renewed` events) and renewal failures around it. */
function explainFailure(apps: RunningApp[], call: AppEvent): Record<string, unknown> {
  const at = Date.parse(call.t);
  const startedAt = at - Number(call.latencyMs);
  // The leaf an app held when the call started (the caller took its TLS options then).
  const leafAt = (name: string): unknown => {
    const app = apps.find((a) => a.name === name);
    const renewed = app?.events.filter((e) => e.event === 'renewed' && Date.parse(e.t) <= startedAt).at(-1);
    return renewed === undefined ? 'initial' : { notAfter: renewed.notAfter, renewedAt: renewed.t };
  };
  const callee = String(call.peer).split('/').at(-1) as string;
  const near = (e: AppEvent, ms: number): boolean => Math.abs(Date.parse(e.t) - at) < ms;
  const renewalFailures = apps.flatMap((a) => a.events.filter((e) => e.event === 'renewalFailed' && near(e, 10_000)));
  const calleeTlsErrors = apps.find((a) => a.name === callee)?.events.filter((e) => e.event === 'tlsClientError' && near(e, 2_000)) ?? [];
  return {
    at: call.t, caller: call.app, callee, error: call.error, latencyMs: call.latencyMs, callerLeaf: leafAt(call.app), calleeLeaf: leafAt(callee),
    renewalFailures: renewalFailures.map((e) => `${e.app}: ${String(e.error)}`), calleeTlsErrors: calleeTlsErrors.map((e) => `${e.t} ${String(e.error)}`),
  };
}

/** Every app has made a successful call to every other app since `since` (epoch ms). */
function everyPairCalled(apps: RunningApp[], since: number): boolean {
  return apps.every((app) => apps.filter((peer) => peer !== app).every((peer) =>
    app.events.some((e) => e.event === 'call' && e.ok === true && Date.parse(e.t) >= since && String(e.peer).endsWith(`/${peer.name}`))));
}

describe('zero-downtime root rotation (real processes)', () => {
  let dir: string;
  let certs: string;
  let config: string;
  let sentry: SentryProcess;
  let apps: RunningApp[] = [];
  let meshStarted = 0;

  before(async () => {
    assert.ok(existsSync(join(REPO, 'dist', 'cli', 'commands', 'rotate.js')), 'dist is missing the rotate command: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'warden-e2e-rotate-'));
    certs = join(dir, 'certs');
    config = join(dir, 'config.yaml');
    writeFileSync(config, `kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: ${LEAF_TTL_S}s\n    allowedClockSkew: 1s\n`);
    sentry = await startSentryProcess(['--issuer-credentials', certs, '--config', config]);
    apps = await startMesh(APPS, {
      SENTRY_ADDRESS: `127.0.0.1:${sentry.port}`,
      TRUST_ANCHORS_FILE: join(certs, 'ca.crt'),
      CALL_INTERVAL_MS: '300',
      CALL_CONCURRENCY: '4',
      CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
    });
    meshStarted = Date.now();
  });

  after(() => {
    killAll([...apps.map((a) => a.child), sentry?.child]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rotate through every phase: zero failed calls; every leaf chains to the new root; the old root is gone', async (t) => {
    const oldCa = readFileSync(join(certs, 'ca.crt'), 'utf8');
    const oldRoot = parseCertificatesPem(oldCa)[0]!;
    // A baseline before the rotation: every workload has called every peer successfully.
    await waitFor('a successful call between every pair', () => (everyPairCalled(apps, 0) ? true : undefined), MESH_HANG_MS);
    // The propagation delay (2 s) is what an operator would pick for a quiet machine; here the
    // workloads' own reload decides: stop after add-anchor, wait until every workload trusts both
    // roots (its 'anchorsChanged' event), then resume. So a loaded machine makes the test slower, not red.
    const first = await warden(['mtls', 'rotate', '--issuer-credentials', certs, '--config', config, '--propagation-delay', '2s',
      '--sentry-address', `127.0.0.1:${sentry.port}`, '--timeout', '120s', '--until', 'add-anchor']);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    await waitFor('every workload to trust both roots', () => (apps.every((a) => a.events.some((e) => e.event === 'anchorsChanged' && e.count === 2)) ? true : undefined), MESH_HANG_MS);
    const rest = await warden(['mtls', 'rotate', '--resume', '--issuer-credentials', certs]);
    assert.equal(rest.code, 0, `${rest.stdout}\n${rest.stderr}`);
    const run = { startedAt: first.startedAt, endedAt: rest.endedAt };
    assert.equal(((first.stdout + rest.stdout).match(/Complete; convergence confirmed after/g) ?? []).length, 3, first.stdout + rest.stdout);
    // Calls after the rotation, on the new root only: again every pair.
    await waitFor('a successful call between every pair after the rotation', () => (everyPairCalled(apps, run.endedAt) ? true : undefined), MESH_HANG_MS);
    const end = Date.now();

    const journal = JSON.parse(readFileSync(join(certs, '.rotation', 'journal.json'), 'utf8')) as Journal;
    const p = journal.phases;
    const at = (iso: string): number => Date.parse(iso);
    const calls = callsOf(apps);
    const rows: CallStats[] = [
      statsBetween('before', calls, meshStarted, at(journal.createdAt)),
      statsBetween('plan', calls, at(journal.createdAt), at(p['add-anchor'].startedAt)),
      statsBetween('add-anchor', calls, at(p['add-anchor'].startedAt), at(p['add-anchor'].completedAt)),
      statsBetween('switch-issuer', calls, at(p['switch-issuer'].startedAt), at(p['switch-issuer'].completedAt)),
      statsBetween('wait (TTL+skew)', calls, at(p['switch-issuer'].completedAt), at(p['retire-old-root'].startedAt)),
      statsBetween('retire-old-root', calls, at(p['retire-old-root'].startedAt), at(p['retire-old-root'].completedAt)),
      statsBetween('after', calls, at(p['retire-old-root'].completedAt), end),
      statsBetween('rotation total', calls, run.startedAt, run.endedAt),
    ];
    for (const line of formatStats(rows)) t.diagnostic(line);
    t.diagnostic(`rotation wall time ${((run.endedAt - run.startedAt) / 1000).toFixed(1)} s; retire waited ${((at(p['retire-old-root'].startedAt) - at(p['switch-issuer'].completedAt)) / 1000).toFixed(1)} s (TTL ${LEAF_TTL_S} s + skew 1 s)`);

    const failed = calls.filter((c) => c.ok !== true && Date.parse(c.t) <= end);
    assert.deepEqual(failed.slice(0, 5).map((c) => explainFailure(apps, c)), [], `${failed.length} failed calls`);
    // Calls in every phase (what zero failures means depends on there being calls to fail).
    for (const row of rows.slice(2, 7)) assert.ok(row.calls > 0, `calls during ${row.window}: ${formatStats([row]).join(' ')}`);

    // ca.crt holds the new root only.
    const newCa = readFileSync(join(certs, 'ca.crt'), 'utf8');
    const anchors = parseCertificatesPem(newCa);
    assert.equal(anchors.length, 1);
    assert.ok(!anchors[0]!.der.equals(oldRoot.der), 'the old root is gone');
    // Every leaf presented after the retirement (the latest chain of every app, as its peers saw it) chains to the new root.
    const retired = at(p['retire-old-root'].completedAt);
    for (const app of apps) {
      const late = app.events.filter((e) => e.event === 'call' && Date.parse(e.t) > retired && e.ok === true);
      assert.ok(late.length > 0, `${app.name} made calls after the retirement`);
      for (const peer of new Set(late.map((c) => c.peer as string))) {
        const serial = late.filter((c) => c.peer === peer).at(-1)!.peerSerial as string;
        const seen = apps.flatMap((a) => a.events).find((e) => e.event === 'call' && e.peer === peer && e.peerSerial === serial && typeof e.peerChainPem === 'string');
        assert.ok(seen, `the chain of ${peer} serial ${serial} was captured`);
        const chain = parseCertificatesPem(seen.peerChainPem as string).filter((c) => !isSelfSigned(c));
        verifyChainToAnchors(chain, anchors, new Date(chain[0]!.notBefore.getTime() + 1500));
        assert.throws(() => verifyChainToAnchors(chain, [oldRoot], new Date(chain[0]!.notBefore.getTime() + 1500)));
      }
    }
    const sample = apps[0]!.events.filter((e) => typeof e.peerChainPem === 'string').at(-1)!;
    const chain = parseCertificatesPem(sample.peerChainPem as string).filter((c) => !isSelfSigned(c));
    const verdict = opensslVerify({
      anchorsPem: newCa, untrustedPem: certificatesToPem(chain.slice(1)), leafPem: certificatesToPem(chain.slice(0, 1)),
      attime: new Date(chain[0]!.notBefore.getTime() + 1500),
    });
    assert.ok(verdict.ok, verdict.output);
  });

  it('the same mesh with a one-step renew-certificate (fresh root) loses calls', async (t) => {
    const before = Date.now();
    const run = await warden(['mtls', 'renew-certificate', '--issuer-credentials', certs]);
    assert.equal(run.code, 0, run.stderr);
    // Old leaves against the new ca.crt fail as soon as an app reloads its anchors: wait for the first failure.
    await waitFor('a call to fail after the one-step renewal', () => (callsOf(apps).some((c) => c.ok !== true && Date.parse(c.t) >= run.endedAt) ? true : undefined), MESH_HANG_MS);
    const end = Date.now();
    const codes = await stopMesh(apps, CALL_TIMEOUT_MS);
    assert.deepEqual(codes, APPS.map(() => 0));
    const calls = callsOf(apps);
    const rows = [statsBetween('before renew', calls, before - 2000, run.endedAt), statsBetween('after renew', calls, run.endedAt, end)];
    for (const line of formatStats(rows)) t.diagnostic(line);
    const failures = calls.filter((c) => c.ok !== true && Date.parse(c.t) >= run.startedAt);
    t.diagnostic(`first failure ${((Date.parse(failures[0]?.t ?? '') - run.endedAt) / 1000).toFixed(1)} s after renew-certificate; e.g. ${String(failures[0]?.error ?? '')}`);
    assert.ok(rows[1]!.failed > 0, 'a one-step root replacement breaks calls between workloads');
  });
});
