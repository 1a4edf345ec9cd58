/**
 * V8 heap limits and the signing threads' Buffer pool for the sentry (issue 12: peak memory in a
 * restart storm).
 *
 * Node 24's V8 grows each isolate's new space up to 64 MiB under a high allocation rate, and what
 * survives fills old-space pages that stay committed. After the throughput runs of
 * `npm run bench -- grpc --sentry-workers 1` the main thread's heap stood at ~185 MiB and the
 * signing thread's at ~139 MiB (live objects: ~60 and ~30 MiB), so the restart storms started from
 * ~600 MiB. With 4 MiB semi-spaces on the main thread and an 8 MiB young generation on the signing
 * threads the storm's peak fell from 678-687 MiB to 476-492 MiB, and to 418 MiB once each call no
 * longer copied 64 KiB into the thread (sign-thread-messages.ts); throughput within the run-to-run
 * noise then (figures: docs/operations.md, "Memory after a restart storm"). 2 MiB semi-spaces gave
 * 398-422 MiB, 8 MiB 419 MiB, V8's default 545 MiB.
 *
 * A worker thread's limit is set where it is started (`resourceLimits`). The main thread's can only
 * be set when Node starts: `v8.setFlagsFromString` later does not resize a heap that exists
 * (measured: new space still grew to 64 MiB). So the launchers pass SENTRY_NODE_FLAGS: the
 * shebang of bin/warden.js and bin/sentry.js (`env -S`), `npm start`, and the benchmark; `--workers`
 * processes inherit them through `process.execArgv`.
 */

/** The main thread's semi-space limit (MiB); its young generation is three of them. */
export const MAIN_SEMI_SPACE_MB = 4;

/**
 * How far V8 lets the old generation grow past what survived the last full collection, in percent
 * (V8's own factor is 1.1 to 4 ×, chosen by how fast the program allocates). Under steady load
 * the sentry's heaps are mostly garbage waiting for that collection: after the throughput runs the
 * V8 pages of both threads stood at ~100 MiB, with ~15 MiB alive in the main thread. At 20 % they
 * stood at ~50 MiB and the storm's peak fell by ~20 MiB; 50 % gave the same peaks (369-392 MiB
 * against 380-398, five runs each) with fewer full collections (storm 2.2-2.4 s against 2.2-2.7 s).
 * Certs/s stayed within the noise; p99 at 16 in flight rose from ~9 to ~14 ms. V8 takes this flag
 * on the command line only (not in NODE_OPTIONS); it applies to every isolate, signing threads too.
 */
export const HEAP_GROWING_PERCENT = 50;

/** The Node options every launcher of the sentry passes (see above). */
export const SENTRY_NODE_FLAGS: readonly string[] = Object.freeze([
  `--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`,
  `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
]);

/** Each signing thread's young generation (MiB), as `resourceLimits.maxYoungGenerationSizeMb`. */
export const SIGN_THREAD_YOUNG_GENERATION_MB = 8;

/**
 * Each signing thread's `Buffer.poolSize` (bytes): Node 22's 8 KiB, not Node 24's 64 KiB. A signing
 * request takes dozens of small Buffers from the pool (DER parts, Buffer.concat), and a slab stays
 * allocated while any of them lives; with 64 KiB slabs the thread held up to 24 MiB of them
 * (external memory) in the throughput runs, and its malloc arena grew to match.
 */
export const SIGN_THREAD_BUFFER_POOL_BYTES = 8 * 1024;

/**
 * The semi-space limit the main thread was started with (MiB), from the command line or
 * NODE_OPTIONS (the later one wins, as in Node), or undefined when Node's default applies.
 */
export function mainSemiSpaceLimitMb(execArgv: readonly string[], nodeOptions: string | undefined): number | undefined {
  return lastNumericFlag([...(nodeOptions ?? '').split(/\s+/).filter((a) => a !== ''), ...execArgv], 'max-semi-space-size');
}

/** The heap growing factor's percent the process was started with (command line only), or undefined. */
export function heapGrowingPercent(execArgv: readonly string[]): number | undefined {
  return lastNumericFlag(execArgv, 'heap-growing-percent');
}

/** The value of the last `--name=N` or `--name N` in `args` (V8 spelling with _ accepted). */
function lastNumericFlag(args: readonly string[], name: string): number | undefined {
  let value: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!.replace(/_/g, '-');
    const inline = arg.startsWith(`--${name}=`) ? arg.slice(name.length + 3) : undefined;
    if (inline !== undefined && /^\d+$/.test(inline)) value = Number(inline);
    else if (arg === `--${name}` && /^\d+$/.test(args[i + 1] ?? '')) value = Number(args[++i]);
  }
  return value;
}
