/**
 * Suite `jwt`: what `--jwt-enabled` costs. The whole SignCertificate pipeline in one process
 * (validator, CSR parse and signature check, leaf signing, response; sign-service.ts) at 16 in
 * flight, with JWT-SVIDs off and on, on the same CSRs, runs alternating (off on, on off, …) so
 * drift hits both alike. No transport: TLS and HTTP/2 would dilute the JWT share, so this is the
 * strict view. Target (issue 9): throughput with JWTs ≥ 75 % of throughput without.
 *
 * Cases: the default key (RSA-2048, RS256) with no extra audience (one token, see jwt-issuer.ts),
 * with one extra audience (three tokens, as Dapr signs them), a P-256 key (ES256) and an Ed25519 key
 * (EdDSA). Over gRPC the same three keys, and Dapr's own sentry with its RSA key for reference.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateTrustBundle } from '../src/core/bundle.js';
import { systemClock } from '../src/core/clock.js';
import { generateJwtMaterial, generateJwtMaterialFor, materialForKey, type JwtMaterial } from '../src/core/jwt-key.js';
import { CaStateHolder, createCaState } from '../src/sentry/ca-state.js';
import { DEFAULT_SENTRY_CONFIG } from '../src/sentry/config.js';
import { InThreadLeafIssuer } from '../src/sentry/issue-leaf.js';
import { JwtIssuer } from '../src/sentry/jwt-issuer.js';
import { SentryMetrics } from '../src/sentry/metrics.js';
import { signCertificate, type SignServiceDeps } from '../src/sentry/sign-service.js';
import type { SignCertificateRequest } from '../src/wire/sentry-proto.js';
import { generateCsrPool, type PooledCsr } from './csr-pool.js';
import { runThroughputH2load } from './grpc-h2load.js';
import { findH2load, writeRequestBody } from './h2load.js';
import { createBenchSigner } from './issue.js';
import { daprSentryUnavailable, startDaprSentryProcess, writeBenchSentryConfig } from './dapr-sentry-process.js';
import { sentryUnavailable, startSentryProcess, type SentryProcess } from './sentry-process.js';
import { loadRequest } from './storm-calls.js';
import { fixed, formatTable, int } from './format.js';
import type { TimingOptions } from './issue.js';
import { median, runFor, type Operation } from './measure.js';

export const JWT_IN_FLIGHT = 16;
/** Throughput with JWTs over throughput without: at least this (cost ≤ 25 %). */
export const JWT_RATIO_FLOOR = 0.75;

interface JwtCase {
  name: string;
  material: () => JwtMaterial;
  audiences: string[];
}

const CASES: readonly JwtCase[] = [
  { name: 'RS256 (default key), no extra audience', material: generateJwtMaterial, audiences: [] },
  { name: 'RS256 (default key), 1 extra audience', material: generateJwtMaterial, audiences: ['api://bench'] },
  { name: 'ES256 (P-256 key), no extra audience', material: () => generateJwtMaterialFor('ES256'), audiences: [] },
  { name: 'EdDSA (Ed25519 key), no extra audience', material: () => materialForKey(ed25519(), 'EdDSA', []), audiences: [] },
];

/** The JWT keys the over-gRPC comparison runs with: Dapr's default, and the two elliptic-curve choices `--jwt-signing-algorithm` generates. */
export const JWT_GRPC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type JwtGrpcAlgorithm = (typeof JWT_GRPC_ALGORITHMS)[number];
const KEY_OF: Record<JwtGrpcAlgorithm, string> = { RS256: 'RSA-2048', ES256: 'P-256', EdDSA: 'Ed25519' };

export interface JwtMeasurement {
  name: string;
  off: number[];
  on: number[];
  offMedian: number;
  onMedian: number;
  ratio: number;
  /** Median process CPU µs per call (all threads), off and on, and off/on: the view other load on the machine disturbs least. */
  offCpuUs: number;
  onCpuUs: number;
  cpuRatio: number;
  pass: boolean;
}

function ed25519(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

function depsFor(material: JwtMaterial | undefined): SignServiceDeps {
  const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default', keyAlgorithm: 'ed25519' });
  const state = new CaStateHolder(createCaState(material ? bundle.withJwt(material) : bundle, 'bench', { clock: systemClock, config: DEFAULT_SENTRY_CONFIG }));
  const jwt = material ? new JwtIssuer(material, { ttlMs: 24 * 3600_000, clockSkewMs: 15 * 60_000 }) : undefined;
  return {
    metrics: new SentryMetrics(),
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    mode: 'standalone',
    sentryNamespace: 'dapr-system',
    clusterDomain: 'cluster.local',
    leafIssuer: new InThreadLeafIssuer(state),
    issueJwts: jwt ? (req) => jwt.issue(req) : undefined,
  };
}

function operation(deps: SignServiceDeps, pool: readonly PooledCsr[], audiences: string[]): Operation {
  const requests: SignCertificateRequest[] = pool.map((csr, n) => ({
    id: `app-${n}`, token: '', trust_domain: 'public', namespace: 'default',
    certificate_signing_request: Buffer.from(csr.pem), token_validator: 'INSECURE', jwt_audiences: audiences,
  }));
  let sink = 0;
  return async (i) => {
    const res = await signCertificate(requests[i % requests.length]!, deps);
    sink += res.workload_certificate.length + (res.jwt?.value.length ?? 0);
    if (sink < 0) throw new Error('unreachable');
  };
}

export async function runJwtSuite(timing: TimingOptions, log: (line: string) => void): Promise<JwtMeasurement[]> {
  const pool = generateCsrPool('ed25519', 500);
  const results: JwtMeasurement[] = [];
  for (const c of CASES) {
    log(`jwt: ${c.name}…`);
    const off = operation(depsFor(undefined), pool, c.audiences);
    const on = operation(depsFor(c.material()), pool, c.audiences);
    await runFor(off, { inFlight: JWT_IN_FLIGHT, durationMs: timing.warmupMs });
    await runFor(on, { inFlight: JWT_IN_FLIGHT, durationMs: timing.warmupMs });
    const offRates: number[] = [];
    const onRates: number[] = [];
    const offCpu: number[] = [];
    const onCpu: number[] = [];
    for (let run = 0; run < timing.runs; run++) {
      const order = run % 2 === 0 ? [off, on] : [on, off];
      for (const op of order) {
        const { rate, cpuUsPerOp } = await runFor(op, { inFlight: JWT_IN_FLIGHT, durationMs: timing.runMs });
        (op === off ? offRates : onRates).push(rate);
        (op === off ? offCpu : onCpu).push(cpuUsPerOp);
      }
    }
    const offMedian = median(offRates);
    const onMedian = median(onRates);
    const ratio = onMedian / offMedian;
    const offCpuUs = median(offCpu);
    const onCpuUs = median(onCpu);
    results.push({ name: c.name, off: offRates, on: onRates, offMedian, onMedian, ratio, offCpuUs, onCpuUs, cpuRatio: offCpuUs / onCpuUs, pass: ratio >= JWT_RATIO_FLOOR });
  }
  return results;
}

export function formatJwtReport(results: readonly JwtMeasurement[], timing: TimingOptions): string {
  const rows = results.map((r) => [r.name, int(r.offMedian), int(r.onMedian), fixed(r.ratio, 2), `${fixed((1 - r.ratio) * 100, 0)} %`,
    int(r.offCpuUs), int(r.onCpuUs), fixed(r.cpuRatio, 2), r.pass ? 'ok' : 'BELOW']);
  return `jwt: SignCertificate pipeline in-process, ${JWT_IN_FLIGHT} in flight, Ed25519 CSRs and issuer, median of ${timing.runs} × ${timing.runMs / 1000} s\n` +
    `target: with JWTs ≥ ${JWT_RATIO_FLOOR} × without (cost ≤ ${fixed((1 - JWT_RATIO_FLOOR) * 100, 0)} %)\n` +
    formatTable(['case', 'certs/s off', 'certs/s on', 'on/off', 'cost', 'CPU µs off', 'CPU µs on', 'CPU off/on', 'verdict'], rows);
}

export interface JwtGrpcMeasurement {
  /** Whose sentry: Warden's, or Dapr's own (DAPR_SENTRY) as the reference for what JWTs cost there. */
  target: 'warden' | 'dapr';
  /** The JWT signing algorithm (and the key the sentry generated for it). */
  algorithm: JwtGrpcAlgorithm;
  available: boolean;
  reason?: string;
  off: number[];
  on: number[];
  offMedian: number;
  onMedian: number;
  ratio: number;
  /** Server CPU (cores) at each side's median, for the record. */
  offServerCpu: number;
  onServerCpu: number;
  pass: boolean;
}

/** A comparison that did not run, and why. */
export function jwtGrpcUnavailable(target: 'warden' | 'dapr', algorithm: JwtGrpcAlgorithm, reason: string): JwtGrpcMeasurement {
  return { target, algorithm, available: false, reason, off: [], on: [], offMedian: Number.NaN, onMedian: Number.NaN, ratio: Number.NaN,
    offServerCpu: Number.NaN, onServerCpu: Number.NaN, pass: false };
}

/**
 * The same comparison over the wire: two `warden sentry` processes on copies of one bundle, one
 * with `--jwt-enabled` (default RSA-2048 key), h2load at 16 in flight on 16 connections against
 * each, runs alternating. This is "throughput at 16 in flight" as the grpc suite measures it.
 * With `target: 'dapr'` the same runs go against Dapr's own sentry (DAPR_SENTRY), which generates
 * its RSA-2048 key itself: what `--jwt-enabled` costs in Dapr, on the same machine, same run.
 */
export async function runJwtGrpc(timing: TimingOptions, log: (line: string) => void, target: 'warden' | 'dapr' = 'warden', algorithm: JwtGrpcAlgorithm = 'RS256'): Promise<JwtGrpcMeasurement> {
  const unavailable = (reason: string) => jwtGrpcUnavailable(target, algorithm, reason);
  if (findH2load() === undefined) return unavailable('h2load is not installed (apt-get install nghttp2-client)');
  const { reason, help } = sentryUnavailable();
  if (reason) return unavailable(reason);
  const daprReason = target === 'dapr' ? daprSentryUnavailable() : undefined;
  if (daprReason) return unavailable(daprReason);
  const root = mkdtempSync(join(os.tmpdir(), 'warden-bench-jwt-'));
  const sentries: SentryProcess[] = [];
  try {
    const texts = createBenchSigner('ed25519').bundle.toTexts();
    const csrPem = generateCsrPool('ed25519', 1)[0]!.pem;
    const sides = ['off', 'on'] as const;
    const bases = [];
    for (const side of sides) {
      const d = mkdtempSync(join(root, `${side}-`));
      // The bundle in a directory of its own: Dapr's sentry restarts its CA on any change in the
      // directory it watches, and h2load writes its logs next to the request body.
      const certs = join(d, 'certs');
      mkdirSync(certs);
      writeFileSync(join(certs, 'ca.crt'), texts.ca);
      writeFileSync(join(certs, 'issuer.crt'), texts.issuerCert);
      writeFileSync(join(certs, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
      const bodyFile = join(d, 'request.bin');
      writeRequestBody(bodyFile, loadRequest(csrPem, 0));
      const jwtArgs = side === 'on' ? ['--jwt-enabled', ...(algorithm === 'RS256' ? [] : ['--jwt-signing-algorithm', algorithm])] : [];
      const sentry = target === 'warden'
        ? await startSentryProcess(certs, help, { args: jwtArgs })
        : await startDaprSentryProcess(certs, writeBenchSentryConfig(root), 30_000, ['--trust-domain', 'localhost', ...jwtArgs]);
      sentries.push(sentry);
      bases.push({ sentry, dir: d, bodyFile, callTimeoutMs: 20_000 });
    }
    log(`jwt: over gRPC, h2load at ${JWT_IN_FLIGHT} in flight against ${target === 'warden' ? 'a warden sentry' : "Dapr's sentry"} without and one with --jwt-enabled (${algorithm})…`);
    const one: TimingOptions = { runs: 1, runMs: timing.runMs, warmupMs: timing.warmupMs };
    const rates = { off: [] as number[], on: [] as number[] };
    const cpu = { off: [] as number[], on: [] as number[] };
    for (let run = 0; run < timing.runs; run++) {
      const order = run % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const [level] = await runThroughputH2load(bases[i]!, [JWT_IN_FLIGHT], one, 1);
        rates[sides[i]!].push(level!.certsPerS);
        cpu[sides[i]!].push(level!.serverCpu);
      }
    }
    const offMedian = median(rates.off);
    const onMedian = median(rates.on);
    const ratio = onMedian / offMedian;
    return { target, algorithm, available: true, off: rates.off, on: rates.on, offMedian, onMedian, ratio,
      offServerCpu: median(cpu.off), onServerCpu: median(cpu.on), pass: ratio >= JWT_RATIO_FLOOR };
  } finally {
    for (const s of sentries) await s.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatJwtGrpcReport(r: JwtGrpcMeasurement, timing: TimingOptions): string {
  if (r.target === 'dapr') {
    if (!r.available) return `jwt over gRPC, Dapr's own sentry for reference: SKIPPED: ${r.reason ?? 'unknown reason'}`;
    return `jwt over gRPC, Dapr's own sentry for reference (same h2load runs, its own RSA-2048 key, RS256):\n` +
      `  without --jwt-enabled ${int(r.offMedian)} certs/s (${r.off.map(int).join(', ')}; server ${fixed(r.offServerCpu, 2)} cores), ` +
      `with ${int(r.onMedian)} certs/s (${r.on.map(int).join(', ')}; server ${fixed(r.onServerCpu, 2)} cores)\n` +
      `  ratio with/without ${fixed(r.ratio, 2)} (cost ${fixed((1 - r.ratio) * 100, 0)} %)`;
  }
  if (!r.available) return `jwt over gRPC (${r.algorithm}): SKIPPED: ${r.reason ?? 'unknown reason'}`;
  const key = r.algorithm === 'RS256' ? 'RS256 (default key, RSA-2048)' : `${r.algorithm} (--jwt-signing-algorithm ${r.algorithm}, ${KEY_OF[r.algorithm]} key)`;
  return `jwt over gRPC: SignCertificate over TLS, h2load ${JWT_IN_FLIGHT} in flight on ${JWT_IN_FLIGHT} connections, ${key}, ` +
    `median of ${timing.runs} × ${timing.runMs / 1000} s per side, alternating\n` +
    `  without --jwt-enabled ${int(r.offMedian)} certs/s (${r.off.map(int).join(', ')}; server ${fixed(r.offServerCpu, 2)} cores), ` +
    `with ${int(r.onMedian)} certs/s (${r.on.map(int).join(', ')}; server ${fixed(r.onServerCpu, 2)} cores)\n` +
    `  ratio with/without ${fixed(r.ratio, 2)} (cost ${fixed((1 - r.ratio) * 100, 0)} %) — target ≥ ${JWT_RATIO_FLOOR}: ${r.pass ? 'ok' : 'BELOW'}`;
}
