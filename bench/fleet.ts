/**
 * Benchmark `npm run bench -- fleet`: `warden fleet`'s and `warden monitor`'s reading side
 * (src/fleet, src/monitor) in this process against 50 Kubernetes API test servers in a child
 * process (bench/fleet-servers.ts), one of which holds every request forever.
 *
 * 1. fleet: one read of all 50 under a per-target timeout T. Read serially that would take at
 *    least T for the hanging one plus the others; at worst 50 × T. Printed: wall / T (≈ 1: the hanging
 *    cluster costs its timeout and nothing more), beside the floor measured in the same run: one
 *    read of the 49 that answer.
 * 2. monitor: FleetMonitor watching the same 50 for `intervals` reads back to back (the interval's
 *    sleep returns at once, the timeout is short), with the heap collected after each read: RSS,
 *    heap and CPU per interval, and the last intervals against the first ones (flat ≈ 1).
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
  timeoutMs?: number;
  intervals?: number;
  monitorTimeoutMs?: number;
}

export interface FleetBenchResult {
  targets: number;
  timeoutMs: number;
  wallMs: number;
  floorMs: number;
  rows: { healthy: number; timedOut: number };
  monitor: { intervals: number; timeoutMs: number; samples: IntervalSample[]; rssRatio: number; heapRatio: number; cpuRatio: number; wallRatio: number };
}

interface IntervalSample {
  rssMb: number;
  heapMb: number;
  cpuMs: number;
  wallMs: number;
}

export async function runFleetBench(opts: FleetBenchOptions): Promise<FleetBenchResult> {
  const targets = opts.targets ?? 50;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const intervals = opts.intervals ?? 40;
  const monitorTimeoutMs = opts.monitorTimeoutMs ?? 1000;
  opts.log(`fleet: starting ${targets} Kubernetes API test servers (1 hanging) in a child process…`);
  const child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'fleet-servers.ts'), '--count', String(targets), '--hanging', '1'], {
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
    const answering = (await open()).filter((r) => !hanging.includes(r.name));
    const floorMs = await timed(() => readFleet(answering, { timeoutMs, clock: systemClock }));
    const all = await open();
    let report: Awaited<ReturnType<typeof readFleet>> | undefined;
    const wallMs = await timed(async () => (report = await readFleet(all, { timeoutMs, clock: systemClock })));
    const rows = {
      healthy: report!.targets.filter((t) => t.status === 'healthy').length,
      timedOut: report!.targets.filter((t) => t.error?.code === 'ERR_FLEET_TIMEOUT').length,
    };
    for (const r of [...answering, ...all]) r.close?.();

    opts.log(`monitor: ${intervals} reads of ${targets} targets back to back (timeout ${monitorTimeoutMs} ms)…`);
    const monitor = await watch(await open(), intervals, monitorTimeoutMs);
    return { targets, timeoutMs, wallMs, floorMs, rows, monitor };
  } finally {
    child.stdin?.end();
    await stopChild(child, 10_000);
  }
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
  const monitor = new FleetMonitor({
    readers, intervalMs: 0, timeoutMs, clock: systemClock, metrics: new FleetMetrics(),
    timers: { sleep: () => Promise.resolve() },
  });
  for (let i = 0; i < intervals; i += 1) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await monitor.readOnce();
    await monitor.metrics.render(); // one scrape per interval, as Prometheus would
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    gc();
    const mem = process.memoryUsage();
    samples.push({ rssMb: mem.rss / 2 ** 20, heapMb: mem.heapUsed / 2 ** 20, cpuMs: (used.user + used.system) / 1000, wallMs });
  }
  monitor.close();
  // First intervals after a warm-up (connections, JIT) against the last ones.
  const k = Math.max(1, Math.floor(intervals / 8));
  const mean = (xs: IntervalSample[], f: (s: IntervalSample) => number) => xs.reduce((a, s) => a + f(s), 0) / xs.length;
  const head = samples.slice(k, 2 * k);
  const tail = samples.slice(-k);
  const ratio = (f: (s: IntervalSample) => number) => mean(tail, f) / mean(head, f);
  return {
    intervals, timeoutMs, samples,
    rssRatio: ratio((s) => s.rssMb), heapRatio: ratio((s) => s.heapMb), cpuRatio: ratio((s) => s.cpuMs), wallRatio: ratio((s) => s.wallMs),
  };
}

export function formatFleetReport(r: FleetBenchResult): string {
  const m = r.monitor;
  const k = Math.max(1, Math.floor(m.intervals / 8));
  const row = (label: string, xs: IntervalSample[]) => {
    const mean = (f: (s: IntervalSample) => number) => xs.reduce((a, s) => a + f(s), 0) / xs.length;
    return [label, fixed(mean((s) => s.rssMb), 1), fixed(mean((s) => s.heapMb), 1), fixed(mean((s) => s.cpuMs), 0), int(mean((s) => s.wallMs))];
  };
  return [
    `fleet — ${r.targets} clusters (Kubernetes API test servers), 1 hanging, per-target timeout ${int(r.timeoutMs)} ms`,
    formatTable(['read', 'wall ms', 'wall / timeout', 'rows'], [
      ['floor: the 49 that answer', int(r.floorMs), fixed(r.floorMs / r.timeoutMs, 2), '49 healthy'],
      ['all 50, one hanging', int(r.wallMs), fixed(r.wallMs / r.timeoutMs, 2), `${r.rows.healthy} healthy, ${r.rows.timedOut} ERR_FLEET_TIMEOUT`],
    ]),
    `  → all 50 took ${fixed(r.wallMs / r.timeoutMs, 2)} × the timeout (read one after another: ≥ 1 × timeout + 49 reads; the bound for ${r.targets} hanging is ${r.targets} ×)`,
    '',
    `monitor — ${r.targets} targets, ${m.intervals} intervals back to back (timeout ${m.timeoutMs} ms, heap collected after each)`,
    formatTable(['intervals', 'RSS MB', 'heap MB', 'CPU ms/interval', 'wall ms/interval'], [
      row(`${k + 1}–${2 * k}`, m.samples.slice(k, 2 * k)),
      row(`${m.intervals - k + 1}–${m.intervals}`, m.samples.slice(-k)),
    ]),
    `  → last / first: RSS ${fixed(m.rssRatio, 2)}, heap ${fixed(m.heapRatio, 2)}, CPU ${fixed(m.cpuRatio, 2)}, wall ${fixed(m.wallRatio, 2)} (flat ≈ 1)`,
  ].join('\n');
}
