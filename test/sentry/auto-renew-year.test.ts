/**
 * The proof of `warden sentry --auto-renew`: a simulated year. One sentry (in process, its clock and
 * the renewer's waits injected), a short-lived CA (60 days, renewed at 2/3 of its life, every 40 days: nine
 * automatic rotations in the year), and three workloads using src/sidecar-client's
 * WorkloadIdentity (renewal at half their 24 h TTL, anchors hot-reloaded from the watched ca.crt)
 * calling each other over mTLS all year. Not one call may fail; calls and failures are printed per
 * rotation phase.
 *
 * Real: the certificates, the files, the reloads, the engine's journal and lock, the gRPC calls to
 * the sentry and the TLS handshakes between the workloads (keys proved by TLS). Simulated: time.
 * Node's TLS checks certificate dates against the wall clock, which cannot be injected, so every
 * chain (the sentry's serving chain and each peer's) is verified at the SIMULATED instant with
 * Warden's verifier (sidecar-client/verify-chain.ts), and a sample is cross-checked with
 * `openssl verify -attime`. The driver moves the clock only when every actor is waiting (the
 * renewer and each workload's renewal loop asleep, the sentry serving what is on disk, every
 * workload holding the anchors on disk): no fixed sleeps, so a loaded machine only makes it slower.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { describe, it } from 'node:test';
import pino from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { certificatesToPem, parseCertificate, parseCertificatesPem, type Certificate } from '../../src/core/certificate.js';
import type { Clock } from '../../src/core/clock.js';
import { createCsr } from '../../src/core/csr.js';
import { generatePrivateKey } from '../../src/core/keys.js';
import { encodePem } from '../../src/core/pem.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import { runSentry, type RunningSentry } from '../../src/sentry/server.js';
import { WorkloadIdentity } from '../../src/sidecar-client/identity-manager.js';
import type { IssuedIdentity } from '../../src/sidecar-client/sentry-client.js';
import { FileTrustAnchorSource } from '../../src/sidecar-client/trust-anchors.js';
import { verifyChainToAnchors } from '../../src/sidecar-client/verify-chain.js';
import { loadCaServiceDefinition, SIGN_CERTIFICATE_PATH, type SignCertificateResponse } from '../../src/wire/sentry-proto.js';
import { opensslVerify } from '../support/openssl.js';
import { SimTime, until } from '../support/sim-time.js';

const HOUR = 3_600_000;
const CA_LIFETIME_MS = 60 * DAY_MS;
const YEAR_MS = 365 * DAY_MS;
const STEP_MS = 6 * HOUR;
const APPS = ['alpha', 'beta', 'gamma'];

/** The peer's chain as sent in the handshake (leaf first). */
function peerChain(socket: tls.TLSSocket): Certificate[] {
  const chain: Certificate[] = [];
  let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  while (cert?.raw !== undefined && chain.length < 5) {
    const parsed = parseCertificate(cert.raw);
    if (chain.some((c) => c.der.equals(parsed.der))) break;
    chain.push(parsed);
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * SignCertificate over real TLS + HTTP/2 (gRPC framing by hand, messages by the service's own
 * serializers): the sentry's serving chain and SPIFFE ID are verified at the SIMULATED time before
 * the request is sent; the issued chain too.
 */
function simFetcher(address: string, anchors: FileTrustAnchorSource, clock: Clock, app: string, onServing: (chain: Certificate[]) => void): () => Promise<IssuedIdentity> {
  const method = loadCaServiceDefinition()['SignCertificate'] as grpc.MethodDefinition<object, SignCertificateResponse>;
  const [host, port] = [address.split(':')[0] as string, Number(address.split(':')[1])];
  return async () => {
    const current = anchors.current();
    const key: KeyObject = generatePrivateKey('ed25519');
    const session = http2.connect(`https://${address}`, {
      createConnection: () => tls.connect({ host, port, servername: 'dapr-sentry', rejectUnauthorized: false, ALPNProtocols: ['h2'] }),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('connect', () => resolve());
        session.once('error', reject);
      });
      const serving = peerChain(session.socket as tls.TLSSocket);
      verifyChainToAnchors(serving, current.certificates, clock.now());
      assert.deepEqual(serving[0]?.uriSans, ['spiffe://localhost/ns/default/dapr-sentry']);
      onServing(serving);
      const message = method.requestSerialize({
        id: app, token: '', trust_domain: 'public', namespace: 'default', token_validator: 'INSECURE', jwt_audiences: [],
        certificate_signing_request: Buffer.from(encodePem('CERTIFICATE REQUEST', createCsr(key))),
      });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(message.length, 1);
      const stream = session.request({ ':method': 'POST', ':path': SIGN_CERTIFICATE_PATH, 'content-type': 'application/grpc', te: 'trailers' });
      stream.end(Buffer.concat([prefix, message]));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      const status = await new Promise<string>((resolve, reject) => {
        let grpcStatus = '';
        stream.on('response', (h) => { if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); });
        stream.on('trailers', (h) => { grpcStatus = String(h['grpc-status']) + ' ' + String(h['grpc-message'] ?? ''); });
        stream.on('end', () => resolve(grpcStatus));
        stream.on('error', reject);
      });
      assert.ok(status.startsWith('0'), `SignCertificate answered grpc-status ${status}`);
      const body = Buffer.concat(chunks);
      const response = method.responseDeserialize(body.subarray(5, 5 + body.readUInt32BE(1)));
      const certChain = parseCertificatesPem(response.workload_certificate);
      verifyChainToAnchors(certChain, current.certificates, clock.now());
      const leaf = certChain[0] as Certificate;
      assert.ok(leaf.publicKey.equals(createPublicKey(key)), 'the leaf is for our key');
      return {
        privateKey: key, certChain, spiffeId: leaf.uriSans[0] as string, notBefore: leaf.notBefore, notAfter: leaf.notAfter,
        validUntil: leaf.notAfter, trustAnchors: current,
      };
    } finally {
      session.close();
    }
  };
}

interface App {
  name: string;
  identity: WorkloadIdentity;
  anchors: FileTrustAnchorSource;
  server: tls.Server;
  port: number;
}

/** A workload's mTLS server: verifies the caller at the simulated time, answers `ok <name>`. */
async function startServer(name: string, get: () => App, clock: Clock): Promise<{ server: tls.Server; port: number }> {
  const server = tls.createServer({
    requestCert: true,
    rejectUnauthorized: false,
    SNICallback: (_n, cb) => cb(null, tls.createSecureContext(get().identity.secureContextOptions())),
    ...get().identity.secureContextOptions(),
  }, (socket) => {
    try {
      verifyChainToAnchors(peerChain(socket), get().anchors.current().certificates, clock.now());
      socket.end(`ok ${name}`);
    } catch (error) {
      socket.end(`refused ${(error as Error).message}`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** One mTLS call: the client verifies the server at the simulated time; the server verifies the client. */
async function call(from: App, to: App, clock: Clock): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: to.port, servername: 'workload', rejectUnauthorized: false, ...from.identity.secureContextOptions() }, () => {
      try {
        verifyChainToAnchors(peerChain(socket), from.anchors.current().certificates, clock.now());
      } catch (error) {
        socket.destroy();
        resolve(`client refused ${to.name}: ${(error as Error).message}`);
        return;
      }
      let body = '';
      socket.on('data', (d) => (body += d));
      socket.on('end', () => resolve(body === `ok ${to.name}` ? undefined : `server said: ${body}`));
    });
    socket.on('error', (e) => resolve(`${from.name} → ${to.name}: ${e.message}`));
  });
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  return a === b;
}

describe('sentry --auto-renew: a simulated year', () => {
  it('renews a 60-day CA every 40 days for a year (nine rotations) with the phased rotation; zero failed mTLS calls', { timeout: 900_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-autorenew-year-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const certs = join(dir, 'certs');
    await mkdir(certs);
    const sim = new SimTime(Date.UTC(2027, 0, 1));
    // The first CA, as a sentry generates it (O=<trust domain>), 60 days.
    const first = generateTrustBundle({ clock: sim, trustDomain: 'public', namespace: 'default', validityMs: CA_LIFETIME_MS, clockSkewMs: 60_000 }).bundle.toTexts();
    await writeFile(join(certs, 'ca.crt'), first.ca);
    await writeFile(join(certs, 'issuer.crt'), first.issuerCert);
    await writeFile(join(certs, 'issuer.key'), first.issuerKey, { mode: 0o600 });
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 24h\n    allowedClockSkew: 1m\n');
    const logLines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => { logLines.push(JSON.parse(line) as Record<string, unknown>); } });

    const sentry: RunningSentry = await runSentry({
      issuerCredentials: certs, config, port: 0, listenAddress: '127.0.0.1', healthzPort: 0, healthzListenAddress: '127.0.0.1',
      metricsPort: 0, metricsListenAddress: '127.0.0.1', clock: sim, logger, reloadDebounceMs: 10, signThreads: 0,
      servingCheckIntervalMs: 5, expiryWarningIntervalMs: HOUR,
      autoRenew: true, autoRenewSleeper: sim.exact, autoRenewCheckIntervalMs: 12 * HOUR, autoRenewRetryDelayMs: HOUR,
      autoRenewPropagationDelayMs: 10 * 60_000, autoRenewTimeoutMs: 4 * HOUR,
    });
    t.after(() => sentry.close());
    const address = `127.0.0.1:${sentry.port}`;
    const servingSeen: Certificate[][] = [];

    const apps: App[] = [];
    for (const name of APPS) {
      const anchors = new FileTrustAnchorSource({ path: join(certs, 'ca.crt'), debounceMs: 5, pollIntervalMs: 50 });
      await anchors.ready();
      const identity = await WorkloadIdentity.start({
        fetchIdentity: simFetcher(address, anchors, sim, name, (c) => servingSeen.push(c)),
        trustAnchors: anchors, clock: sim, timers: sim.coarse,
      });
      const app = { name, identity, anchors } as App;
      const { server, port } = await startServer(name, () => app, sim);
      Object.assign(app, { server, port });
      apps.push(app);
    }
    t.after(async () => {
      sim.releaseAll();
      for (const app of apps) {
        await app.identity.close();
        app.anchors.close();
        app.server.close();
      }
    });

    const caPath = join(certs, 'ca.crt');
    const stats = new Map<string, { calls: number; failures: number }>();
    const failures: string[] = [];
    const phaseNow = async (): Promise<string> => {
      const values = (await sentry.metrics.rotationPhase.get()).values;
      return String(values.find((v) => v.value === 1)?.labels.phase ?? 'unknown');
    };
    const quiet = async (): Promise<boolean> => {
      const p = sim.pending;
      if (p.exact < 1 || p.coarse < apps.length) return false;
      const onDisk = await readFile(caPath, 'utf8');
      const ca = sentry.currentCa().bundle;
      if (!(await sameBytes(certificatesToPem(ca.anchors), certificatesToPem(parseCertificatesPem(onDisk))))) return false;
      const issuerOnDisk = parseCertificatesPem(await readFile(join(certs, 'issuer.crt'), 'utf8'))[0] as Certificate;
      if (!issuerOnDisk.der.equals(ca.issuer.der)) return false;
      if (!apps.every((a) => a.anchors.current().pem === certificatesToPem(parseCertificatesPem(onDisk)))) return false;
      const serving = sentry.servingCertificate();
      return serving !== undefined && serving.notAfter.getTime() > sim.now().getTime() && serving.notBefore.getTime() <= sim.now().getTime();
    };

    const start = sim.now().getTime();
    let steps = 0;
    let lastCallAt = -Infinity;
    let lastPhase = 'idle';
    let opensslChecked = 0;
    let rotationStart: number | undefined;
    const rotationHours: number[] = [];
    while (sim.now().getTime() - start < YEAR_MS) {
      await until(quiet, `quiescence at ${sim.now().toISOString()} (pending ${JSON.stringify(sim.pending)})`);
      const phase = await phaseNow();
      // Calls every simulated day, and at every step while a rotation runs or its phase changed.
      if (phase !== 'idle' || phase !== lastPhase || sim.now().getTime() - lastCallAt >= 24 * HOUR) {
        lastCallAt = sim.now().getTime();
        const s = stats.get(phase) ?? { calls: 0, failures: 0 };
        stats.set(phase, s);
        for (const from of apps) {
          for (const to of apps) {
            if (from === to) continue;
            const error = await call(from, to, sim);
            s.calls += 1;
            if (error !== undefined) {
              s.failures += 1;
              failures.push(`${sim.now().toISOString()} [${phase}] ${error}`);
            }
          }
        }
        if (phase !== lastPhase && opensslChecked < 12) {
          // Independent cross-check: OpenSSL verifies a workload leaf at the simulated time.
          opensslChecked += 1;
          const snap = apps[0]!.identity.current();
          const res = opensslVerify({ anchorsPem: snap.anchors.pem, leafPem: certificatesToPem(snap.certChain.slice(0, 1)), untrustedPem: certificatesToPem(snap.certChain.slice(1)), attime: sim.now() });
          assert.equal(res.ok, true, `openssl verify -attime at ${sim.now().toISOString()}: ${JSON.stringify(res)}`);
        }
      }
      if (lastPhase === 'idle' && phase !== 'idle') rotationStart = sim.now().getTime();
      if (lastPhase !== 'idle' && phase === 'idle' && rotationStart !== undefined) rotationHours.push((sim.now().getTime() - rotationStart) / HOUR);
      lastPhase = phase;
      sim.step(STEP_MS);
      steps += 1;
    }

    const rotations = logLines.filter((l) => typeof l.msg === 'string' && /^Automatic rotation \S+ completed/.test(l.msg));
    const started = logLines.filter((l) => typeof l.msg === 'string' && /^Auto-renew: Rotation \S+ started/.test(l.msg));
    const table = [...stats].map(([phase, s]) => `${phase.padEnd(16)} calls ${String(s.calls).padStart(5)}  failures ${s.failures}`).join('\n');
    t.diagnostic(`simulated ${Math.round((sim.now().getTime() - start) / DAY_MS)} days in ${steps} steps; ${started.length} automatic rotations started, ${rotations.length} completed; ` +
      `each took ${rotationHours.map((h) => h.toFixed(1)).join(', ')} simulated hours (workload TTL 24h + skew 1m + propagation, at ${STEP_MS / HOUR}h steps)\n${table}`);
    assert.deepEqual(failures.slice(0, 10), [], 'no mTLS call failed');
    assert.ok(rotations.length >= 3, `at least three automatic renewals completed (${rotations.length})`);
    for (const phase of ['add-anchor', 'switch-issuer', 'idle']) assert.ok((stats.get(phase)?.calls ?? 0) > 0, `calls were made during ${phase}`);
    // The bundle at the end is the sentry's own, generated by the renewals: one root, valid now.
    const finalCa = parseCertificatesPem(await readFile(caPath, 'utf8'));
    assert.equal(finalCa.length, 1);
    assert.ok(finalCa[0]!.notAfter.getTime() > sim.now().getTime());
    assert.ok(!finalCa[0]!.der.equals(parseCertificatesPem(first.ca)[0]!.der), 'the root was replaced');
    assert.ok(servingSeen.length > 0);
    const journal = JSON.parse(await readFile(join(certs, '.rotation', 'journal.json'), 'utf8')) as { status: string; settings: { startedBy: string } };
    assert.equal(journal.status, 'done');
    assert.equal(journal.settings.startedBy, 'warden-sentry');
  });
});
