/**
 * `warden monitor`: watches the same targets as `warden fleet`, re-reading them every
 * `--interval`, and serves `/` (the page), `/api/fleet`, `/metrics` and `/healthz` until SIGTERM
 * or SIGINT (src/monitor). The first read finishes before the port opens, so the first scrape
 * already has every target.
 */
import { systemTimers } from '../../sidecar-client/timers.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import { openFleetTargets, type FleetTargetCliOptions } from './fleet.js';

export interface MonitorCommandOptions extends FleetTargetCliOptions {
  interval: number;
  port: number;
  listenAddress: string;
  refresh: number;
  title: string;
}

export async function monitorCommand(opts: MonitorCommandOptions, io: Io, deps: CliDeps): Promise<number> {
  const readers = await openFleetTargets(opts, io);
  const { FleetMonitor } = await import('../../monitor/monitor.js');
  const { listenMonitor } = await import('../../monitor/http.js');
  const monitor = new FleetMonitor({ readers, intervalMs: opts.interval, timeoutMs: opts.timeout, clock: io.clock, timers: systemTimers });
  await monitor.readOnce();
  const listener = await listenMonitor(opts.listenAddress, opts.port, {
    report: () => monitor.report, metrics: monitor.metrics, refreshSeconds: opts.refresh, title: opts.title,
  });
  const host = opts.listenAddress === '' ? 'localhost' : opts.listenAddress;
  printStatus(io, 'info', `warden monitor: ${readers.length} target(s), read every ${opts.interval / 1000}s; serving http://${host}:${listener.port}/ (/api/fleet, /metrics, /healthz) on port ${listener.port}`);
  const stop = new AbortController();
  const loop = monitor.run(stop.signal, { readFirst: false });
  const signal = await deps.waitForShutdown();
  stop.abort();
  await loop.catch(() => undefined);
  await listener.close();
  monitor.close();
  printStatus(io, 'info', `warden monitor: stopped (${signal})`);
  return EXIT.ok;
}
