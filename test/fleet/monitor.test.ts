/**
 * `warden monitor`: the metrics after a read and after a target starts failing (read errors
 * counted, target_up 0, the last successful read kept), no API call per scrape, `/api/fleet`
 * equal to `warden fleet -o json`, the other endpoints, and the binary serving until SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fleetCommand, openFleetTargets } from '../../src/cli/commands/fleet.js';
import { captureIo } from '../../src/cli/io.js';
import { FixedClock } from '../../src/core/clock.js';
import type { FleetReport } from '../../src/fleet/model.js';
import { listenMonitor } from '../../src/monitor/http.js';
import { FleetMetrics } from '../../src/monitor/metrics.js';
import { FleetMonitor, type MonitorTimers } from '../../src/monitor/monitor.js';
import type { HttpListener } from '../../src/sentry/http-listener.js';
import { assertBuilt, REPO, runWarden } from '../cli/helpers.js';
import { startCluster, stopClusters, writeFleetKubeconfig, type Cluster } from './support.js';

/** Sleeps that end when the test says so (or when their signal aborts). */
class ManualTimers implements MonitorTimers {
  private pending: (() => void)[] = [];
  constructor(private readonly onSleep: () => void = () => {}) {}

  sleep(_ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.onSleep();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  get sleeping(): number {
    return this.pending.length;
  }

  fire(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }
}

/** Resolves once `condition()` holds, re-checked on every `notify()`; the bound only catches hangs. */
class Waiter {
  private listeners = new Set<() => void>();
  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  until(condition: () => boolean, what: string, boundMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`still waiting for ${what}`));
      }, boundMs);
      this.listeners.add(check);
      check();
    });
  }
}

type Labels = Record<string, string>;

/** The value of the sample `name{labels}` (exactly those labels), or undefined. */
function sample(text: string, name: string, labels: Labels): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(m[3]);
  }
  return undefined;
}

const get = async (listener: HttpListener, path: string, init?: RequestInit) => {
  const res = await fetch(`http://127.0.0.1:${listener.port}${path}`, init);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
};

describe('warden monitor (in-process)', () => {
  const now = new Date();
  let dir: string;
  let kubeconfig: string;
  let clusters: Cluster[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-monitor-'));
    clusters = [];
    for (const [s, name] of [['healthy', 'a'], ['healthy', 'b'], ['rotating', 'rot']] as const) clusters.push(await startCluster(s, now, name));
    kubeconfig = await writeFleetKubeconfig(dir, clusters);
  });
  after(async () => {
    await stopClusters(clusters);
    await rm(dir, { recursive: true, force: true });
  });

  test('metrics after a read, then after a target starts failing; scrapes call no API', async () => {
    const clock = new FixedClock(now);
    const waiter = new Waiter();
    const timers = new ManualTimers(() => waiter.notify());
    const readers = await openFleetTargets({ kubeconfig: [kubeconfig], timeout: 60_000 }, captureIo({ cwd: dir }));
    const monitor = new FleetMonitor({ readers, intervalMs: 60_000, timeoutMs: 60_000, clock, timers, onRead: () => waiter.notify() });
    const listener = await listenMonitor('127.0.0.1', 0, { report: () => monitor.report, metrics: monitor.metrics, refreshSeconds: 7, title: 'Prod <fleet>' });
    const stop = new AbortController();
    const loop = monitor.run(stop.signal);
    try {
      await waiter.until(() => monitor.readCount === 1 && timers.sleeping === 1, 'the first read');
      const first = (await get(listener, '/metrics')).body;
      const report = monitor.report;
      const a = report.targets.find((t) => t.name === 'a')!;
      const root = a.certificates.find((c) => c.role === 'root')!;
      const issuer = a.certificates.find((c) => c.role === 'issuer')!;
      const t0 = now.getTime() / 1000;
      assert.equal(sample(first, 'warden_fleet_certificate_expiry_timestamp_seconds', { target: 'a', role: 'root' }), Date.parse(root.notAfter!) / 1000);
      assert.equal(sample(first, 'warden_fleet_certificate_expiry_timestamp_seconds', { target: 'a', role: 'issuer' }), Date.parse(issuer.notAfter!) / 1000);
      assert.equal(sample(first, 'warden_fleet_certificate_not_before_timestamp_seconds', { target: 'a', role: 'root' }), Date.parse(root.notBefore) / 1000);
      assert.equal(sample(first, 'warden_fleet_certificate_seconds_left', { target: 'a', role: 'issuer' }), Math.trunc((Date.parse(issuer.notAfter!) - now.getTime()) / 1000));
      assert.equal(sample(first, 'warden_fleet_rotation_phase', { target: 'rot', phase: 'propagation' }), 1);
      assert.equal(sample(first, 'warden_fleet_rotation_phase_since_timestamp_seconds', { target: 'rot' }), Date.parse(report.targets[2]!.rotation!.since) / 1000);
      assert.equal(sample(first, 'warden_fleet_rotation_phase', { target: 'a', phase: 'propagation' }), undefined, 'no rotation: no series');
      for (const target of ['a', 'b', 'rot']) {
        assert.equal(sample(first, 'warden_fleet_target_info', { target, kind: 'kubernetes' }), 1);
        assert.equal(sample(first, 'warden_fleet_target_up', { target }), 1);
        assert.equal(sample(first, 'warden_fleet_configmap_in_sync', { target }), 1);
        assert.equal(sample(first, 'warden_fleet_sentry_ready', { target }), 1);
        assert.equal(sample(first, 'warden_fleet_last_successful_read_timestamp_seconds', { target }), t0);
        assert.equal(sample(first, 'warden_fleet_target_status', { target, status: 'healthy' }), 1);
        assert.equal(sample(first, 'warden_fleet_target_status', { target, status: 'unreachable' }), 0);
        assert.equal(sample(first, 'warden_fleet_apps_not_converged', { target }), 0);
      }
      assert.match(first, /# HELP warden_fleet_read_errors_total Reads of the target that failed, by error code/);
      assert.match(first, /# TYPE warden_fleet_read_errors_total counter/);
      assert.match(first, /# TYPE warden_fleet_certificate_expiry_timestamp_seconds gauge/);

      // Scrapes and page loads are served from memory.
      const requestsBefore = clusters.map((c) => c.server!.requests.entries.length);
      for (const path of ['/metrics', '/api/fleet', '/', '/healthz', '/metrics']) assert.equal((await get(listener, path)).status, 200, path);
      assert.deepEqual(clusters.map((c) => c.server!.requests.entries.length), requestsBefore);

      // b starts failing; the next interval's read notices.
      clusters[1]!.server!.faults.failNext(Infinity, { status: 403, message: 'forbidden now' });
      clock.advance(60_000);
      timers.fire();
      await waiter.until(() => monitor.readCount === 2 && timers.sleeping === 1, 'the second read');
      const second = (await get(listener, '/metrics')).body;
      assert.equal(sample(second, 'warden_fleet_read_errors_total', { target: 'b', code: 'ERR_KUBE_FORBIDDEN' }), 1);
      assert.equal(sample(second, 'warden_fleet_target_up', { target: 'b' }), 0);
      assert.equal(sample(second, 'warden_fleet_target_info', { target: 'b', kind: 'kubernetes' }), 1, 'an unreadable target keeps its kind');
      assert.equal(sample(second, 'warden_fleet_last_successful_read_timestamp_seconds', { target: 'b' }), t0, 'unchanged');
      assert.equal(sample(second, 'warden_fleet_last_successful_read_timestamp_seconds', { target: 'a' }), t0 + 60);
      assert.equal(sample(second, 'warden_fleet_target_status', { target: 'b', status: 'unreachable' }), 1);
      assert.equal(sample(second, 'warden_fleet_target_status', { target: 'b', status: 'healthy' }), 0);
      assert.ok(sample(second, 'warden_fleet_certificate_expiry_timestamp_seconds', { target: 'b', role: 'root' })! > t0, 'the last known expiry is kept');
      assert.equal(sample(second, 'warden_fleet_read_errors_total', { target: 'a', code: 'ERR_KUBE_FORBIDDEN' }), undefined);
      const api = JSON.parse((await get(listener, '/api/fleet')).body) as FleetReport;
      const b = api.targets.find((t) => t.name === 'b')!;
      assert.deepEqual([b.status, b.error?.code, b.lastSuccessfulRead], ['unreachable', 'ERR_KUBE_FORBIDDEN', now.toISOString()]);
      assert.equal(api.worst, 'unreachable');

      clock.advance(60_000);
      timers.fire();
      await waiter.until(() => monitor.readCount === 3 && timers.sleeping === 1, 'the third read');
      assert.equal(sample((await get(listener, '/metrics')).body, 'warden_fleet_read_errors_total', { target: 'b', code: 'ERR_KUBE_FORBIDDEN' }), 2);
    } finally {
      clusters[1]!.server!.faults.clear();
      stop.abort();
      await loop;
      await listener.close();
      monitor.close();
    }
  });

  test('the endpoints: page with its refresh, /healthz, 404, 405, HEAD', async () => {
    const monitor = new FleetMonitor({ readers: [], intervalMs: 1, timeoutMs: 1, clock: new FixedClock(now), timers: new ManualTimers(), metrics: new FleetMetrics({ processMetrics: false }) });
    const listener = await listenMonitor('127.0.0.1', 0, { report: () => monitor.report, metrics: monitor.metrics, refreshSeconds: 7, title: 'Prod <fleet>' });
    try {
      const page = await get(listener, '/');
      assert.equal(page.type, 'text/html; charset=utf-8');
      assert.match(page.body, /<meta name="warden-refresh" content="7">/);
      assert.match(page.body, /<title>Prod &lt;fleet&gt;<\/title>/);
      assert.match(page.body, /fetch\('\/?api\/fleet'/);
      assert.doesNotMatch(page.body, /<(script|link)[^>]+(src|href)="(?!data:)/, 'no external asset');
      assert.deepEqual(await get(listener, '/healthz'), { status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' });
      assert.equal((await get(listener, '/nope')).status, 404);
      assert.equal((await get(listener, '/api/fleet', { method: 'POST', body: '{}' })).status, 405);
      const head = await get(listener, '/api/fleet', { method: 'HEAD' });
      assert.deepEqual([head.status, head.body], [200, '']);
    } finally {
      await listener.close();
    }
  });

  test('/api/fleet is exactly what `warden fleet -o json` prints for the same read', async () => {
    const clock = new FixedClock(now);
    const io = captureIo({ clock, cwd: dir });
    const opts = { kubeconfig: [kubeconfig], timeout: 60_000 };
    const code = await fleetCommand({ ...opts, output: 'json' }, io);
    assert.equal(code, 0, io.stderrText());
    const monitor = new FleetMonitor({ readers: await openFleetTargets(opts, io), intervalMs: 1, timeoutMs: 60_000, clock, timers: new ManualTimers() });
    await monitor.readOnce();
    const listener = await listenMonitor('127.0.0.1', 0, { report: () => monitor.report, metrics: monitor.metrics, refreshSeconds: 30, title: 't' });
    try {
      const api = await get(listener, '/api/fleet');
      assert.equal(api.type, 'application/json; charset=utf-8');
      assert.deepEqual(JSON.parse(api.body), JSON.parse(io.stdoutText()));
    } finally {
      await listener.close();
      monitor.close();
    }
  });
});

describe('warden monitor (binary)', () => {
  before(assertBuilt);
  const now = new Date();
  let dir: string;
  let clusters: Cluster[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-monitor-bin-'));
    clusters = [await startCluster('expiring', now, 'staging')];
  });
  after(async () => {
    await stopClusters(clusters);
    await rm(dir, { recursive: true, force: true });
  });

  test('serves the endpoints on the port it prints until SIGTERM, then exits 0; /api/fleet has the shape of fleet -o json', async () => {
    const kubeconfig = await writeFleetKubeconfig(dir, clusters);
    const child = spawn(process.execPath, [join(REPO, 'bin', 'warden.js'), 'monitor', '--kubeconfig', kubeconfig, '--port', '0', '--listen-address', '127.0.0.1', '--interval', '1h', '--timeout', '60s'], {
      env: { ...process.env, HOME: dir, KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = / on port (\d+)\n/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        void exited.then((code) => reject(new Error(`monitor exited ${code}: ${err}`)));
      });
      const listener = { port } as HttpListener;
      assert.equal((await get(listener, '/healthz')).body, 'ok\n');
      const metrics = (await get(listener, '/metrics')).body;
      assert.equal(sample(metrics, 'warden_fleet_target_up', { target: 'staging' }), 1);
      assert.equal(sample(metrics, 'warden_fleet_target_status', { target: 'staging', status: 'warning' }), 1);
      assert.match(metrics, /\nprocess_resident_memory_bytes \d+/);
      const api = JSON.parse((await get(listener, '/api/fleet')).body) as FleetReport;
      const fleet = await runWarden(['fleet', '--kubeconfig', kubeconfig, '--timeout', '60s', '-o', 'json'], { home: dir, env: { KUBECONFIG: '' } });
      assert.equal(fleet.code, 1, fleet.stderr);
      const strip = (r: FleetReport) => ({
        ...r, generatedAt: 'T', targets: r.targets.map((t) => ({
          ...t, lastSuccessfulRead: 'T', certificates: t.certificates.map((c) => ({ ...c, secondsLeft: 0 })),
          finding: t.finding && { ...t.finding, message: t.finding.message.replace(/in .* \(/, 'in … (') },
        })),
      });
      assert.deepEqual(strip(api), strip(JSON.parse(fleet.stdout) as FleetReport));
      assert.equal(api.targets[0]?.finding?.code, 'WARN_ISSUER_EXPIRING');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
    assert.match(out, /warden monitor: stopped \(SIGTERM\)\n$/);
  });
});
