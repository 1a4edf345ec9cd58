/**
 * `warden mtls request-cert` through the built binary (`npm run build` first; `npm test` does it)
 * against a real warden sentry: files written 0600 and verifiable with openssl, and the failure
 * modes an operator meets (wrong control-plane trust domain, nothing listening, rejected request).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { certificatesToPem, parseCertificatesPem } from '../../src/core/certificate.js';
import { systemClock } from '../../src/core/clock.js';
import { parsePrivateKeyPem, publicKeysEqual } from '../../src/core/keys.js';
import { runSentry, type RunningSentry } from '../../src/sentry/server.js';
import { openssl } from '../support/openssl.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'warden.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built CLI asynchronously (the sentry runs in this process and must keep serving). */
function warden(args: string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('warden mtls request-cert (built binary)', { concurrency: true }, () => {
  let dir: string;
  let sentry: RunningSentry;
  let anchorsFile: string;
  let common: string[];

  before(async () => {
    assert.ok(existsSync(join(REPO, 'dist', 'cli', 'commands', 'request-cert.js')), 'dist is missing: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'warden-e2e-request-cert-'));
    sentry = await runSentry({
      issuerCredentials: join(dir, 'credentials'),
      port: 0,
      listenAddress: '127.0.0.1',
      healthzPort: 0,
      healthzListenAddress: '127.0.0.1',
      enableMetrics: false,
      handleSignals: false,
      logger: pino({ level: 'silent' }),
    });
    anchorsFile = join(dir, 'credentials', 'ca.crt');
    common = ['mtls', 'request-cert', '--sentry-address', `127.0.0.1:${sentry.port}`, '--trust-anchors', anchorsFile];
  });

  after(async () => {
    await sentry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes key.pem, cert.pem and ca.pem (0600) that openssl verifies', async () => {
    const out = join(dir, 'out-ok');
    const run = await warden([...common, '--id', 'myapp', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`^✅  Certificate for spiffe://public/ns/default/myapp written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, valid until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+0000 UTC\\n$`),
    );
    assert.deepEqual(readdirSync(out).sort(), ['ca.pem', 'cert.pem', 'key.pem']);
    for (const name of ['key.pem', 'cert.pem', 'ca.pem']) assert.equal(statSync(join(out, name)).mode & 0o777, 0o600, name);

    // openssl: the leaf (with the issuer from cert.pem as untrusted intermediate) verifies to ca.pem.
    const certPem = join(out, 'cert.pem');
    const verdict = openssl(['verify', '-CAfile', join(out, 'ca.pem'), '-untrusted', certPem, certPem]);
    assert.match(verdict, /: OK\n$/);
    assert.equal(readFileSync(join(out, 'ca.pem'), 'utf8').trim(), readFileSync(anchorsFile, 'utf8').trim());

    const chain = parseCertificatesPem(readFileSync(certPem));
    assert.equal(chain.length, 2, 'leaf + issuer');
    assert.deepEqual(chain[0]?.uriSans, ['spiffe://public/ns/default/myapp']);
    assert.ok(publicKeysEqual(parsePrivateKeyPem(readFileSync(join(out, 'key.pem'))), chain[0]!.publicKey), 'key.pem matches the leaf');
  });

  it('prints JSON with -o json and honours --namespace, --trust-domain and --key-algorithm', async () => {
    const out = join(dir, 'out-json');
    const run = await warden([...common, '--id', 'svc', '--namespace', 'prod', '--trust-domain', 'example.org', '--key-algorithm', 'ecdsa-p256', '--out', out, '-o', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { spiffeId: string; dir: string; files: { cert: string }; notAfter: string };
    assert.equal(result.spiffeId, 'spiffe://example.org/ns/prod/svc');
    assert.equal(result.dir, out);
    const leaf = parseCertificatesPem(readFileSync(result.files.cert))[0]!;
    assert.equal(leaf.notAfter.toISOString(), result.notAfter);
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('refuses a sentry of another control-plane trust domain: ERR_SENTRY_IDENTITY, exit 1, nothing written', async () => {
    const out = join(dir, 'out-wrong-td');
    const run = await warden([...common, '--id', 'myapp', '--control-plane-trust-domain', 'cluster.local', '--out', out]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^❌  .*expected spiffe:\/\/cluster\.local\/ns\/default\/dapr-sentry.* \(ERR_SENTRY_IDENTITY\)\n$/);
    assert.equal(existsSync(out), false);
  });

  it('reports the sentry’s rejection with its gRPC status text: ERR_SENTRY_REJECTED', async () => {
    const run = await warden([...common, '--id', 'my.app', '--out', join(dir, 'out-rejected')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /PERMISSION_DENIED: invalid request: parameter app-id cannot contain dots \(ERR_SENTRY_REJECTED\)\n$/);
  });

  it('reports unreadable trust anchors (ERR_TRUST_ANCHORS_INVALID) and a missing --id (usage, exit 2)', async () => {
    const missing = await warden(['mtls', 'request-cert', '--sentry-address', `127.0.0.1:${sentry.port}`, '--trust-anchors', join(dir, 'nope.crt'), '--id', 'a', '--out', join(dir, 'x')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\(ERR_TRUST_ANCHORS_INVALID\)\n$/);
    const usage = await warden([...common, '--out', join(dir, 'x')]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--id/);
  });
});

describe('warden mtls request-cert against nothing', () => {
  it('fails quickly with ERR_SENTRY_UNAVAILABLE (exit 1) when nothing listens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-e2e-request-cert-down-'));
    try {
      const anchorsFile = join(dir, 'ca.crt');
      writeFileSync(anchorsFile, certificatesToPem(generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default' }).bundle.anchors));
      const port = await closedPort();
      const run = await warden(['mtls', 'request-cert', '--sentry-address', `127.0.0.1:${port}`, '--trust-anchors', anchorsFile, '--id', 'myapp', '--out', join(dir, 'out')]);
      assert.equal(run.code, 1);
      // Every attempt was refused (not timed out): the refusal is what is reported.
      assert.match(run.stderr, /not reachable after 5 attempt\(s\).*ECONNREFUSED.*\(ERR_SENTRY_UNAVAILABLE\)\n$/);
      // That refused connections are not waited on is proven by cause in the in-process client test
      // (test/sidecar-client/sentry-client.test.ts, "fails fast ... when nothing listens": hour-long
      // attempt deadlines, still done). A stopwatch here measured process start-up on a loaded
      // machine (12 s against 6 s for `warden --version` at load 30), so this only bounds a hang.
      assert.ok(run.ms < 120_000, `a hang bound: took ${Math.round(run.ms)} ms`);
      assert.equal(existsSync(join(dir, 'out')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
