/**
 * `npm run bench -- grpc --target dapr`: the same SignCertificate load against Dapr's own sentry
 * (the binary named by DAPR_SENTRY) and against `warden sentry`, in the same run, one after the
 * other so they never compete for the CPUs: the same bundle (Ed25519 issuer), the same P-256 CSRs,
 * the same Configuration (24h TTL, 15m skew), the same load generator. Figures are printed for
 * each and as ratios warden / Dapr; without DAPR_SENTRY the comparison is skipped, saying so.
 *
 * Measured per target: throughput and latency at 16 and 64 calls in flight (h2load, every run
 * checked against the sentry's own `dapr_sentry_cert_sign_*_total` counters, which both expose),
 * RSS at rest after start-up and one verified call, and one restart storm (time until all are
 * issued, peak RSS).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { generateCsrPool, KEY_LABEL } from './csr-pool.js';
import { onExit } from './children.js';
import { daprSentryUnavailable, startDaprSentryProcess, writeBenchSentryConfig } from './dapr-sentry-process.js';
import { fixed, formatTable, int, runsText } from './format.js';
import { GRPC_CASE, LEVELS, runThroughput, SERVER_ID, verifyOneIssuance, writeCredentials, type BaseConfig, type GrpcLevel, type LoadGenerator, type StormResult } from './grpc.js';
import { runStormH2load, runThroughputH2load } from './grpc-h2load.js';
import { findH2load, writeRequestBody } from './h2load.js';
import type { TimingOptions } from './issue.js';
import { sleep } from './measure.js';
import { readTreeMemoryKiB } from './proc.js';
import { REPO_ROOT, sentryUnavailable, startSentryProcess, type SentryProcess } from './sentry-process.js';
import { loadRequest } from './storm-calls.js';

export type TargetName = 'warden' | 'dapr';

/** Storm size for this comparison unless --storm-clients says otherwise: small enough for a loaded 2-core machine. */
export const DAPR_STORM_CLIENTS = 500;

export interface TargetResult {
  target: TargetName;
  /** What runs: "warden sentry 0.1.0", "Dapr sentry 1.18.3". */
  label: string;
  levels: GrpcLevel[];
  /** RSS (KiB) after start-up and one verified call, and after the throughput runs. */
  idleKiB: number;
  afterThroughputKiB: number;
  storm?: StormResult;
}

export interface DaprComparison {
  available: boolean;
  reason?: string;
  load: LoadGenerator;
  timing: TimingOptions;
  stormClients: number;
  targets: TargetResult[];
}

function versionOf(sentry: SentryProcess, pattern: RegExp): string {
  return pattern.exec(sentry.outputTail())?.[1] ?? 'unknown version';
}

export async function runGrpcDaprComparison(opts: { timing: TimingOptions; stormClients: number; load?: LoadGenerator; log: (line: string) => void }): Promise<DaprComparison> {
  const load: LoadGenerator = (opts.load ?? 'h2load') === 'h2load' && findH2load() !== undefined ? 'h2load' : 'node';
  const result: DaprComparison = { available: false, load, timing: opts.timing, stormClients: opts.stormClients, targets: [] };
  const daprReason = daprSentryUnavailable();
  if (daprReason) return { ...result, reason: daprReason };
  const { reason, help } = sentryUnavailable();
  if (reason) return { ...result, reason: `warden sentry: ${reason}` };

  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-dapr-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  const cleanup = onExit(removeDir);
  try {
    // The bundle in a directory of its own: warden sentry watches its credentials directory, and
    // h2load's log files in it would make it re-check the bundle every 2 s while it is measured.
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    await writeCredentials(certs);
    const config = writeBenchSentryConfig(dir);
    const csrPems = generateCsrPool(GRPC_CASE.csrKey, Math.max(opts.stormClients, 1)).map((c) => c.pem);
    const csrFile = join(dir, 'csrs.json');
    writeFileSync(csrFile, JSON.stringify(csrPems));
    const bodyFile = join(dir, 'request.bin');
    writeRequestBody(bodyFile, loadRequest(csrPems[0]!, 0));
    result.available = true;
    for (const target of ['warden', 'dapr'] as const) {
      opts.log(`grpc --target dapr: ${target === 'warden' ? 'warden sentry' : "Dapr's sentry"}: throughput at ${LEVELS.join(' and ')} in flight, then a ${opts.stormClients}-client storm (${load} load)…`);
      const sentry = target === 'warden'
        ? await startSentryProcess(certs, help, { args: ['--config', config, '--trust-domain', 'localhost'] })
        : await startDaprSentryProcess(certs, config);
      try {
        const base: BaseConfig = { target: `127.0.0.1:${sentry.port}`, caFile: join(certs, 'ca.crt'), serverId: SERVER_ID, csrFile };
        await verifyOneIssuance(base, csrPems[0]!);
        const idleKiB = readTreeMemoryKiB(sentry.pid).rss;
        const h2 = { sentry, dir, bodyFile, callTimeoutMs: 20_000 };
        // The ceiling argument only feeds a ratio this report does not print.
        const levels = load === 'h2load' ? await runThroughputH2load(h2, LEVELS, opts.timing, Number.NaN) : await runThroughput(base, opts.timing, sentry, Number.NaN);
        sentry.assertRunning('the throughput runs');
        const afterThroughputKiB = readTreeMemoryKiB(sentry.pid).rss;
        await sleep(1000);
        const storm = load === 'h2load' ? await runStormH2load(h2, opts.stormClients, 0) : undefined;
        sentry.assertRunning('the restart storm');
        const label = target === 'warden'
          ? `warden sentry ${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}`
          : `Dapr sentry ${versionOf(sentry, /version (\S+) -- commit/)}`;
        result.targets.push({ target, label, levels, idleKiB, afterThroughputKiB, ...(storm ? { storm } : {}) });
      } catch (error) {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- ${target} sentry output (last lines) ---\n${sentry.outputTail()}`, { cause: error });
      } finally {
        await sentry.stop();
      }
    }
  } finally {
    removeDir();
    cleanup.dispose();
  }
  return result;
}

const ratio = (w: number, d: number, digits = 2): string => fixed(w / d, digits);

export function formatDaprComparison(r: DaprComparison): string {
  const title = "grpc --target dapr — SignCertificate over TLS: Dapr's own sentry and warden sentry, same bundle, CSRs, Configuration and load, one after the other";
  if (!r.available) return `${title}\n  SKIPPED: ${r.reason ?? 'unknown reason'}`;
  const w = r.targets.find((t) => t.target === 'warden')!;
  const d = r.targets.find((t) => t.target === 'dapr')!;
  const rows: string[][] = [];
  for (const [k, level] of w.levels.entries()) {
    const dl = d.levels[k]!;
    for (const [t, l] of [[w, level], [d, dl]] as const) {
      rows.push([String(l.inFlight), t.label, int(l.certsPerS), fixed(l.p50Ms, 1), fixed(l.p99Ms, 1), `${fixed(l.serverCpu * 100, 0)} %`,
        int((l.serverCpu * 1e6) / l.certsPerS), String(l.failures), runsText(l.runs.map((x) => x.certsPerS))]);
    }
    rows.push([String(level.inFlight), 'ratio warden / Dapr', ratio(level.certsPerS, dl.certsPerS), ratio(level.p50Ms, dl.p50Ms), ratio(level.p99Ms, dl.p99Ms), '',
      ratio(level.serverCpu / level.certsPerS, dl.serverCpu / dl.certsPerS), '', '']);
  }
  const mib = (kib: number): string => fixed(kib / 1024, 0);
  const lines = [
    title,
    `  ${KEY_LABEL[GRPC_CASE.csrKey as 'ed25519']} CSRs, ${KEY_LABEL[GRPC_CASE.issuerKey as 'ed25519']} issuer; ${r.load === 'h2load' ? 'h2load, calls over up to 16 TLS connections, every run checked against the sentry\'s own sign counters' : 'Node load clients (one grpc-js channel)'}; ` +
      `${r.timing.runs} × ${r.timing.runMs / 1000} s per level after ${r.timing.warmupMs / 1000} s warm-up; medians. Ratios > 1 mean warden has more (certs/s) or takes more (latency, CPU).`,
    '',
    formatTable(['in flight', 'sentry', 'certs/s', 'p50 ms', 'p99 ms', 'server CPU', 'server µs/cert', 'failed', 'runs'], rows, new Set([1, 8])),
    '',
    `  RSS at rest (start-up + one call): ${w.label} ${mib(w.idleKiB)} MiB, ${d.label} ${mib(d.idleKiB)} MiB; ratio ${ratio(w.idleKiB, d.idleKiB)}`,
    `  RSS after the throughput runs:     ${w.label} ${mib(w.afterThroughputKiB)} MiB, ${d.label} ${mib(d.afterThroughputKiB)} MiB; ratio ${ratio(w.afterThroughputKiB, d.afterThroughputKiB)}`,
  ];
  if (w.storm && d.storm) {
    const failed = (s: StormResult): number => Object.values(s.failures).reduce((a, b) => a + b, 0);
    lines.push(
      `  restart storm, ${int(r.stormClients)} clients each on its own TLS connection (h2load): ${w.label} all issued in ${int(w.storm.totalMs)} ms (p99 ${int(w.storm.p99Ms)} ms, ${failed(w.storm)} failed), ` +
        `${d.label} in ${int(d.storm.totalMs)} ms (p99 ${int(d.storm.p99Ms)} ms, ${failed(d.storm)} failed); ratio of times ${ratio(w.storm.totalMs, d.storm.totalMs)}`,
      `  peak RSS in the storm: ${w.label} ${mib(w.storm.serverPeakRssKiB)} MiB, ${d.label} ${mib(d.storm.serverPeakRssKiB)} MiB; ratio ${ratio(w.storm.serverPeakRssKiB, d.storm.serverPeakRssKiB)}` +
        `; server CPU per client ${int((w.storm.serverCpuSeconds * 1e6) / w.storm.clients)} µs vs ${int((d.storm.serverCpuSeconds * 1e6) / d.storm.clients)} µs`,
    );
  }
  return lines.join('\n');
}
