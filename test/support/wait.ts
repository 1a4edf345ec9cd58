/**
 * Waiting in tests: for a condition, never for a fixed time. Where no event can be subscribed to,
 * `until` re-checks on a short interval; its bound is a safety net for a hang (generous, so a
 * loaded machine never reaches it) and failing it says what was awaited.
 */

/** A bound no healthy wait comes near, even with two test suites at once on two cores. */
export const HANG_MS = 120_000;

/** Resolves once `condition` holds (checked now and every `intervalMs`); rejects after `timeoutMs` naming `what`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = HANG_MS, intervalMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Awaits an event-driven `promise`, bounded by HANG_MS. The bound's timer also keeps the event
 * loop alive: a promise settled only by an unref'd source (a non-persistent file watch, an unref'd
 * timer) would otherwise let the test process end with the test still pending.
 */
export async function event<T>(promise: Promise<T>, what: string, timeoutMs = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}
