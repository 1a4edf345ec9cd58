/**
 * How the test server's controllers let time pass. By default they wait real milliseconds; a test
 * that wants rollouts to move only when it says so gives the server a `ManualServerClock` and
 * calls `advance(ms)`: due callbacks run in due order (ties in registration order), including
 * ones scheduled by callbacks that ran, and the clock's `now()` moves with them, so status
 * timestamps and the rollout log read the test's time.
 */
import type { Clock } from '../../../src/core/clock.js';

export interface ServerTimers {
  /** Runs `fn` once `ms` of this clock's time has passed; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Real time (`setTimeout`). */
export const realTimers: ServerTimers = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export function isServerTimers(x: unknown): x is ServerTimers {
  return typeof (x as Partial<ServerTimers> | undefined)?.after === 'function';
}

interface Due {
  at: number;
  order: number;
  fn: () => void;
}

/** A clock and timers that move only on `advance`. */
export class ManualServerClock implements Clock, ServerTimers {
  private nowMs: number;
  private order = 0;
  private queue: Due[] = [];

  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.nowMs = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  after(ms: number, fn: () => void): () => void {
    const due: Due = { at: this.nowMs + Math.max(0, ms), order: ++this.order, fn };
    this.queue.push(due);
    return () => {
      this.queue = this.queue.filter((d) => d !== due);
    };
  }

  /** Callbacks not yet run. */
  get pending(): number {
    return this.queue.length;
  }

  /** Moves the clock `ms` forward, running every callback that falls due on the way; returns how many ran. */
  advance(ms: number): number {
    const target = this.nowMs + Math.max(0, ms);
    let ran = 0;
    for (;;) {
      const next = this.queue.filter((d) => d.at <= target).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (next === undefined) break;
      this.queue = this.queue.filter((d) => d !== next);
      this.nowMs = next.at;
      next.fn();
      ran += 1;
    }
    this.nowMs = target;
    return ran;
  }
}
