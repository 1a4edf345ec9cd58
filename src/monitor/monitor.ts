/**
 * `warden monitor`'s loop: reads every target (fleet/read-fleet.ts: all at once, each under its
 * timeout), keeps the result, and waits `intervalMs` on injected timers before the next read.
 * Scrapes and page loads only see what the last read left: no API call per request.
 *
 * Per target it remembers the last successful read: a failing target's row carries that time in
 * `lastSuccessfulRead`, and its metrics keep that read's facts (metrics.ts).
 */
import type { Clock } from '../core/clock.js';
import { fleetReport, readFleet, type FleetReport, type FleetTarget, type TargetReader } from '../fleet/index.js';
import { FleetMetrics } from './metrics.js';

/** Waiting, injected (the CLI passes real timers; tests resolve sleeps by hand). */
export interface MonitorTimers {
  /** Resolves after `ms`, or at once when `signal` aborts (resolving, not rejecting). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface MonitorOptions {
  readers: readonly TargetReader[];
  intervalMs: number;
  timeoutMs: number;
  clock: Clock;
  timers: MonitorTimers;
  metrics?: FleetMetrics;
  /** Called after every read (tests and the benchmark count them). */
  onRead?: (report: FleetReport) => void;
}

export class FleetMonitor {
  readonly metrics: FleetMetrics;
  private current: FleetReport;
  private readonly lastGood = new Map<string, FleetTarget>();
  private reads = 0;

  constructor(private readonly opts: MonitorOptions) {
    this.metrics = opts.metrics ?? new FleetMetrics();
    this.current = fleetReport([], opts.clock.now());
  }

  /** The last read (no target before the first one). */
  get report(): FleetReport {
    return this.current;
  }

  get readCount(): number {
    return this.reads;
  }

  /** Reads every target once and publishes the result. */
  async readOnce(): Promise<FleetReport> {
    const fresh = await readFleet(this.opts.readers, { timeoutMs: this.opts.timeoutMs, clock: this.opts.clock });
    const rows = fresh.targets.map((row) => {
      if (row.error === null) {
        this.lastGood.set(row.name, row);
        return row;
      }
      this.metrics.countReadError(row.name, row.error.code);
      return { ...row, lastSuccessfulRead: this.lastGood.get(row.name)?.lastSuccessfulRead ?? null };
    });
    this.current = { ...fresh, targets: rows };
    this.metrics.update(rows, this.lastGood);
    this.reads += 1;
    this.opts.onRead?.(this.current);
    return this.current;
  }

  /** Reads, then waits an interval, until `signal` aborts; `readFirst: false` waits first (the caller just read). */
  async run(signal: AbortSignal, { readFirst = true }: { readFirst?: boolean } = {}): Promise<void> {
    if (!readFirst) await this.opts.timers.sleep(this.opts.intervalMs, signal);
    while (!signal.aborted) {
      await this.readOnce();
      if (signal.aborted) break;
      await this.opts.timers.sleep(this.opts.intervalMs, signal);
    }
  }

  close(): void {
    for (const r of this.opts.readers) r.close?.();
  }
}
