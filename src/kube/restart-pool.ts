/**
 * Runs `task` over `items` with at most `limit` in flight at once, in order of `items`; a
 * finished task immediately makes room for the next (no batches). Never rejects because of a
 * task: `task` reports its own outcome. Stops starting new tasks once `signal` aborts.
 */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a whole number ≥ 1, got ${limit}`);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted) {
      const index = next;
      next += 1;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
