/**
 * Benchmark `npm run bench -- fleet`: `warden fleet`'s and `warden monitor`'s reading side
 * (src/fleet, src/monitor) in this process against 50 Kubernetes API test servers in a child
 * process (bench/fleet-servers.ts), one of which holds every request forever.
 *
 * 1. fleet: first the floor, one read of the 49 that answer (no deadline in the way); then the
 *    per-target timeout T is set to 2 × that floor (at least 2 s), so the answering ones fit in it
 *    on however loaded a machine, and all 50 are read under T. Printed: wall / T (≈ 1: the hanging
 *    cluster costs its timeout and nothing more; read one after another it would be T plus 49 reads,
 *    and 50 × T if every cluster hung).
 * 2. monitor: FleetMonitor watching 50 that answer for `intervals` reads back to back (default 12,
 *    FLEET_BENCH_INTERVALS; the interval's sleep returns at once), with the heap collected after
 *    each read and one scrape rendered: RSS, heap and CPU per interval, the last intervals against
 *    the first ones (flat ≈ 1), and the fewest healthy rows in any interval.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { systemClock } from '../src/core/clock.js';
import { readFleet, resolveTargets, type TargetReader } from '../src/fleet/index.js';
import { FleetMetrics } from '../src/monitor/metrics.js';
import { FleetMonitor } from '../src/monitor/monitor.js';
import { spawnChild, stopChild } from './children.js';
import { fixed, formatTable, int } from './format.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface FleetBenchOptions {
  log: (line: string) => void;
  targets?: number;
  intervals?: number;
}

export interface FleetBenchResult {
  targets: number;
  timeoutMs: number;
  wallMs: number;
  floorMs: number;
  /** The same 49 read again over open connections. */
  warmMs: number;
  floorHealthy: number;
  rows: { healthy: number; timedOut: number };
  monitor: {
    intervals: number; timeoutMs: number; samples: IntervalSample[]; rssRatio: number; heapRatio: number; cpuRatio: number; wallRatio: number;
    fewestHealthy: number;
  };
}

interface IntervalSample {
  rssMb: number;
  heapMb: number;
  cpuMs: number;
  wallMs: number;
}

export async function runFleetBench(opts: FleetBenchOptions): Promise<FleetBenchResult> {
  const targets = opts.targets ?? 50;
  const intervals = opts.intervals ?? Number(process.env.FLEET_BENCH_INTERVALS ?? 12);
  opts.log(`fleet: starting ${targets} Kubernetes API test servers (1 hanging) in a child process…`);
  // One server more than the fleet: the fleet read takes 49 answering + the hanging one, the
  // monitor the 50 that answer (a hanging one would only stretch each interval to its timeout).
  const child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'fleet-servers.ts'), '--count', String(targets + 1), '--hanging', '1'], {
    cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const first = await new Promise<string>((resolveLine, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', resolveLine);
      child.once('exit', (code) => reject(new Error(`fleet-servers exited ${code}`)));
    });
    const { kubeconfig, hanging } = JSON.parse(first) as { kubeconfig: string; hanging: string[] };
    const open = () => resolveTargets({ kubeconfigs: [kubeconfig], issuerCredentials: [], env: {}, cwd: REPO });

    opts.log('fleet: the floor (the 49 that answer), then all 50 with one hanging…');
    const fleet = async () => {
      const readers = await open();
      return [...readers.filter((r) => !hanging.includes(r.name)).slice(0, targets - 1), ...readers.filter((r) => hanging.includes(r.name))];
    };
    const answering = (await fleet()).filter((r) => !hanging.includes(r.name));
    let floor: Awaited<ReturnType<typeof readFleet>> | undefined;
    const floorMs = await timed(async () => (floor = await readFleet(answering, { timeoutMs: 300_000, clock: systemClock })));
    const floorHealthy = floor!.targets.filter((t) => t.status === 'healthy').length;
    // A second read over the same (now open) connections: what each monitor interval costs.
    const warmMs = await timed(() => readFleet(answering, { timeoutMs: 300_000, clock: systemClock }));
    const timeoutMs = Math.max(2000, Math.ceil((2 * floorMs) / 1000) * 1000);
    opts.log(`fleet: floor ${Math.round(floorMs)} ms (warm ${Math.round(warmMs)} ms), so the per-target timeout is ${timeoutMs} ms`);
    const all = await fleet();
    let report: Awaited<ReturnType<typeof readFleet>> | undefined;
    const wallMs = await timed(async () => (report = await readFleet(all, { timeoutMs, clock: systemClock })));
    const rows = {
      healthy: report!.targets.filter((t) => t.status === 'healthy').length,
      timedOut: report!.targets.filter((t) => t.error?.code === 'ERR_FLEET_TIMEOUT').length,
    };
    for (const r of [...answering, ...all]) r.close?.();

    opts.log(`monitor: ${intervals} reads of the ${targets} that answer, back to back…`);
    const monitor = await watch((await open()).filter((r) => !hanging.includes(r.name)), intervals, timeoutMs);
    return { targets, timeoutMs, wallMs, floorMs, warmMs, floorHealthy, rows, monitor };
  } finally {
    child.stdin?.end();
    await stopChild(child, 10_000);
  }
}

/** How many intervals each of the compared groups has (the first group starts after as many warm-up intervals). */
function headTail(intervals: number): number {
  return Math.max(1, Math.floor(intervals / 4));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** The heap collected on demand (`--expose-gc` set at run time), so retained memory is measured, not GC timing. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function watch(readers: TargetReader[], intervals: number, timeoutMs: number): Promise<FleetBenchResult['monitor']> {
  const gc = collector();
  const samples: IntervalSample[] = [];
  let fewestHealthy = Infinity;
  const monitor = new FleetMonitor({
    readers, intervalMs: 0, timeoutMs, clock: systemClock, metrics: new FleetMetrics(),
    timers: { sleep: () => Promise.resolve() },
  });
  for (let i = 0; i < intervals; i += 1) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const report = await monitor.readOnce();
    fewestHealthy = Math.min(fewestHealthy, report.targets.filter((t) => t.status === 'healthy').length);
    await monitor.metrics.render(); // one scrape per interval, as Prometheus would
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    gc();
    const mem = process.memoryUsage();
    samples.push({ rssMb: mem.rss / 2 ** 20, heapMb: mem.heapUsed / 2 ** 20, cpuMs: (used.user + used.system) / 1000, wallMs });
  }
  monitor.close();
  // First intervals after a warm-up (connections, JIT) against the last ones.
  const k = headTail(intervals);
  const mean = (xs: IntervalSample[], f: (s: IntervalSample) => number) => xs.reduce((a, s) => a + f(s), 0) / xs.length;
  const head = samples.slice(k, 2 * k);
  const tail = samples.slice(-k);
  const ratio = (f: (s: IntervalSample) => number) => mean(tail, f) / mean(head, f);
  return {
    intervals, timeoutMs, samples, fewestHealthy,
    rssRatio: ratio((s) => s.rssMb), heapRatio: ratio((s) => s.heapMb), cpuRatio: ratio((s) => s.cpuMs), wallRatio: ratio((s) => s.wallMs),
  };
}

export function formatFleetReport(r: FleetBenchResult): string {
  const m = r.monitor;
  const k = headTail(m.intervals);
  const row = (label: string, xs: IntervalSample[]) => {
    const mean = (f: (s: IntervalSample) => number) => xs.reduce((a, s) => a + f(s), 0) / xs.length;
    return [label, fixed(mean((s) => s.rssMb), 1), fixed(mean((s) => s.heapMb), 1), fixed(mean((s) => s.cpuMs), 0), int(mean((s) => s.wallMs))];
  };
  return [
    `fleet — ${r.targets} clusters (Kubernetes API test servers), 1 hanging, per-target timeout ${int(r.timeoutMs)} ms (2 × the floor, at least 2 s)`,
    formatTable(['read', 'wall ms', 'wall / timeout', 'rows'], [
      [`floor: the ${r.targets - 1} that answer`, int(r.floorMs), fixed(r.floorMs / r.timeoutMs, 2), `${r.floorHealthy} healthy`],
      ['all 50, one hanging', int(r.wallMs), fixed(r.wallMs / r.timeoutMs, 2), `${r.rows.healthy} healthy, ${r.rows.timedOut} ERR_FLEET_TIMEOUT`],
    ]),
    `  (a second read of the ${r.targets - 1} over open connections: ${int(r.warmMs)} ms)`,
    `  → all 50 took ${fixed(r.wallMs / r.timeoutMs, 2)} × the timeout (read one after another: ≥ 1 × timeout + 49 reads; the bound for ${r.targets} hanging is ${r.targets} ×)`,
    '',
    `monitor — ${r.targets} targets that answer, ${m.intervals} intervals back to back (heap collected after each; fewest healthy rows in an interval: ${m.fewestHealthy})`,
    formatTable(['intervals', 'RSS MB', 'heap MB', 'CPU ms/interval', 'wall ms/interval'], [
      row(`${k + 1}–${2 * k}`, m.samples.slice(k, 2 * k)),
      row(`${m.intervals - k + 1}–${m.intervals}`, m.samples.slice(-k)),
    ]),
    `  → last / first: RSS ${fixed(m.rssRatio, 2)}, heap ${fixed(m.heapRatio, 2)}, CPU ${fixed(m.cpuRatio, 2)}, wall ${fixed(m.wallRatio, 2)} (flat ≈ 1)`,
  ].join('\n');
}
