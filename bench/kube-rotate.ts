/**
 * Benchmark: `warden mtls rotate -k --propagation-delay 0 --force` (a child process running the
 * CLI from source through tsx) against the Kubernetes API test server (in this process, loopback
 * only) with N Dapr-enabled Deployments whose rollouts all complete after a fixed delay.
 *
 * Figures per N and per phase, from the rotation journal's timestamps (intent → complete): wall
 * time, the ideal (what the rollouts alone must take: add-anchor = (2 control-plane waves +
 * ceil(N / concurrency)) × delay, switch-issuer = 2 × delay, retire-old-root = ceil(N /
 * concurrency) × delay), the overhead per restarted workload, and the API requests in the phase.
 * Each phase ends with a wait into the next whole second (kubectl's restartedAt has whole
 * seconds; see backends/kube.ts), ≤ 1 s, included in the overhead.
 *
 *   node --import tsx bench/kube-rotate.ts [N …] [--delay-ms 200] [--concurrency 5]
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RotationRecord } from '../src/core/rotation-phases/record.js';
import { exited, spawnChild, stopChild } from './children.js';
import { fixed, formatTable, int } from './format.js';
import { measureSizes, type BenchCluster, type KubeSuiteOptions } from './kube-cluster.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(REPO, 'test', 'rotation-kube', 'entry.ts');
const CONTROL_PLANE_WORKLOADS = 5;
const WAVES = 2;
const PHASES = ['add-anchor', 'switch-issuer', 'retire-old-root'] as const;

export type KubeRotateOptions = KubeSuiteOptions;

export interface PhaseFigures {
  phase: (typeof PHASES)[number];
  wallMs: number;
  idealMs: number;
  workloads: number;
  overheadPerWorkloadMs: number;
  requests: number;
}

export interface KubeRotateMeasurement {
  apps: number;
  delayMs: number;
  concurrency: number;
  wallMs: number;
  /** Spawn → the first API request. */
  startupMs: number;
  phases: PhaseFigures[];
  requests: number;
  restarts: number;
}

export function runKubeRotateBench(opts: KubeRotateOptions = {}): Promise<KubeRotateMeasurement[]> {
  return measureSizes('kube-rotate', opts, measureOne);
}

async function measureOne({ server, home }: BenchCluster, apps: number, delayMs: number, concurrency: number): Promise<KubeRotateMeasurement> {
  const appWaves = Math.ceil(apps / concurrency);
  const limitMs = (WAVES * 2 + appWaves * 2) * delayMs * 3 + 120_000;
  const started = performance.now();
  const startedAt = Date.now();
  const child = spawnChild(process.execPath, [
    '--import', 'tsx', ENTRY, 'mtls', 'rotate', '-k', '--kubeconfig', server.kubeconfigPath, '--propagation-delay', '0', '--force',
    '--max-concurrent-restarts', String(concurrency), '--timeout', '120s',
  ], { cwd: REPO, env: { ...process.env, HOME: home, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  const killer = setTimeout(() => void stopChild(child, 1000), limitMs);
  await exited(child);
  clearTimeout(killer);
  const wallMs = performance.now() - started;
  if (child.exitCode !== 0) throw new Error(`rotate -k exited ${child.exitCode ?? child.signalCode}: ${stderr.slice(-2000)}`);
  const secret = server.api.get('secrets', 'dapr-system', 'dapr-trust-bundle-rotation');
  const record = JSON.parse(Buffer.from(String((secret.data as Record<string, string>)['journal.json']), 'base64').toString()) as RotationRecord;
  const entries = server.requests.entries;
  const ideal = { 'add-anchor': (WAVES + appWaves) * delayMs, 'switch-issuer': WAVES * delayMs, 'retire-old-root': appWaves * delayMs };
  const restarted = { 'add-anchor': CONTROL_PLANE_WORKLOADS + apps, 'switch-issuer': CONTROL_PLANE_WORKLOADS, 'retire-old-root': apps };
  const phases = PHASES.map((phase): PhaseFigures => {
    const p = record.phases[phase];
    const from = Date.parse(p.startedAt ?? '');
    const to = Date.parse(p.completedAt ?? '');
    const wall = to - from;
    return {
      phase, wallMs: wall, idealMs: ideal[phase], workloads: restarted[phase],
      overheadPerWorkloadMs: (wall - ideal[phase]) / restarted[phase],
      requests: entries.filter((r) => r.startedAt >= from && r.startedAt <= to).length,
    };
  });
  return {
    apps, delayMs, concurrency, wallMs, startupMs: (entries[0]?.startedAt ?? startedAt) - startedAt, phases,
    requests: entries.length, restarts: server.rollout.events.filter((e) => e.type === 'restarted').length,
  };
}

export function formatKubeRotateReport(results: readonly KubeRotateMeasurement[]): string {
  const first = results[0];
  const head = first
    ? `kube-rotate — rotate -k --propagation-delay 0 --force (CLI from source via tsx) against the in-process API test server; rollouts complete ${first.delayMs} ms ` +
      `after a restart; ${first.concurrency} apps at a time; per phase: journal intent → complete; ideal = rollout waves × delay`
    : 'kube-rotate — no runs';
  const rows = results.flatMap((r) => r.phases.map((p) => [
    int(r.apps), p.phase, fixed(p.wallMs / 1000, 2), fixed(p.idealMs / 1000, 2), fixed((p.wallMs - p.idealMs) / 1000, 2),
    fixed(p.overheadPerWorkloadMs, 1), int(p.requests), fixed(p.requests / p.workloads, 1),
  ]));
  const table = formatTable(['apps', 'phase', 'wall s', 'ideal s', 'overhead s', 'ovh ms/workload', 'API requests', 'req/workload'], rows);
  const totals = results.map((r) => `  ${int(r.apps)} apps: whole command ${fixed(r.wallMs / 1000, 2)} s (start-up ${fixed(r.startupMs / 1000, 2)} s), ${int(r.requests)} API requests, ${r.restarts} restarts`);
  return [head, table, 'totals:', ...totals].join('\n');
}

// Standalone: node --import tsx bench/kube-rotate.ts [N …] [--delay-ms 200] [--concurrency 5]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'delay-ms': { type: 'string' }, concurrency: { type: 'string' } } });
  const sizes = positionals.length > 0 ? positionals.map(Number) : undefined;
  const results = await runKubeRotateBench({
    ...(sizes ? { sizes } : {}),
    ...(values['delay-ms'] ? { delayMs: Number(values['delay-ms']) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    log: (l) => void process.stderr.write(`${l}\n`),
  });
  console.log(formatKubeRotateReport(results));
}
