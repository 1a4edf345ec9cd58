/**
 * The load process of the `grpc` suite (run as its own process by grpc.ts, never imported by it):
 *
 *   node --import tsx bench/load-client.ts '<LoadConfig JSON>'
 *
 * `throughput`: one TLS channel, N SignCertificate calls in flight for a fixed time per run.
 * `storm`: `count` clients, each with its own TLS connection (storm-calls.ts), prepared, then on
 * "go" (a line on stdin) each requests one certificate at once.
 *
 * The server is authenticated by SPIFFE ID against the trust anchors, as daprd does. Results are
 * JSON lines on stdout. The process ends by itself: a watchdog exits after `maxLifetimeMs`, and it
 * exits when its parent (the benchmark) is gone.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { quantile } from './measure.js';
import { readTreeCpuSeconds } from './proc.js';
import { checkOneIssuance, createStormClient, grpcCall, loadRequest as request, newGrpcClient, type StormTransport } from './storm-calls.js';

interface CommonConfig {
  target: string;
  caFile: string;
  serverId: string;
  /** JSON array of CSR PEMs. */
  csrFile: string;
  maxLifetimeMs: number;
  callTimeoutMs: number;
}

export interface ThroughputConfig extends CommonConfig {
  mode: 'throughput';
  levels: number[];
  warmupMs: number;
  runMs: number;
  runs: number;
  serverPid: number;
}

export interface StormConfig extends CommonConfig {
  mode: 'storm';
  /** Index of this process's first CSR in the file, and how many clients it runs. */
  from: number;
  count: number;
  transport: StormTransport;
}

export type LoadConfig = ThroughputConfig | StormConfig;

export interface ThroughputRun {
  inFlight: number;
  certsPerS: number;
  issued: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time per elapsed time (1 = one core busy). */
  serverCpu: number;
  clientCpu: number;
  /** Why the first failed call failed, when any did. */
  firstFailure?: string;
}

export interface StormReport {
  /** Epoch ms (performance.timeOrigin based, comparable across processes). */
  goEpochMs: number;
  lastDoneEpochMs: number;
  latenciesMs: number[];
  issued: number;
  failures: Record<string, number>;
  /** CPU seconds this load process spent from "go" to its last answer. */
  cpuSeconds: number;
}

const emit = (message: object): void => void process.stdout.write(`${JSON.stringify(message)}\n`);
const epochMs = (): number => performance.timeOrigin + performance.now();

/** Groups failures: the status and the message without its timings (grpc-js puts durations in it). */
function failureKey(error: unknown): string {
  const e = error as { code?: unknown; details?: unknown; message?: unknown };
  const text = typeof e.code === 'number'
    ? `${grpc.status[e.code] ?? e.code}: ${String(e.details ?? '')}`
    : `${typeof e.code === 'string' ? `${e.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`;
  return text.replace(/\d+(\.\d+)?s\b/g, 'Ns').replace(/,[^,]*: Ns/g, '').slice(0, 160);
}

async function runThroughput(config: ThroughputConfig, caPem: Buffer, csrs: string[]): Promise<void> {
  const client = newGrpcClient({ ...config, caPem });
  await checkOneIssuance(client, config.callTimeoutMs, caPem, csrs[0]!);
  const messages = csrs.map((pem, n) => request(pem, n));
  let next = 0;
  const loop = async (inFlight: number, durationMs: number, latencies: number[] | undefined): Promise<{ issued: number; failures: number; firstFailure?: string }> => {
    const deadline = performance.now() + durationMs;
    let issued = 0;
    let failures = 0;
    let firstFailure: string | undefined;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await grpcCall(client, messages[next++ % messages.length]!, config.callTimeoutMs);
          issued++;
          latencies?.push(performance.now() - t0);
        } catch (error) {
          failures++;
          firstFailure ??= failureKey(error);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return { issued, failures, ...(firstFailure ? { firstFailure } : {}) };
  };
  for (const inFlight of config.levels) {
    await loop(inFlight, config.warmupMs, undefined);
    for (let r = 0; r < config.runs; r++) {
      const latencies: number[] = [];
      const server0 = readTreeCpuSeconds(config.serverPid);
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      const { issued, failures, firstFailure } = await loop(inFlight, config.runMs, latencies);
      const elapsedS = (performance.now() - t0) / 1000;
      const clientCpu = process.cpuUsage(client0);
      const run: ThroughputRun = {
        inFlight, issued, failures, certsPerS: issued / elapsedS,
        p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99),
        serverCpu: (readTreeCpuSeconds(config.serverPid) - server0) / elapsedS,
        clientCpu: (clientCpu.user + clientCpu.system) / 1e6 / elapsedS,
        ...(firstFailure ? { firstFailure } : {}),
      };
      emit({ type: 'run', run });
    }
  }
  client.close();
}

async function runStorm(config: StormConfig, caPem: Buffer, csrs: string[]): Promise<void> {
  const mine = csrs.slice(config.from, config.from + config.count);
  if (mine.length !== config.count) throw new Error(`storm: only ${mine.length} CSRs for ${config.count} clients`);
  const clients = mine.map((pem, k) => createStormClient(config.transport, { ...config, caPem }, request(pem, config.from + k)));
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.on('line', (line) => line.trim() === 'go' && resolve()));
  emit({ type: 'ready' });
  await go;
  const goEpochMs = epochMs();
  const cpu0 = process.cpuUsage();
  const latenciesMs: number[] = [];
  const failures: Record<string, number> = {};
  let lastDoneEpochMs = goEpochMs;
  await Promise.all(clients.map(async (client) => {
    const t0 = performance.now();
    try {
      await client.call();
      latenciesMs.push(performance.now() - t0);
    } catch (error) {
      const key = failureKey(error);
      failures[key] = (failures[key] ?? 0) + 1;
    }
    lastDoneEpochMs = Math.max(lastDoneEpochMs, epochMs());
  }));
  const cpu = process.cpuUsage(cpu0);
  const report: StormReport = { goEpochMs, lastDoneEpochMs, latenciesMs, issued: latenciesMs.length, failures, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  emit({ type: 'storm', report });
  lines.close();
  for (const client of clients) client.close();
}

/** Exits when the parent is gone (re-parented) or the lifetime is over, whichever comes first. */
function startWatchdog(maxLifetimeMs: number): void {
  const parent = process.ppid;
  setTimeout(() => {
    emit({ type: 'error', message: `load client gave up after ${maxLifetimeMs} ms` });
    process.exit(3);
  }, maxLifetimeMs).unref();
  setInterval(() => {
    let current = parent;
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      current = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      // no /proc: rely on the lifetime limit
    }
    if (current !== parent) process.exit(2);
  }, 500).unref();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as LoadConfig;
  startWatchdog(config.maxLifetimeMs);
  const caPem = readFileSync(config.caFile);
  const csrs = JSON.parse(readFileSync(config.csrFile, 'utf8')) as string[];
  if (config.mode === 'throughput') await runThroughput(config, caPem, csrs);
  else await runStorm(config, caPem, csrs);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    emit({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
