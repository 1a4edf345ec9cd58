/**
 * The measurement harness: a closed loop that keeps `inFlight` operations running for a fixed time
 * and counts completions, plus the small statistics the reports use. Every loop stops by itself:
 * the deadline is checked before each operation is started.
 */
import { performance } from 'node:perf_hooks';

/** One operation; `i` counts up from 0 so callers can cycle through a pool of inputs. */
export type Operation = (i: number) => Promise<unknown> | void;

export interface RunResult {
  ops: number;
  elapsedMs: number;
  /** Completed operations per second. */
  rate: number;
  /** CPU time of the whole process (all threads) per operation, µs: robust against other load on the machine. */
  cpuUsPerOp: number;
}

/**
 * Runs `op` for `durationMs` with `inFlight` operations outstanding at any time. A synchronous
 * `op` (returns nothing) with `inFlight` 1 runs in a tight loop. Rejections propagate: a benchmark
 * of failing operations is meaningless.
 */
export async function runFor(op: Operation, opts: { inFlight: number; durationMs: number; start?: number }): Promise<RunResult> {
  let next = opts.start ?? 0;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const pending = op(next++);
      if (pending !== undefined) await pending;
      done++;
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, worker));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ops: done, elapsedMs, rate: (done * 1000) / elapsedMs, cpuUsPerOp: (cpu.user + cpu.system) / done };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The `q` quantile (0..1) by linear interpolation between closest ranks; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
