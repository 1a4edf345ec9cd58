/**
 * Recovery, measured (self-hosted): a root that expires during the test. A real `warden sentry`
 * process and three workloads (separate processes, anchors from the watched ca.crt) run on a
 * bundle made with a validity of a few seconds (`--valid-until` counts whole days, so the test
 * builds it with the core). Once it expires, calls fail, the sentry refuses to sign
 * (FAILED_PRECONDITION) and its health turns 503; `warden mtls renew-certificate` (the built
 * binary) replaces the bundle, and calls recover without restarting anything: the sentry reloads
 * the directory, the workloads reload ca.crt and renew. The time to recovery is printed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { generatePrivateKey } from '../../src/core/keys.js';
import { loadCaClientConstructor } from '../../src/wire/sentry-proto.js';
import { csrPem } from '../support/sentry-client.js';
import {
  callsOf, formatStats, killAll, MESH_HANG_MS, REPO, sleep, startMesh, startSentryProcess, statsBetween, stopMesh, waitFor, warden,
  type RunningApp, type SentryProcess,
} from './fixtures/mesh.js';

const APPS = ['alpha', 'beta', 'gamma'];
const CALL_TIMEOUT_MS = 3000;
// Long enough for the mesh to start and make calls on a loaded machine, short enough to wait for.
// If starting took so long that less than MIN_LEFT_MS of validity is left, the set-up starts over
// with twice the validity (a slow machine makes the test slower, not red).
const VALIDITY_MS = 30_000;
const MIN_LEFT_MS = 12_000;
const SETUP_ATTEMPTS = 3;

/** SignCertificate without verifying the sentry's (expired) certificate: what status does it answer? */
function signStatus(address: string, anchorsPem: string): Promise<{ code: grpc.status; details: string }> {
  const Client = loadCaClientConstructor();
  const credentials = grpc.credentials.createSsl(Buffer.from(anchorsPem), null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
  const client = new Client(address, credentials, { 'grpc.ssl_target_name_override': 'dapr-sentry' }) as unknown as {
    SignCertificate(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
    close(): void;
  };
  const request = { id: 'probe', namespace: 'default', certificate_signing_request: csrPem(generatePrivateKey('ed25519')), token_validator: 'UNKNOWN' };
  return new Promise((resolve) => {
    client.SignCertificate(request, new grpc.Metadata(), { deadline: Date.now() + 120_000 }, (e) => {
      client.close();
      resolve(e === null ? { code: grpc.status.OK, details: '' } : { code: e.code, details: e.details });
    });
  });
}

async function health(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.text() };
}

describe('recovery from an expired root (real processes)', () => {
  let dir: string;
  let certs: string;
  let sentry: SentryProcess;
  let apps: RunningApp[] = [];
  let expiresAt = 0;

  before(async () => {
    assert.ok(existsSync(join(REPO, 'dist', 'cli', 'commands', 'renew-certificate.js')), 'dist is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'warden-e2e-recover-'));
    certs = join(dir, 'certs');
    mkdirSync(certs, { mode: 0o700 });
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 6s\n    allowedClockSkew: 1s\n');
    for (let attempt = 1; ; attempt++) {
      const validityMs = VALIDITY_MS * 2 ** (attempt - 1);
      const ready = await startWithValidity(config, validityMs).catch((error: unknown) => error as Error);
      if (ready === true) return;
      killAll([...apps.map((a) => a.child), sentry?.child]);
      apps = [];
      if (attempt >= SETUP_ATTEMPTS) assert.fail(`the mesh did not start with ${MIN_LEFT_MS} ms of validity left after ${attempt} attempts: ${String(ready)}`);
    }
  });

  /** Writes a bundle valid for `validityMs`, starts the sentry and the mesh; true if enough validity is left. */
  async function startWithValidity(config: string, validityMs: number): Promise<true | string> {
    const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default', validityMs, clockSkewMs: 1000 });
    expiresAt = Math.min(bundle.root.notAfter.getTime(), bundle.issuer.notAfter.getTime());
    const texts = bundle.toTexts();
    writeFileSync(join(certs, 'ca.crt'), texts.ca, { mode: 0o600 });
    writeFileSync(join(certs, 'issuer.crt'), texts.issuerCert, { mode: 0o600 });
    writeFileSync(join(certs, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
    sentry = await startSentryProcess(['--issuer-credentials', certs, '--config', config]);
    apps = await startMesh(APPS, {
      SENTRY_ADDRESS: `127.0.0.1:${sentry.port}`,
      TRUST_ANCHORS_FILE: join(certs, 'ca.crt'),
      CALL_INTERVAL_MS: '200',
      CALL_CONCURRENCY: '2',
      CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
    }, Math.max(1000, expiresAt - Date.now()));
    const left = expiresAt - Date.now();
    return left >= MIN_LEFT_MS ? true : `only ${left} ms of validity left once the mesh was up`;
  }

  after(() => {
    killAll([...apps.map((a) => a.child), sentry?.child]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('calls fail and the sentry refuses once the root expires; after renew-certificate they recover by themselves', async (t) => {
    const started = Date.now();
    assert.ok(started < expiresAt - 1000, `the mesh took too long to start (${expiresAt - started} ms of validity left)`);
    await waitFor('calls before expiry', () => (callsOf(apps).some((c) => c.ok === true) ? true : undefined), expiresAt - Date.now());
    // The outage shows in the calls that end after expiry (plus a second for the clocks): wait for some.
    await waitFor('calls after expiry', () => (callsOf(apps).filter((c) => Date.parse(c.t) > expiresAt + 1000).length >= APPS.length ? true : undefined),
      Math.max(0, expiresAt - Date.now()) + MESH_HANG_MS);

    // The outage: calls fail, the sentry refuses to sign, health is 503.
    const expired = callsOf(apps).filter((c) => Date.parse(c.t) > expiresAt + 1000);
    assert.ok(expired.length > 0 && expired.every((c) => c.ok !== true), `every call after expiry fails (${expired.filter((c) => c.ok === true).length} of ${expired.length} succeeded)`);
    const anchorsPem = readFileSync(join(certs, 'ca.crt'), 'utf8');
    const refused = await signStatus(`127.0.0.1:${sentry.port}`, anchorsPem);
    assert.equal(grpc.status[refused.code], 'FAILED_PRECONDITION', refused.details);
    assert.match(refused.details, /renew-certificate/);
    const sick = await health(sentry.healthzPort);
    assert.equal(sick.status, 503);
    assert.match(sick.body, /issuer certificate has expired/);

    // Recovery: one command, nothing restarted.
    const renew = await warden(['mtls', 'renew-certificate', '--issuer-credentials', certs]);
    assert.equal(renew.code, 0, renew.stderr);
    assert.match(renew.stdout, /The current root certificate expired on .*; renewing replaces it/);
    const pairs = APPS.flatMap((a) => APPS.filter((b) => b !== a).map((b) => `${a}->spiffe://public/ns/default/${b}`));
    const recoveredAt = await waitFor('every app to call every peer successfully again', () => {
      const ok = callsOf(apps).filter((c) => c.ok === true && Date.parse(c.t) > renew.endedAt);
      const seen = new Set(ok.map((c) => `${c.app}->${String(c.peer)}`));
      return pairs.every((p) => seen.has(p)) ? Math.max(...pairs.map((p) => Math.min(...ok.filter((c) => `${c.app}->${String(c.peer)}` === p).map((c) => Date.parse(c.t))))) : undefined;
    }, MESH_HANG_MS);
    const firstOk = Math.min(...callsOf(apps).filter((c) => c.ok === true && Date.parse(c.t) > renew.endedAt).map((c) => Date.parse(c.t)));
    await sleep(1500);
    const end = Date.now();
    assert.equal((await health(sentry.healthzPort)).status, 200);
    assert.equal(grpc.status[(await signStatus(`127.0.0.1:${sentry.port}`, readFileSync(join(certs, 'ca.crt'), 'utf8'))).code], 'OK');

    const calls = callsOf(apps);
    for (const line of formatStats([
      statsBetween('before expiry', calls, started, expiresAt),
      statsBetween('outage', calls, expiresAt, recoveredAt),
      statsBetween('recovered', calls, recoveredAt, end),
    ])) t.diagnostic(line);
    t.diagnostic(`renew-certificate took ${((renew.endedAt - renew.startedAt) / 1000).toFixed(1)} s; first successful call ${((firstOk - renew.endedAt) / 1000).toFixed(1)} s after it, ` +
      `every pair recovered ${((recoveredAt - renew.endedAt) / 1000).toFixed(1)} s after it; outage ${((recoveredAt - expiresAt) / 1000).toFixed(1)} s from expiry`);
    // No call fails once every pair has recovered.
    const lateFailures = calls.filter((c) => c.ok !== true && Date.parse(c.t) > recoveredAt + CALL_TIMEOUT_MS);
    assert.deepEqual(lateFailures.slice(0, 3), []);
    assert.deepEqual(await stopMesh(apps, CALL_TIMEOUT_MS), APPS.map(() => 0));
  });
});
