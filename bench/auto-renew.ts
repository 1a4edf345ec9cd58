/**
 * Benchmark: an automatic renewal — `warden sentry --mode kubernetes --auto-renew` (a child process
 * running the CLI from source through tsx) against the Kubernetes API test server (in this
 * process, loopback only) with N Dapr-enabled Deployments over 10 namespaces whose simulated pods
 * carry injected anchors (so the trust gate reads every pod) and whose rollouts complete after a
 * fixed delay. The sentry starts with a CA past 2/3 of its life, so a renewal is due at once; it
 * rotates with its defaults (`--auto-renew-restarts apps`, 5 restarts at a time) and
 * `--renew-propagation-delay 0s`, and a workload TTL + skew of 2 s before the old root is retired.
 *
 * Figures from the rotation journal's timestamps, per phase (intent → complete) and for the whole
 * renewal (plan → done): wall time against the ideal (the rollout waits alone: add-anchor = (2
 * control-plane waves + ceil(N / 5)) × delay, switch-issuer = 2 × delay, the TTL + skew wait,
 * retire-old-root = ceil(N / 5) × delay), and the API requests per restarted workload.
 *
 *   node --import tsx bench/auto-renew.ts [N …] [--delay-ms 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateTrustBundle } from '../src/core/bundle.js';
import type { RotationRecord } from '../src/core/rotation-phases/record.js';
import { DAY_MS } from '../src/core/thresholds.js';
import { seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer, type KubeApiServer } from '../test/support/kube-api/index.js';
import { onExit, spawnChild, stopChild } from './children.js';
import { fixed, formatTable, int } from './format.js';
import { APP_NAMESPACES } from './kube-cluster.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(REPO, 'test', 'rotation-kube', 'entry.ts');
const NS = 'dapr-system';
const CONTROL_PLANE_WORKLOADS = 5;
const WAVES = 2;
const CONCURRENCY = 5;
/** workloadCertTTL + allowedClockSkew seeded in the Configuration: the wait before retire-old-root. */
const TTL_S = 1;
const SKEW_S = 1;
const PHASES = ['add-anchor', 'switch-issuer', 'retire-wait', 'retire-old-root'] as const;

export interface AutoRenewPhase {
  phase: (typeof PHASES)[number];
  wallMs: number;
  idealMs: number;
  workloads: number;
  requests: number;
}

export interface AutoRenewMeasurement {
  apps: number;
  pods: number;
  delayMs: number;
  /** Sentry start → the journal's plan (start-up, Lease, the due check). */
  startupMs: number;
  /** The journal's plan → done. */
  wallMs: number;
  idealMs: number;
  phases: AutoRenewPhase[];
  requests: number;
  restarts: number;
}

export async function runAutoRenewBench(opts: { sizes?: readonly number[]; delayMs?: number; log?: (line: string) => void } = {}): Promise<AutoRenewMeasurement[]> {
  const out: AutoRenewMeasurement[] = [];
  for (const apps of opts.sizes ?? [100]) {
    opts.log?.(`auto-renew: ${apps} Dapr apps, rollouts of ${opts.delayMs ?? 200} ms…`);
    out.push(await measureOne(apps, opts.delayMs ?? 200));
  }
  return out;
}

function journal(server: KubeApiServer): RotationRecord | undefined {
  const s = server.api.find('secrets', NS, 'dapr-trust-bundle-rotation');
  return s ? JSON.parse(Buffer.from(String((s.data as Record<string, string>)['journal.json']), 'base64').toString()) as RotationRecord : undefined;
}

async function measureOne(apps: number, delayMs: number): Promise<AutoRenewMeasurement> {
  const server = await startKubeApiServer({ rolloutDelayMs: delayMs });
  const home = mkdtempSync(join(tmpdir(), 'warden-bench-auto-renew-'));
  const cleanup = onExit(() => rmSync(home, { recursive: true, force: true }));
  const sim = simulateDaprPods(server, { anchors: 'env' });
  try {
    // A 30-day CA born 21 days ago: past 2/3 of its life, so the renewal is due when the sentry starts.
    const born = { now: () => new Date(Date.now() - 21 * DAY_MS) };
    const old = generateTrustBundle({ clock: born, trustDomain: 'cluster.local', namespace: NS, validityMs: 30 * DAY_MS, clockSkewMs: 60_000 }).bundle;
    seedDaprControlPlane(server, { namespace: NS, trustBundle: old.toTexts(), withPods: false, workloadCertTTL: `${TTL_S}s`, allowedClockSkew: `${SKEW_S}s` });
    seedDaprApps(server, { namespaces: Array.from({ length: APP_NAMESPACES }, (_, i) => `apps-${i}`), count: apps });
    const pods = server.api.select('pods', {}).length;
    server.requests.clear();
    const appWaves = Math.ceil(apps / CONCURRENCY);
    const limitMs = (WAVES * 2 + appWaves * 2) * delayMs * 4 + 180_000;
    const startedAt = Date.now();
    const child = spawnChild(process.execPath, [
      '--import', 'tsx', ENTRY, 'sentry', '--mode', 'kubernetes', '--kubeconfig', server.kubeconfigPath, '--trust-domain', 'cluster.local',
      '--port', '0', '--listen-address', '127.0.0.1', '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false',
      '--sign-threads', '0', '--auto-renew', '--renew-propagation-delay', '0s',
    ], { cwd: REPO, env: { ...process.env, HOME: home, NAMESPACE: NS, WARDEN_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
    let record: RotationRecord | undefined;
    try {
      for (;;) {
        record = journal(server);
        if (record?.status === 'done') break;
        if (child.exitCode !== null) throw new Error(`the sentry exited ${child.exitCode}: ${stderr}`);
        if (Date.now() - startedAt > limitMs) throw new Error(`the renewal did not finish in ${limitMs} ms (journal: ${record?.phase ?? 'none'}): ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await stopChild(child, 2000);
    }
    const entries = server.requests.entries;
    const at = (s: string | undefined): number => Date.parse(s ?? '');
    const p = record.phases;
    const windows: Record<(typeof PHASES)[number], [number, number, number, number]> = {
      // [from, to, ideal, workloads restarted]
      'add-anchor': [at(p['add-anchor'].startedAt), at(p['add-anchor'].completedAt), (WAVES + appWaves) * delayMs, CONTROL_PLANE_WORKLOADS + apps],
      'switch-issuer': [at(p['switch-issuer'].startedAt), at(p['switch-issuer'].completedAt), WAVES * delayMs, CONTROL_PLANE_WORKLOADS],
      'retire-wait': [at(p['switch-issuer'].completedAt), at(p['retire-old-root'].startedAt), (TTL_S + SKEW_S) * 1000, 0],
      'retire-old-root': [at(p['retire-old-root'].startedAt), at(p['retire-old-root'].completedAt), appWaves * delayMs, apps],
    };
    const phases = PHASES.map((phase): AutoRenewPhase => {
      const [from, to, idealMs, workloads] = windows[phase];
      return { phase, wallMs: to - from, idealMs, workloads, requests: entries.filter((r) => r.startedAt >= from && r.startedAt <= to).length };
    });
    const planned = at(record.createdAt);
    const done = at(p['retire-old-root'].completedAt);
    return {
      apps, pods, delayMs, startupMs: planned - startedAt, wallMs: done - planned, idealMs: phases.reduce((s, x) => s + x.idealMs, 0), phases,
      requests: entries.filter((r) => r.startedAt >= planned && r.startedAt <= done).length,
      restarts: server.rollout.restarts.length,
    };
  } finally {
    sim.stop();
    await server.close();
    rmSync(home, { recursive: true, force: true });
    cleanup.dispose();
  }
}

export function formatAutoRenewReport(results: readonly AutoRenewMeasurement[]): string {
  const first = results[0];
  const head = first
    ? `auto-renew — warden sentry --mode kubernetes --auto-renew (CLI from source via tsx) renewing a due CA against the in-process API test server; ` +
      `rollouts complete ${first.delayMs} ms after a restart; ${CONCURRENCY} apps at a time; per phase: journal intent → complete; ideal = rollout waves × delay (and TTL + skew for the wait)`
    : 'auto-renew — no runs';
  const rows = results.flatMap((r) => r.phases.map((p) => [
    int(r.apps), p.phase, fixed(p.wallMs / 1000, 2), fixed(p.idealMs / 1000, 2), fixed(p.wallMs / Math.max(1, p.idealMs), 2),
    int(p.requests), p.workloads > 0 ? fixed(p.requests / p.workloads, 1) : '-',
  ]));
  const table = formatTable(['apps', 'phase', 'wall s', 'ideal s', 'wall/ideal', 'API requests', 'req/workload'], rows);
  const totals = results.map((r) => `  ${int(r.apps)} apps (${int(r.pods)} pods): renewal ${fixed(r.wallMs / 1000, 2)} s against an ideal of ${fixed(r.idealMs / 1000, 2)} s ` +
    `(×${fixed(r.wallMs / r.idealMs, 2)}); sentry start → plan ${fixed(r.startupMs / 1000, 2)} s; ${int(r.requests)} API requests (${fixed(r.requests / (2 * r.apps + 2 * CONTROL_PLANE_WORKLOADS), 1)} per restarted workload); ${r.restarts} restarts`);
  return [head, table, 'totals:', ...totals].join('\n');
}

// Standalone: node --import tsx bench/auto-renew.ts [N …] [--delay-ms 200]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'delay-ms': { type: 'string' } } });
  const results = await runAutoRenewBench({
    ...(positionals.length > 0 ? { sizes: positionals.map(Number) } : {}),
    ...(values['delay-ms'] ? { delayMs: Number(values['delay-ms']) } : {}),
    log: (l) => void process.stderr.write(`${l}\n`),
  });
  console.log(formatAutoRenewReport(results));
}
