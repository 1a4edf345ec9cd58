/**
 * The `grpc` suite's two measurements with h2load as the load generator (bench/h2load.ts):
 * throughput at N calls in flight over several connections, and the restart storm. Every figure is
 * checked against the sentry's own counters: each request h2load sent must be a signed certificate.
 */
import { get } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnChild, stopChild } from './children.js';
import { runH2load } from './h2load.js';
import { median, quantile, sleep } from './measure.js';
import { readListenOverflows, readTreeCpuSeconds, readTreeMemoryKiB, resetTreePeakRss } from './proc.js';
import { REPO_ROOT, type SentryProcess } from './sentry-process.js';
import type { ThroughputRun } from './load-client.js';
import type { GrpcLevel, StormResult } from './grpc.js';
import type { TimingOptions } from './issue.js';

/** Connections the in-flight calls are spread over (up to one per call): sidecars each hold their own. */
export const THROUGHPUT_CONNECTIONS = 16;

export interface H2loadBase {
  sentry: SentryProcess;
  dir: string;
  bodyFile: string;
  callTimeoutMs: number;
}

/** `dapr_sentry_cert_sign_success_total` and `…_failure_total` as the sentry reports them now. */
export async function readSignCounters(metricsPort: number): Promise<{ success: number; failure: number }> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port: metricsPort, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => void (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('metrics request timed out')));
    req.on('error', reject);
  });
  const sum = (name: string): number => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))]
    .reduce((total, m) => total + Number(m[1]), 0);
  return { success: sum('dapr_sentry_cert_sign_success_total'), failure: sum('dapr_sentry_cert_sign_failure_total') };
}

/** Throws unless the server signed at least `expected` certificates and refused none since `before`. */
async function assertAllSigned(base: H2loadBase, before: { success: number; failure: number }, expected: number, what: string): Promise<void> {
  const after = await readSignCounters(base.sentry.metricsPort);
  const failed = after.failure - before.failure;
  const signed = after.success - before.success;
  if (failed > 0 || signed < expected) {
    throw new Error(`${what}: the sentry counted ${signed} certificates signed and ${failed} refused for ${expected} requests`);
  }
}

/** Load before the first level, unmeasured: the freshly started workers' JIT and heaps warm up (a sentry runs for days). */
export const SERVER_WARMUP_S = 3;

export async function runThroughputH2load(base: H2loadBase, levels: readonly number[], timing: TimingOptions, ceiling: number): Promise<GrpcLevel[]> {
  const results: GrpcLevel[] = [];
  await runH2load({
    port: base.sentry.port, bodyFile: base.bodyFile, logFile: join(base.dir, 'h2load-server-warmup.tsv'),
    clients: THROUGHPUT_CONNECTIONS, streamsPerClient: 1, durationS: SERVER_WARMUP_S, warmupS: 1, timeoutMs: base.callTimeoutMs,
  });
  for (const inFlight of levels) {
    const clients = Math.min(inFlight, THROUGHPUT_CONNECTIONS);
    const runs: ThroughputRun[] = [];
    for (let r = 0; r < timing.runs; r++) {
      const before = await readSignCounters(base.sentry.metricsPort);
      let server0 = Number.NaN;
      let t0 = 0;
      const run = await runH2load({
        port: base.sentry.port, bodyFile: base.bodyFile, logFile: join(base.dir, `h2load-${inFlight}-${r}.tsv`),
        clients, streamsPerClient: Math.ceil(inFlight / clients),
        durationS: timing.runMs / 1000, warmupS: Math.max(1, Math.round(timing.warmupMs / 1000)), timeoutMs: base.callTimeoutMs,
        onMeasuring: () => {
          server0 = readTreeCpuSeconds(base.sentry.pid);
          t0 = performance.now();
        },
      });
      const elapsedS = (performance.now() - t0) / 1000;
      const serverCpu = (readTreeCpuSeconds(base.sentry.pid) - server0) / elapsedS;
      await assertAllSigned(base, before, run.succeeded, `${inFlight} in flight`);
      const failures = run.done - run.succeeded + run.errored + run.timeout;
      runs.push({
        inFlight, issued: run.succeeded, failures, certsPerS: run.succeeded / (timing.runMs / 1000),
        p50Ms: quantile(run.latenciesMs, 0.5), p99Ms: quantile(run.latenciesMs, 0.99),
        serverCpu, clientCpu: run.cpuSeconds / (timing.runMs / 1000 + Math.max(1, Math.round(timing.warmupMs / 1000))),
        ...(failures > 0 ? { firstFailure: `h2load: ${run.failed} failed, ${run.errored} errored, ${run.timeout} timed out` } : {}),
      });
    }
    const certsPerS = median(runs.map((x) => x.certsPerS));
    results.push({
      inFlight, connections: clients, runs, certsPerS,
      p50Ms: median(runs.map((x) => x.p50Ms)), p99Ms: median(runs.map((x) => x.p99Ms)),
      serverCpu: median(runs.map((x) => x.serverCpu)), clientCpu: median(runs.map((x) => x.clientCpu)),
      ratio: certsPerS / ceiling, failures: runs.reduce((sum, x) => sum + x.failures, 0),
    });
  }
  return results;
}

export async function runStormH2load(base: H2loadBase, clients: number, index = 0): Promise<StormResult> {
  const before = await readSignCounters(base.sentry.metricsPort);
  const result = await stormOnce({ pid: base.sentry.pid, port: base.sentry.port, dir: base.dir, bodyFile: base.bodyFile, callTimeoutMs: base.callTimeoutMs, name: `storm-${index}` }, clients);
  await assertAllSigned(base, before, clients, 'restart storm');
  return result;
}

/** Key and chain files (in the bench directory) the floor server presents. */
export const FLOOR_TLS = { keyFile: 'floor.key', certFile: 'floor.crt' };

/** The restart storm against bench/support/http2-floor-server.mjs, `runs` times. */
export async function runFloorStorms(o: { dir: string; bodyFile: string; workers: number; clients: number; runs: number; callTimeoutMs: number }): Promise<StormResult[]> {
  const config = { workers: o.workers, keyFile: join(o.dir, FLOOR_TLS.keyFile), certFile: join(o.dir, FLOOR_TLS.certFile), replyBytes: 1660 };
  const child = spawnChild(process.execPath, ['--import', join(REPO_ROOT, 'bench', 'support', 'orphan-guard.mjs'), join(REPO_ROOT, 'bench', 'support', 'http2-floor-server.mjs'), JSON.stringify(config)], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the floor server did not start within 20 s')), 20_000);
      child.once('exit', (code) => reject(new Error(`the floor server exited (${code})`)));
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
    const storms: StormResult[] = [];
    // One storm first to warm it up, as the sentry was by the throughput runs.
    await stormOnce({ pid: child.pid!, port, dir: o.dir, bodyFile: o.bodyFile, callTimeoutMs: o.callTimeoutMs, name: 'floor-warmup' }, o.clients);
    for (let k = 0; k < o.runs; k++) {
      await sleep(1000);
      storms.push(await stormOnce({ pid: child.pid!, port, dir: o.dir, bodyFile: o.bodyFile, callTimeoutMs: o.callTimeoutMs, name: `floor-${k}` }, o.clients));
    }
    return storms;
  } finally {
    await stopChild(child, 2000);
  }
}

interface StormTarget {
  pid: number;
  port: number;
  dir: string;
  bodyFile: string;
  callTimeoutMs: number;
  name: string;
}

async function stormOnce(t: StormTarget, clients: number): Promise<StormResult> {
  const pid = t.pid;
  const peakIsStormOnly = resetTreePeakRss(pid);
  const memoryBefore = readTreeMemoryKiB(pid);
  const serverCpu0 = readTreeCpuSeconds(pid);
  const overflows0 = readListenOverflows();
  let serverCpuSeconds = Number.NaN;
  let peak = Number.NaN;
  const run = await runH2load({
    port: t.port, bodyFile: t.bodyFile, logFile: join(t.dir, `h2load-${t.name}.tsv`),
    clients, streamsPerClient: 1, requests: clients, timeoutMs: t.callTimeoutMs,
  });
  // Read at once: the workers are idle again, but their peak and CPU are what the storm left.
  serverCpuSeconds = readTreeCpuSeconds(pid) - serverCpu0;
  peak = readTreeMemoryKiB(pid).peak;
  const sinceGo = run.endsEpochMs.map((end) => end - run.startEpochMs);
  if (run.endsEpochMs.length !== run.done) throw new Error(`h2load logged ${run.endsEpochMs.length} requests but counted ${run.done} done`);
  const failed = run.done - run.succeeded + (clients - run.done);
  return {
    clients, processes: 1, transport: 'h2load',
    totalMs: Math.max(...sinceGo), p50Ms: quantile(sinceGo, 0.5), p99Ms: quantile(sinceGo, 0.99), maxMs: Math.max(...sinceGo),
    issued: run.succeeded, failures: failed > 0 ? { [`h2load: ${run.failed} failed, ${run.errored} errored, ${run.timeout} timed out`]: failed } : {},
    serverRssBeforeKiB: memoryBefore.rss, serverPeakRssKiB: peak, peakIsStormOnly,
    serverCpuSeconds, clientCpuSeconds: run.cpuSeconds, listenOverflows: readListenOverflows() - overflows0,
  };
}
