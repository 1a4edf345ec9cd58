/**
 * Simulated time for the auto-renew tests: a Clock plus two kinds of sleepers the test moves on
 * explicitly, and a bounded wait for a condition (no fixed sleeps).
 */
import type { Clock } from '../../src/core/clock.js';
import type { Timers } from '../../src/sidecar-client/timers.js';

interface Waiter {
  wakeAt: number;
  resolve: () => void;
}

/**
 * Simulated time. `exact` sleepers (the renewer and the engine) wake at their time; `coarse` ones
 * (the workloads' renewal loops, which re-read the clock every simulated minute) wake at the next
 * step the driver takes, so a year is thousands of steps, not half a million.
 */
export class SimTime implements Clock {
  private ms: number;
  private exactWaiters: Waiter[] = [];
  private coarseWaiters: Waiter[] = [];
  constructor(start: number) {
    this.ms = start;
  }
  now(): Date {
    return new Date(this.ms);
  }
  private sleeper(list: 'exactWaiters' | 'coarseWaiters'): Timers {
    return {
      sleep: (ms, signal) => {
        if (signal?.aborted) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const waiter: Waiter = { wakeAt: this.ms + Math.max(0, ms), resolve: () => { signal?.removeEventListener('abort', onAbort); resolve(); } };
          const onAbort = (): void => {
            this[list] = this[list].filter((w) => w !== waiter);
            resolve();
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          this[list].push(waiter);
        });
      },
    };
  }
  readonly exact = this.sleeper('exactWaiters');
  readonly coarse = this.sleeper('coarseWaiters');
  get pending(): { exact: number; coarse: number } {
    return { exact: this.exactWaiters.length, coarse: this.coarseWaiters.length };
  }
  /** Moves to the earliest exact wake-up or `maxStep` ahead, whichever is first, and wakes who is due. */
  step(maxStep: number): void {
    const nextExact = Math.min(...this.exactWaiters.map((w) => w.wakeAt));
    const target = Math.max(this.ms, Math.min(this.ms + maxStep, nextExact));
    this.ms = target;
    for (const list of ['exactWaiters', 'coarseWaiters'] as const) {
      const due = this[list].filter((w) => w.wakeAt <= target);
      this[list] = this[list].filter((w) => w.wakeAt > target);
      for (const w of due) w.resolve();
    }
  }
  /** Wakes everyone (shutdown). */
  releaseAll(): void {
    for (const w of [...this.exactWaiters, ...this.coarseWaiters]) w.resolve();
    this.exactWaiters = [];
    this.coarseWaiters = [];
  }
}

/** Waits (bounded, polling the event loop, no fixed sleep) until `cond` holds. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let i = 0; ; i++) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => (i < 50 ? setImmediate(r) : setTimeout(r, 2)));
  }
}

