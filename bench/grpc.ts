/**
 * Suite `grpc`: SignCertificate over TLS against `warden sentry` running as its own process
 * (run.ts measures one process and `--workers <cores>`), with load from separate processes, all on 127.0.0.1.
 *
 * The load generator is h2load when installed (bench/h2load.ts; C, so it leaves the CPUs to the
 * server), else Node clients (bench/load-client.ts: grpc-js channels, node:http2 for the storm).
 *
 * 1. Throughput: 16 and 64 calls in flight for fixed times; certs/s, p50/p99, CPU. h2load spreads
 *    them over up to 16 connections (sidecars each hold their own); the Node client uses one channel.
 *    The ceiling beside it is in-process issuance with 16 in flight (the issue suite's figure for
 *    the same keys, or measured here when that suite did not run).
 * 2. Restart storm: 2,000 clients, each with its own TLS connection, each asking for one
 *    certificate at the same moment: time until all are issued, p99, failures, server peak RSS.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { generateCsrPool, KEY_LABEL } from './csr-pool.js';
import { fixed, formatTable, int, runsText, verdict } from './format.js';
import { ISSUE_CASES, createBenchSigner, measureIssueCase, type IssueCase, type IssueMeasurement, type TimingOptions } from './issue.js';
import type { StormReport, ThroughputRun } from './load-client.js';
import { onExit } from './children.js';
import { LoadProcess } from './load-process.js';
import { median, quantile, sleep } from './measure.js';
import { readListenOverflows, readTreeCpuSeconds, readTreeMemoryKiB, resetTreePeakRss } from './proc.js';
import { sentryUnavailable, startSentryProcess, type SentryProcess } from './sentry-process.js';
import { findH2load, writeRequestBody } from './h2load.js';
import { FLOOR_TLS, SERVER_WARMUP_S, runFloorStorms, runStormH2load, runThroughputH2load, THROUGHPUT_CONNECTIONS } from './grpc-h2load.js';
import { generatePrivateKey, privateKeyToPkcs8Pem } from '../src/core/keys.js';
import { checkOneIssuance, loadRequest, newGrpcClient, type StormTransport } from './storm-calls.js';

export const GRPC_TIMING: TimingOptions = { runs: 3, runMs: 3000, warmupMs: 1000 };
export const LEVELS = [16, 64];
export const STORM_CLIENTS = 2000;
export const STORM_PROCESSES = 2;
export const STORM_TRANSPORT: StormTransport = 'http2';
export const TARGET_CERTS_PER_S = 2000;
export const STORM_TARGET_MS = 3000;
/** Storms per run; the report shows the median one (the machine is shared and noisy) and all times. */
export const STORM_RUNS = 3;
/** Memory targets against the floor in the same run (issue 12): storm peak and RSS after the settle delay. */
export const PEAK_OVER_FLOOR_TARGET = 1.15;
export const SETTLED_OVER_IDLE_TARGET = 1.5;
/** How long after the last storm the sentry's RSS is read again (what it gave back). */
export const SETTLE_MS = 60_000;
export const SERVER_ID = 'spiffe://localhost/ns/default/dapr-sentry';
/** P-256 CSRs, Ed25519 issuer: Dapr's default today. */
export const GRPC_CASE: IssueCase = ISSUE_CASES[0]!;

/** Who generates the load: h2load, or the Node clients (grpc-js channel; storm transport as chosen). */
export type LoadGenerator = 'h2load' | 'node';

export interface GrpcLevel {
  inFlight: number;
  /** Connections the calls were spread over. */
  connections: number;
  runs: ThroughputRun[];
  certsPerS: number;
  p50Ms: number;
  p99Ms: number;
  serverCpu: number;
  clientCpu: number;
  /** certs/s over in-process issuance (same keys, 16 in flight). */
  ratio: number;
  failures: number;
}

export interface StormResult {
  clients: number;
  processes: number;
  transport: StormTransport | 'h2load';
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  issued: number;
  failures: Record<string, number>;
  serverRssBeforeKiB: number;
  serverPeakRssKiB: number;
  /** True when VmHWM was reset before the storm, so the peak is the storm's own. */
  peakIsStormOnly: boolean;
  /** CPU seconds from "go" until every answer was in: the server's, and all load processes' together. */
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  /** Connections the kernel dropped because the server's listen queue was full (NaN: unknown). */
  listenOverflows: number;
}

export interface GrpcSuiteResult {
  available: boolean;
  reason?: string;
  csrKey: string;
  issuerKey: string;
  timing: TimingOptions;
  load: LoadGenerator;
  /** Why the Node clients were used, when h2load was wanted. */
  loadNote?: string;
  sentryWorkers: number;
  inProcess?: { certsPerS: number; source: string };
  levels: GrpcLevel[];
  /** The median storm (by time until all were issued) of `storms`. */
  storm?: StormResult;
  storms?: StormResult[];
  /** The same storms against bare node:http2 + TLS with a fixed reply (no signing), same worker count. */
  floorStorms?: StormResult[];
  /** The sentry's RSS (KiB, primary + workers) at rest after start-up and one call, and `settleMs` after the last storm. */
  memory?: { idleKiB: number; settledKiB: number; settleMs: number };
}

/**
 * The sentry's bundle, and for the storm floor a serving identity like the sentry's own: a P-256
 * key and an SVID `spiffe://localhost/ns/default/dapr-sentry` from the same issuer, served with its chain.
 */
export async function writeCredentials(dir: string): Promise<void> {
  const { bundle, signer } = createBenchSigner(GRPC_CASE.issuerKey);
  const texts = bundle.toTexts();
  writeFileSync(join(dir, 'ca.crt'), texts.ca);
  writeFileSync(join(dir, 'issuer.crt'), texts.issuerCert);
  writeFileSync(join(dir, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
  const key = generatePrivateKey('ecdsa-p256');
  const serving = await signer.sign({ publicKey: createPublicKey(key), spiffeId: SERVER_ID, dnsNames: [] });
  writeFileSync(join(dir, FLOOR_TLS.certFile), serving.chainPem);
  writeFileSync(join(dir, FLOOR_TLS.keyFile), privateKeyToPkcs8Pem(key), { mode: 0o600 });
}

async function inProcessCeiling(timing: TimingOptions, issueResults: readonly IssueMeasurement[] | undefined): Promise<{ certsPerS: number; source: string }> {
  const fromIssue = issueResults?.find((m) => m.csrKey === GRPC_CASE.csrKey && m.issuerKey === GRPC_CASE.issuerKey && m.inFlight === 16);
  if (fromIssue) return { certsPerS: fromIssue.wardenMedian, source: 'issue suite, 16 in flight' };
  const quick: TimingOptions = { runs: timing.runs, runMs: 1000, warmupMs: 500 };
  const [measured] = await measureIssueCase(GRPC_CASE, [{ name: '16 in flight', inFlight: 16 }], quick, new Map(), { floor: false });
  return { certsPerS: measured!.wardenMedian, source: 'measured here, 16 in flight' };
}

export async function runThroughput(base: BaseConfig, timing: TimingOptions, sentry: SentryProcess, ceiling: number): Promise<GrpcLevel[]> {
  const perLevelMs = timing.warmupMs + timing.runs * timing.runMs;
  const load = new LoadProcess({
    ...base, mode: 'throughput', levels: LEVELS, warmupMs: timing.warmupMs, runMs: timing.runMs, runs: timing.runs,
    serverPid: sentry.pid, callTimeoutMs: 10_000, maxLifetimeMs: LEVELS.length * perLevelMs + 30_000,
  });
  const messages = await load.finished;
  const runs = messages.filter((m) => m.type === 'run').map((m) => m['run'] as ThroughputRun);
  return LEVELS.map((inFlight) => {
    const mine = runs.filter((r) => r.inFlight === inFlight);
    const certsPerS = median(mine.map((r) => r.certsPerS));
    return {
      inFlight, connections: 1, runs: mine, certsPerS,
      p50Ms: median(mine.map((r) => r.p50Ms)), p99Ms: median(mine.map((r) => r.p99Ms)),
      serverCpu: median(mine.map((r) => r.serverCpu)), clientCpu: median(mine.map((r) => r.clientCpu)),
      ratio: certsPerS / ceiling, failures: mine.reduce((sum, r) => sum + r.failures, 0),
    };
  });
}

async function runStorm(base: BaseConfig, sentry: SentryProcess, storm: StormShape): Promise<StormResult> {
  const perProcess = Math.ceil(storm.clients / storm.processes);
  const loads = Array.from({ length: storm.processes }, (_, p) => new LoadProcess({
    ...base, mode: 'storm', transport: storm.transport, from: p * perProcess, count: Math.min(perProcess, storm.clients - p * perProcess),
    callTimeoutMs: 20_000, maxLifetimeMs: 90_000,
  }));
  try {
    await Promise.all(loads.map((l) => l.waitFor('ready')));
    const peakIsStormOnly = resetTreePeakRss(sentry.pid);
    const before = readTreeMemoryKiB(sentry.pid);
    const serverCpu0 = readTreeCpuSeconds(sentry.pid);
    const overflows0 = readListenOverflows();
    const goEpochMs = performance.timeOrigin + performance.now();
    for (const l of loads) l.send('go');
    const reports = (await Promise.all(loads.map((l) => l.waitFor('storm')))).map((m) => m['report'] as StormReport);
    const peak = readTreeMemoryKiB(sentry.pid).peak;
    const serverCpuSeconds = readTreeCpuSeconds(sentry.pid) - serverCpu0;
    const listenOverflows = readListenOverflows() - overflows0;
    await Promise.all(loads.map((l) => l.finished));
    const latencies = reports.flatMap((r) => r.latenciesMs);
    const failures: Record<string, number> = {};
    for (const r of reports) for (const [k, n] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + n;
    return {
      clients: storm.clients, processes: storm.processes, transport: storm.transport,
      totalMs: Math.max(...reports.map((r) => r.lastDoneEpochMs)) - goEpochMs,
      p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: Math.max(...latencies),
      issued: latencies.length, failures, serverRssBeforeKiB: before.rss, serverPeakRssKiB: peak, peakIsStormOnly,
      serverCpuSeconds, clientCpuSeconds: reports.reduce((sum, r) => sum + r.cpuSeconds, 0), listenOverflows,
    };
  } finally {
    for (const l of loads) l.child.kill('SIGKILL');
  }
}

export interface StormShape {
  clients: number;
  processes: number;
  transport: StormTransport;
}

export interface BaseConfig {
  target: string;
  caFile: string;
  serverId: string;
  csrFile: string;
}

export async function runGrpcSuite(opts: {
  timing: TimingOptions;
  issueResults?: readonly IssueMeasurement[] | undefined;
  storm?: StormShape;
  /** Wanted load generator (default h2load; the Node clients when h2load is not installed). */
  load?: LoadGenerator;
  /** `warden sentry --workers` (default 1, the sentry's own default). */
  sentryWorkers?: number;
  /** Wait this long after the last storm before reading the sentry's RSS again (default SETTLE_MS). */
  settleMs?: number;
  log: (line: string) => void;
}): Promise<GrpcSuiteResult> {
  const storm = opts.storm ?? { clients: STORM_CLIENTS, processes: STORM_PROCESSES, transport: STORM_TRANSPORT };
  const wanted = opts.load ?? 'h2load';
  const h2loadMissing = wanted === 'h2load' && findH2load() === undefined;
  const load: LoadGenerator = h2loadMissing ? 'node' : wanted;
  const result: GrpcSuiteResult = {
    available: false, csrKey: GRPC_CASE.csrKey, issuerKey: GRPC_CASE.issuerKey, timing: opts.timing, levels: [],
    load, sentryWorkers: opts.sentryWorkers ?? 1,
    ...(h2loadMissing ? { loadNote: 'h2load is not installed (apt-get install nghttp2-client): Node load clients used, which take CPU from the server' } : {}),
  };
  const { reason, help } = sentryUnavailable();
  if (reason) return { ...result, reason };

  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  const cleanup = onExit(removeDir);
  try {
    await writeCredentials(dir);
    const csrPems = generateCsrPool(GRPC_CASE.csrKey, Math.max(storm.clients, 1)).map((c) => c.pem);
    const csrFile = join(dir, 'csrs.json');
    writeFileSync(csrFile, JSON.stringify(csrPems));
    const bodyFile = join(dir, 'request.bin');
    writeRequestBody(bodyFile, loadRequest(csrPems[0]!, 0));
    result.inProcess = await inProcessCeiling(opts.timing, opts.issueResults);

    const sentry = await startSentryProcess(dir, help, { workers: result.sentryWorkers });
    result.sentryWorkers = sentry.workers;
    result.available = true;
    try {
      const base: BaseConfig = { target: `127.0.0.1:${sentry.port}`, caFile: join(dir, 'ca.crt'), serverId: SERVER_ID, csrFile };
      await verifyOneIssuance(base, csrPems[0]!);
      const idleKiB = readTreeMemoryKiB(sentry.pid).rss;
      opts.log(`  sentry pid ${sentry.pid} (${sentry.workers} worker${sentry.workers === 1 ? '' : 's'}) on 127.0.0.1:${sentry.port}; ${load} load; throughput at ${LEVELS.join(' and ')} in flight…`);
      const h2 = { sentry, dir, bodyFile, callTimeoutMs: 20_000 };
      result.levels = load === 'h2load'
        ? await runThroughputH2load(h2, LEVELS, opts.timing, result.inProcess.certsPerS)
        : await runThroughput(base, opts.timing, sentry, result.inProcess.certsPerS);
      sentry.assertRunning('the throughput runs');
      opts.log(`  ${STORM_RUNS} restart storms: ${storm.clients} clients (${load === 'h2load' ? 'h2load' : `${storm.transport} in ${storm.processes} processes`})…`);
      const storms: StormResult[] = [];
      for (let k = 0; k < STORM_RUNS; k++) {
        if (k > 0) await sleep(1000);
        storms.push(load === 'h2load' ? await runStormH2load(h2, storm.clients, k) : await runStorm(base, sentry, storm));
        sentry.assertRunning('the restart storm');
      }
      result.storms = storms;
      result.storm = [...storms].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(storms.length / 2)];
      const settleMs = opts.settleMs ?? SETTLE_MS;
      opts.log(`  waiting ${settleMs / 1000} s after the last storm for the sentry's memory to settle…`);
      await sleep(settleMs);
      sentry.assertRunning('the settle period');
      result.memory = { idleKiB, settledKiB: readTreeMemoryKiB(sentry.pid).rss, settleMs };
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- sentry output (last lines) ---\n${sentry.outputTail()}`, { cause: error });
    } finally {
      await sentry.stop();
    }
    if (load === 'h2load') {
      opts.log(`  floor: the same storms against bare node:http2 + TLS (${result.sentryWorkers} processes, fixed reply)…`);
      result.floorStorms = await runFloorStorms({ dir, bodyFile: join(dir, 'request.bin'), workers: result.sentryWorkers, clients: storm.clients, runs: STORM_RUNS, callTimeoutMs: 20_000 });
    }
  } finally {
    removeDir();
    cleanup.dispose();
  }
  return result;
}

/** One call through grpc-js checked in full before any load: chain, SPIFFE ID, the CSR's key. */
export async function verifyOneIssuance(base: BaseConfig, csrPem: string): Promise<void> {
  const caPem = readFileSync(base.caFile);
  const client = newGrpcClient({ target: base.target, caPem, serverId: base.serverId, callTimeoutMs: 10_000 });
  try {
    await checkOneIssuance(client, 10_000, caPem, csrPem);
  } finally {
    client.close();
  }
}

/** The floor storm beside the sentry's: what TLS + HTTP/2 in Node cost alone here, and the ratio. */
function floorLines(r: GrpcSuiteResult, s: StormResult): string[] {
  const floors = r.floorStorms;
  if (!floors || floors.length === 0) return [];
  const floor = [...floors].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(floors.length / 2)]!;
  return [
    `    floor (same h2load storm, bare node:http2 + TLS in ${r.sentryWorkers} processes, fixed reply, no signing): ${int(floor.totalMs)} ms ` +
      `(${floors.map((x) => int(x.totalMs)).join(', ')}), server ${int((floor.serverCpuSeconds * 1e6) / floor.clients)} µs per client; ratio floor/sentry ${fixed(floor.totalMs / s.totalMs, 2)}`,
    peakLine(r.storms ?? [s], floors),
  ];
}

/** Highest storm peak RSS of the sentry over the floor server's, same storms, same run. */
function peakLine(storms: readonly StormResult[], floors: readonly StormResult[]): string {
  const sentryPeak = Math.max(...storms.map((x) => x.serverPeakRssKiB));
  const floorPeak = Math.max(...floors.map((x) => x.serverPeakRssKiB));
  const ratio = sentryPeak / floorPeak;
  return `    peak RSS in the storms (highest of each): sentry ${fixed(sentryPeak / 1024, 0)} MiB, floor ${fixed(floorPeak / 1024, 0)} MiB; ` +
    `ratio sentry/floor ${fixed(ratio, 2)} — target ≤ ${PEAK_OVER_FLOOR_TARGET}: ${verdict(ratio <= PEAK_OVER_FLOOR_TARGET)}`;
}

/** RSS after the settle delay over RSS at rest before any load. */
function settledLine(memory: NonNullable<GrpcSuiteResult['memory']>): string {
  const ratio = memory.settledKiB / memory.idleKiB;
  return `    RSS at rest ${fixed(memory.idleKiB / 1024, 0)} MiB (after start-up and one call), ${memory.settleMs / 1000} s after the last storm ` +
    `${fixed(memory.settledKiB / 1024, 0)} MiB; ratio ${fixed(ratio, 2)} — target ≤ ${SETTLED_OVER_IDLE_TARGET}: ${verdict(ratio <= SETTLED_OVER_IDLE_TARGET)}`;
}

const STORM_CLIENT_TEXT: Record<StormResult['transport'], string> = {
  h2load: 'h2load: TLS + HTTP/2 in C, one gRPC-framed request per connection',
  http2: 'node:http2 session, gRPC framed by hand',
  'grpc-js': 'grpc-js channel',
};

export function formatGrpcReport(r: GrpcSuiteResult): string {
  const loadText = r.load === 'h2load' ? 'h2load' : 'Node clients';
  const title = `grpc — SignCertificate over TLS to \`warden sentry\` (own process, ${r.sentryWorkers} worker${r.sentryWorkers === 1 ? '' : 's'}), load from ${loadText} in separate processes`;
  if (!r.available) return `${title}\n  SKIPPED: sentry not available: ${r.reason ?? 'unknown reason'}`;
  const t = r.timing;
  const rows = r.levels.map((l) => [
    String(l.inFlight), String(l.connections), int(l.certsPerS), fixed(l.p50Ms, 1), fixed(l.p99Ms, 1), `${fixed(l.serverCpu * 100, 0)} %`, `${fixed(l.clientCpu * 100, 0)} %`,
    int((l.serverCpu * 1e6) / l.certsPerS), int(r.inProcess?.certsPerS ?? Number.NaN), fixed(l.ratio, 2),
    verdict(l.certsPerS >= TARGET_CERTS_PER_S), String(l.failures), runsText(l.runs.map((x) => x.certsPerS)),
  ]);
  const lines = [
    title,
    ...(r.loadNote ? [`  NOTE: ${r.loadNote}`] : []),
    `  ${KEY_LABEL[r.csrKey as 'ed25519']} CSRs, ${KEY_LABEL[r.issuerKey as 'ed25519']} issuer; ${r.load === 'h2load' ? `calls spread over up to ${THROUGHPUT_CONNECTIONS} TLS connections; the new sentry first gets ${SERVER_WARMUP_S + 1} s of unmeasured load` : 'one TLS channel'}; ${t.runs} × ${t.runMs / 1000} s per level after ${t.warmupMs / 1000} s warm-up; medians.`,
    ...(r.load === 'h2load' ? ['  h2load cannot read gRPC trailers: every run is checked against the sentry\'s own sign success/failure counters, and one call was verified in full first.'] : []),
    `  ratio = certs/s over in-process issuance (${r.inProcess?.source ?? '—'}); target ≥ ${int(TARGET_CERTS_PER_S)} certs/s.`,
    '',
    formatTable(
      ['in flight', 'conns', 'certs/s', 'p50 ms', 'p99 ms', 'server CPU', 'client CPU', 'server µs/cert', 'in-process/s', 'ratio', 'target', 'failed', 'runs'],
      rows,
      new Set([12]),
    ),
  ];
  for (const l of r.levels) {
    const sample = l.runs.find((x) => x.firstFailure)?.firstFailure;
    if (sample) lines.push(`  ${l.inFlight} in flight: ${l.failures} calls failed, e.g. ${sample}`);
  }
  const s = r.storm;
  if (s) {
    const storms = r.storms ?? [s];
    const failed = storms.reduce((sum, x) => sum + Object.values(x.failures).reduce((a, b) => a + b, 0), 0);
    const pass = s.totalMs < STORM_TARGET_MS && failed === 0;
    lines.push(
      '',
      `  restart storm: ${int(s.clients)} clients (${s.transport === 'h2load' ? 'h2load' : `${s.processes} load processes`}), each its own TLS connection (${STORM_CLIENT_TEXT[s.transport]}), one request each, all at once`,
      `    all issued in ${int(s.totalMs)} ms${storms.length > 1 ? ` (median of ${storms.length} storms: ${storms.map((x) => int(x.totalMs)).join(', ')} ms; figures below are the median storm's)` : ''} — target < ${int(STORM_TARGET_MS)} ms with 0 failures in every storm: ${verdict(pass)}`,
      `    issued ${int(s.issued)}, failed ${failed}${storms.length > 1 ? ` (all storms)` : ""}; latency p50 ${int(s.p50Ms)} ms, p99 ${int(s.p99Ms)} ms, max ${int(s.maxMs)} ms`,
      ...floorLines(r, s),
      `    CPU until the last answer: server ${fixed(s.serverCpuSeconds, 2)} s (${int((s.serverCpuSeconds * 1e6) / s.clients)} µs per client), load generator ${fixed(s.clientCpuSeconds, 2)} s`,
      `    listen-queue overflows (kernel TcpExt ListenOverflows): ${int(s.listenOverflows)}${s.listenOverflows > 0 ? ' — dropped SYNs, retried by the clients after 1 s, 3 s, 7 s, …' : ''}`,
      `    server RSS${r.sentryWorkers > 1 ? ' (primary + workers, peaks summed)' : ''} ${fixed(s.serverRssBeforeKiB / 1024, 0)} MiB before, peak ${fixed(s.serverPeakRssKiB / 1024, 0)} MiB${s.peakIsStormOnly ? ' during the storm' : ' over the process lifetime (VmHWM could not be reset)'}`,
      ...(r.memory ? [settledLine(r.memory)] : []),
    );
    for (const [why, n] of Object.entries(s.failures)) lines.push(`    failure × ${n}: ${why}`);
  }
  return lines.join('\n');
}
