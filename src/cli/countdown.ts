/**
 * A countdown while `warden mtls rotate` waits workload TTL + clock skew before retiring the old
 * root (issue 13, rough edge 12): the wait can last a day, and one "Waiting until …" line leaves
 * the user guessing whether anything still runs.
 * - On a terminal: one line redrawn every second, `⌛  [retire-old-root] 23h59m58s left (until …)`.
 * - Piped (logs, CI, tests): the same line at the start and then every `lineEveryMs` (10 minutes).
 * It wraps the engine's Sleeper, sleeping in steps on the injected clock, so a test's clock-moving
 * sleeper drives it and Ctrl-C (the signal) still ends the wait at once.
 */
import type { Clock } from '../core/clock.js';
import { formatGoDuration } from '../core/duration.js';
import { describeTime } from '../core/checks/labels.js';
import type { Sleeper } from '../rotation-engine/backend.js';
import type { Io } from './io.js';
import { STATUS_PREFIX } from './output.js';

export interface CountdownOptions {
  clock: Clock;
  /** Redraw one line in place (a terminal) instead of printing a line now and then. */
  interactive: boolean;
  /** What is being waited for, at the start of each line, e.g. `[retire-old-root]`. */
  label: string;
  /** Piped: print a line this often (default 10 minutes). */
  lineEveryMs?: number;
  /** Terminal: redraw this often (default 1 s). */
  redrawEveryMs?: number;
}

const CLEAR_LINE = '\r\u001b[K';

/** A redrawn line only on a real terminal (Io has no TTY flag; tests and pipes get lines). */
export function isInteractive(io: Io): boolean {
  return process.stdout.isTTY === true && io.env.CI === undefined && io.env.TERM !== 'dumb';
}

/** `inner`, printing a countdown on `io` while it sleeps. */
export function countdownSleeper(inner: Sleeper, io: Io, opts: CountdownOptions): Sleeper {
  const step = opts.interactive ? (opts.redrawEveryMs ?? 1000) : (opts.lineEveryMs ?? 10 * 60_000);
  return {
    async sleep(ms: number, signal?: AbortSignal): Promise<void> {
      const start = opts.clock.now().getTime();
      const end = start + Math.max(0, ms);
      let slept = 0;
      // Progress counts the larger of the clock's advance and the time asked for, so a sleeper
      // that does not move the clock still ends the loop.
      const left = (): number => end - Math.max(opts.clock.now().getTime(), start + slept);
      const line = (): string => `${STATUS_PREFIX.pending}${opts.label} ${formatLeft(left())} left (until ${describeTime(new Date(end))})`;
      while (left() > 0 && signal?.aborted !== true) {
        io.stdout(opts.interactive ? `${CLEAR_LINE}${line()}` : `${line()}\n`);
        const chunk = Math.min(step, left());
        await inner.sleep(chunk, signal);
        slept += chunk;
      }
      if (opts.interactive) io.stdout(CLEAR_LINE);
    },
  };
}

/** Whole seconds as a Go duration: `23h59m58s`. */
function formatLeft(ms: number): string {
  return formatGoDuration(Math.ceil(ms / 1000) * 1000);
}
