/**
 * Suite `issue`: leaf issuance from a CSR in one process, the whole per-request work Warden does
 * (parseCsr with JWK key import, verifyCsrSignature, WorkloadSigner.sign with the PEM chain),
 * against the node:crypto floor measured in the same run on the same inputs. Warden and floor runs
 * alternate (W F, F W, …) so slow drift of the machine hits both alike.
 */
import type { KeyAlgorithm } from '../src/core/keys.js';
import { generateTrustBundle, type TrustBundle } from '../src/core/bundle.js';
import { isIssuedBy, parseCertificate } from '../src/core/certificate.js';
import { systemClock } from '../src/core/clock.js';
import { parseCsr, verifyCsrSignature } from '../src/core/csr.js';
import { WorkloadSigner } from '../src/core/sign.js';
import { generateCsrPool, KEY_LABEL, type CsrKeyAlgorithm, type PooledCsr } from './csr-pool.js';
import { asyncFloorOperation, syncFloorOperation, type FloorInputs } from './floor.js';
import { fixed, formatTable, int, runsText, verdict } from './format.js';
import { median, runFor, type Operation, type RunResult } from './measure.js';

export type IssuerKeyAlgorithm = 'ecdsa-p256' | 'ed25519';

export interface IssueCase {
  csrKey: CsrKeyAlgorithm;
  issuerKey: IssuerKeyAlgorithm;
  note: string;
}

export const ISSUE_CASES: readonly IssueCase[] = [
  { csrKey: 'ecdsa-p256', issuerKey: 'ed25519', note: 'Dapr default' },
  { csrKey: 'ecdsa-p256', issuerKey: 'ecdsa-p256', note: 'notes §3 baseline' },
  { csrKey: 'ed25519', issuerKey: 'ed25519', note: '' },
  { csrKey: 'ed25519', issuerKey: 'ecdsa-p256', note: '' },
];

export const ISSUE_MODES = [
  { name: '1 in flight', inFlight: 1 },
  { name: '16 in flight', inFlight: 16 },
] as const;

export const RATIO_TARGET = 0.8;
export const POOL_SIZE = 2000;

export interface TimingOptions {
  runs: number;
  runMs: number;
  warmupMs: number;
}

export interface IssueMeasurement {
  csrKey: CsrKeyAlgorithm;
  issuerKey: IssuerKeyAlgorithm;
  mode: string;
  inFlight: number;
  /** certs/s of each timed run. */
  warden: number[];
  floor: number[];
  /** Single thread only: the floor with synchronous crypto (no threadpool hops), for information. */
  syncFloor?: number[];
  wardenMedian: number;
  floorMedian: number;
  ratio: number;
  /** Median process CPU µs per cert (all threads), and floor CPU / Warden CPU: the noise-robust view. */
  wardenCpuUs: number;
  floorCpuUs: number;
  cpuRatio: number;
}

const WORKLOAD_TTL_MS = 24 * 3600 * 1000;
const CLOCK_SKEW_MS = 15 * 60 * 1000;

/** A signer over a freshly generated bundle, as `warden sentry` builds one. */
export function createBenchSigner(issuerKey: IssuerKeyAlgorithm): { bundle: TrustBundle; signer: WorkloadSigner } {
  const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default', keyAlgorithm: issuerKey });
  return { bundle, signer: new WorkloadSigner(bundle, { clock: systemClock, workloadTtlMs: WORKLOAD_TTL_MS, clockSkewMs: CLOCK_SKEW_MS }) };
}

/** Warden's per-request work for pooled CSR `i`. The chain PEM is built and read, so it cannot be skipped. */
export function wardenOperation(signer: WorkloadSigner, pool: readonly PooledCsr[]): Operation {
  const ids = pool.map((_, n) => `spiffe://public/ns/default/app-${n}`);
  let sink = 0;
  return async (i) => {
    const n = i % pool.length;
    const csr = parseCsr(pool[n]!.der);
    await verifyCsrSignature(csr);
    const signed = await signer.sign({ publicKey: csr.publicKey, spkiDer: csr.spkiDer, spiffeId: ids[n]!, dnsNames: [] });
    sink += signed.chainPem.length;
    if (sink < 0) throw new Error('unreachable');
  };
}

/** Issues one leaf and checks it, so the suite never times something that does not work. */
async function checkIssuance(bundle: TrustBundle, signer: WorkloadSigner, pool: readonly PooledCsr[]): Promise<Buffer> {
  const csr = parseCsr(pool[0]!.der);
  await verifyCsrSignature(csr);
  const signed = await signer.sign({ publicKey: csr.publicKey, spkiDer: csr.spkiDer, spiffeId: 'spiffe://public/ns/default/app-0' });
  const leaf = parseCertificate(signed.leafDer);
  if (!isIssuedBy(leaf, bundle.issuer) || leaf.uriSans[0] !== 'spiffe://public/ns/default/app-0' || !leaf.spkiDer.equals(csr.spkiDer)) {
    throw new Error('issue suite: the check leaf is not what Warden should issue');
  }
  return leaf.tbsDer;
}

async function timeInterleaved(ops: Operation[], inFlight: number, timing: TimingOptions): Promise<RunResult[][]> {
  for (const op of ops) await runFor(op, { inFlight, durationMs: timing.warmupMs });
  const results: RunResult[][] = ops.map(() => []);
  for (let r = 0; r < timing.runs; r++) {
    const order = ops.map((_, k) => k);
    if (r % 2 === 1) order.reverse();
    for (const k of order) results[k]!.push(await runFor(ops[k]!, { inFlight, durationMs: timing.runMs }));
  }
  return results;
}

/** Measures one case in every mode. `pools` caches CSR pools across cases. */
export async function measureIssueCase(
  c: IssueCase,
  modes: ReadonlyArray<{ name: string; inFlight: number }>,
  timing: TimingOptions,
  pools: Map<CsrKeyAlgorithm, PooledCsr[]>,
  options: { floor: boolean } = { floor: true },
): Promise<IssueMeasurement[]> {
  let pool = pools.get(c.csrKey);
  if (!pool) {
    pool = generateCsrPool(c.csrKey, POOL_SIZE);
    pools.set(c.csrKey, pool);
  }
  const { bundle, signer } = createBenchSigner(c.issuerKey);
  const tbs = await checkIssuance(bundle, signer, pool);
  const floorInputs: FloorInputs = { pool, tbs, issuerKey: bundle.issuerKey, issuerDigest: issuerDigest(c.issuerKey) };
  const warden = wardenOperation(signer, pool);
  const results: IssueMeasurement[] = [];
  for (const mode of modes) {
    const ops = options.floor ? [warden, asyncFloorOperation(floorInputs)] : [warden];
    if (options.floor && mode.inFlight === 1) ops.push(syncFloorOperation(floorInputs));
    const [w, f, s] = await timeInterleaved(ops, mode.inFlight, timing);
    const rates = (runs: RunResult[] | undefined): number[] => (runs ?? []).map((x) => x.rate);
    const cpu = (runs: RunResult[] | undefined): number => median((runs ?? []).map((x) => x.cpuUsPerOp));
    const wardenMedian = median(rates(w));
    const floorMedian = median(rates(f));
    results.push({
      csrKey: c.csrKey, issuerKey: c.issuerKey, mode: mode.name, inFlight: mode.inFlight,
      warden: rates(w), floor: rates(f), ...(s ? { syncFloor: rates(s) } : {}),
      wardenMedian, floorMedian, ratio: wardenMedian / floorMedian,
      wardenCpuUs: cpu(w), floorCpuUs: cpu(f), cpuRatio: cpu(f) / cpu(w),
    });
  }
  return results;
}

function issuerDigest(alg: KeyAlgorithm): string | null {
  return alg === 'ed25519' ? null : 'sha256';
}

export async function runIssueSuite(timing: TimingOptions, log: (line: string) => void): Promise<IssueMeasurement[]> {
  const pools = new Map<CsrKeyAlgorithm, PooledCsr[]>();
  const all: IssueMeasurement[] = [];
  for (const c of ISSUE_CASES) {
    const measured = await measureIssueCase(c, ISSUE_MODES, timing, pools);
    for (const m of measured) log(`  measured ${KEY_LABEL[m.csrKey]} CSR / ${KEY_LABEL[m.issuerKey]} issuer, ${m.mode}: ${int(m.wardenMedian)} certs/s (floor ${int(m.floorMedian)})`);
    all.push(...measured);
  }
  return all;
}

export function formatIssueReport(results: readonly IssueMeasurement[], timing: TimingOptions): string {
  const rows = results.map((m) => [
    `${KEY_LABEL[m.csrKey]}/${KEY_LABEL[m.issuerKey]}`, m.mode,
    int(m.wardenMedian), fixed(1e6 / m.wardenMedian, 0), int(m.floorMedian), fixed(1e6 / m.floorMedian, 0),
    fixed(m.ratio, 2), verdict(m.ratio >= RATIO_TARGET), fixed(m.wardenCpuUs, 0), fixed(m.floorCpuUs, 0), fixed(m.cpuRatio, 2),
    m.syncFloor ? int(median(m.syncFloor)) : '', `${runsText(m.warden)} | ${runsText(m.floor)}`,
  ]);
  const notes = ISSUE_CASES.filter((c) => c.note !== '').map((c) => `${KEY_LABEL[c.csrKey]}/${KEY_LABEL[c.issuerKey]} = ${c.note}`).join('; ');
  return [
    `issue — leaf issuance from a CSR in one process (${timing.runs} × ${timing.runMs / 1000} s per figure after ${timing.warmupMs / 1000} s warm-up; medians)`,
    '  Warden = parseCsr + verifyCsrSignature + WorkloadSigner.sign (+ chain PEM). floor = JWK import + crypto.verify + crypto.sign,',
    `  callback forms, same inputs, prebuilt TBS, run alternately with Warden. ratio = Warden/floor certs/s, target ≥ ${RATIO_TARGET}.`,
    `  ${POOL_SIZE} distinct CSRs per key type. ${notes}.`,
    '',
    formatTable(
      ['CSR/issuer', 'mode', 'certs/s', 'µs/cert', 'floor/s', 'µs/op', 'ratio', 'target', 'CPU µs', 'floor CPU µs', 'CPU ratio', 'sync floor/s', 'runs: Warden | floor'],
      rows,
      new Set([0, 1, 12]),
    ),
    '',
    '  µs/cert, µs/op = 1e6 / rate (wall time per cert at that rate). CPU µs = process CPU (all threads) per cert; CPU ratio =',
    '  floor CPU / Warden CPU, which other load on the machine disturbs far less than wall-clock rates. sync floor = the same',
    '  crypto with the synchronous forms (no threadpool hops), 1 in flight only: the price of the async path, for information.',
  ].join('\n');
}
