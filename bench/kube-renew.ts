/**
 * Benchmark: `warden mtls renew-certificate -k --restart --restart-apps` (the built binary, a
 * child process) against the Kubernetes API test server (in this process, loopback only) with
 * N Dapr-enabled Deployments whose rollouts all complete after a fixed delay.
 *
 * Figures per N: wall time, start-up (spawn → first API request), API requests per workload
 * (from the server's request log, by verb), the child's CPU, and the orchestration overhead:
 * wall time − the ideal, where the ideal is what the rollouts alone must take —
 * 2 control-plane waves × delay + ceil(N / concurrency) × delay (a pool that refills at once).
 *
 *   node --import tsx bench/kube-renew.ts [N …] [--delay-ms 200] [--concurrency 5]
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exited, spawnChild, stopChild } from './children.js';
import { fixed, formatTable, int } from './format.js';
import { measureSizes, type BenchCluster, type KubeSuiteOptions } from './kube-cluster.js';
import { readCpuSeconds } from './proc.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'bin', 'warden.js');
const CONTROL_PLANE_WORKLOADS = 5;
const CONTROL_PLANE_WAVES = 2;

export type KubeRenewOptions = KubeSuiteOptions;

export interface KubeRenewMeasurement {
  apps: number;
  delayMs: number;
  concurrency: number;
  exitCode: number | null;
  wallMs: number;
  /** Spawn → the first API request (node start, client-node import, kubeconfig). */
  startupMs: number;
  /** First restart → exit: the restart phase alone. */
  restartPhaseMs: number;
  idealMs: number;
  overheadMs: number;
  /** (restart phase − ideal) / workloads restarted. */
  restartOverheadPerWorkloadMs: number;
  requests: number;
  requestsPerWorkload: number;
  byVerb: Record<string, number>;
  childCpuS: number;
  restarts: number;
  maxInFlight: number;
}

/** Runs the suite for each size in turn; each run gets a fresh API server. */
export function runKubeRenewBench(opts: KubeRenewOptions = {}): Promise<KubeRenewMeasurement[]> {
  return measureSizes('kube-renew', opts, measureOne);
}

async function measureOne({ server, home }: BenchCluster, apps: number, delayMs: number, concurrency: number): Promise<KubeRenewMeasurement> {
  const idealMs = (CONTROL_PLANE_WAVES + Math.ceil(apps / concurrency)) * delayMs;
  // Bounded: the ideal, plus generous room for start-up and overhead.
  const limitMs = idealMs * 3 + 60_000;

  const started = performance.now();
  const startedAt = Date.now();
  const child = spawnChild(process.execPath, [
    BIN, 'mtls', 'renew-certificate', '-k', '--kubeconfig', server.kubeconfigPath, '--restart', '--restart-apps',
    '--max-concurrent-restarts', String(concurrency), '--timeout', '120',
  ], { env: { ...process.env, HOME: home, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  let cpu = 0;
  const sampler = setInterval(() => {
    const s = readCpuSeconds(child.pid ?? -1);
    if (Number.isFinite(s)) cpu = s;
  }, 50);
  const killer = setTimeout(() => void stopChild(child, 1000), limitMs);
  await exited(child);
  clearInterval(sampler);
  clearTimeout(killer);
  const wallMs = performance.now() - started;
  if (child.exitCode !== 0) throw new Error(`renew-certificate -k exited ${child.exitCode ?? child.signalCode}: ${stderr.slice(-2000)}`);

  const entries = server.requests.entries;
  const byVerb: Record<string, number> = {};
  for (const r of entries) byVerb[r.verb] = (byVerb[r.verb] ?? 0) + 1;
  const restartEvents = server.rollout.events.filter((e) => e.type === 'restarted');
  const firstRestartAt = Math.min(...restartEvents.map((e) => e.at));
  const restartPhaseMs = startedAt + wallMs - firstRestartAt;
  const workloads = apps + CONTROL_PLANE_WORKLOADS;
  return {
    apps, delayMs, concurrency, exitCode: child.exitCode, wallMs, idealMs,
    startupMs: (entries[0]?.startedAt ?? startedAt) - startedAt,
    restartPhaseMs,
    overheadMs: wallMs - idealMs,
    restartOverheadPerWorkloadMs: (restartPhaseMs - idealMs) / workloads,
    requests: entries.length,
    requestsPerWorkload: entries.length / workloads,
    byVerb,
    childCpuS: cpu,
    restarts: restartEvents.length,
    maxInFlight: maxInFlightApps(server.rollout.events),
  };
}

function maxInFlightApps(events: readonly { seq: number; type: string; name: string; namespace: string }[]): number {
  const open = new Set<string>();
  let max = 0;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (!e.namespace.startsWith('apps-')) continue;
    if (e.type === 'restarted') open.add(`${e.namespace}/${e.name}`);
    if (e.type === 'completed' || e.type === 'failed') open.delete(`${e.namespace}/${e.name}`);
    max = Math.max(max, open.size);
  }
  return max;
}

export function formatKubeRenewReport(results: readonly KubeRenewMeasurement[]): string {
  const first = results[0];
  const head = first
    ? `kube-renew — renew-certificate -k --restart --restart-apps (binary) against the in-process API test server; rollouts complete ${first.delayMs} ms after a restart; ` +
      `${first.concurrency} apps at a time; ideal = (${CONTROL_PLANE_WAVES} control-plane waves + ceil(apps/${first.concurrency})) × ${first.delayMs} ms`
    : 'kube-renew — no runs';
  const rows = results.map((r) => [
    int(r.apps), fixed(r.wallMs / 1000, 2), fixed(r.idealMs / 1000, 2), fixed(r.overheadMs / 1000, 2), fixed(r.startupMs / 1000, 2),
    fixed(r.restartOverheadPerWorkloadMs, 1), int(r.requests), fixed(r.requestsPerWorkload, 2), fixed(r.childCpuS, 1), `${r.restarts}`, `${r.maxInFlight}`,
  ]);
  const table = formatTable(
    ['apps', 'wall s', 'ideal s', 'overhead s', 'start-up s', 'restart ovh ms/workload', 'API requests', 'req/workload', 'child CPU s', 'restarts', 'max in flight'],
    rows,
  );
  const verbs = results.map((r) => `  ${int(r.apps)} apps: ${Object.entries(r.byVerb).sort(([a], [b]) => a.localeCompare(b)).map(([v, n]) => `${v} ${n}`).join(', ')}`);
  return [head, table, 'requests by verb:', ...verbs].join('\n');
}

// Standalone: node --import tsx bench/kube-renew.ts [N …] [--delay-ms 200] [--concurrency 5]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'delay-ms': { type: 'string' }, concurrency: { type: 'string' } } });
  const sizes = positionals.length > 0 ? positionals.map(Number) : undefined;
  const results = await runKubeRenewBench({
    ...(sizes ? { sizes } : {}),
    ...(values['delay-ms'] ? { delayMs: Number(values['delay-ms']) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    log: (l) => void process.stderr.write(`${l}\n`),
  });
  console.log(formatKubeRenewReport(results));
}
