/**
 * A fake wall clock plus fake timers for driving the renewal loop without waiting. Timer time is
 * monotonic and separate from the wall clock, so a test can jump the wall clock (a suspend, an NTP
 * step) without firing timers, exactly the case the one-minute re-check exists for.
 */
import type { Clock } from '../../../src/core/clock.js';
import type { Timers } from '../../../src/sidecar-client/timers.js';

interface Sleeper {
  wakeAt: number;
  resolve: () => void;
}

export class FakeTime implements Clock, Timers {
  private wallMs: number;
  private monoMs = 0;
  private sleepers: Sleeper[] = [];
  /** Every duration passed to sleep(), in call order. */
  readonly sleeps: number[] = [];

  constructor(start: Date) {
    this.wallMs = start.getTime();
  }

  now(): Date {
    return new Date(this.wallMs);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      const sleeper: Sleeper = {
        wakeAt: this.monoMs + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of pending sleeps. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** Moves the wall clock only (timers do not fire). */
  jumpWallClock(ms: number): void {
    this.wallMs += ms;
  }

  /**
   * Lets `ms` of time pass for both clocks, firing due sleepers in order and letting the code they
   * wake run (including any real I/O it awaits) before moving on.
   */
  async advance(ms: number): Promise<void> {
    const target = this.monoMs + ms;
    for (;;) {
      await settle();
      const next = this.sleepers.filter((s) => s.wakeAt <= target).sort((a, b) => a.wakeAt - b.wakeAt)[0];
      if (next === undefined) break;
      this.wallMs += next.wakeAt - this.monoMs;
      this.monoMs = next.wakeAt;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.resolve();
    }
    this.wallMs += target - this.monoMs;
    this.monoMs = target;
    await settle();
  }
}

/** Lets pending promise callbacks and immediate I/O callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
