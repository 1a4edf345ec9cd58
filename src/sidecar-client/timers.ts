/**
 * Waiting, injected: the renewal loop and the retry loops sleep through a `Timers` so tests drive
 * them with a fake clock instead of waiting (DEVELOPERS.md: time is injected).
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface Timers {
  /**
   * Resolves after `ms` milliseconds, or as soon as `signal` aborts (resolving, not rejecting,
   * so callers just re-check their stop flag).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real timers (node:timers/promises). */
export const systemTimers: Timers = {
  async sleep(ms, signal) {
    if (signal?.aborted) return;
    try {
      await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
    } catch (error) {
      if ((error as { name?: string }).name !== 'AbortError') throw error;
    }
  },
};
