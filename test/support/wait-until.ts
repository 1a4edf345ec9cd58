/**
 * Polls `probe` until it returns something other than undefined/false, or throws after `timeoutMs`.
 * The bound is for a hang, not a speed check: keep it generous (a loaded CI machine is slow), and
 * put speed in a benchmark.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, pollMs = 25): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
