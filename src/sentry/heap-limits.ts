/**
 * V8 young-generation limits for the sentry (issue 12: peak memory in a restart storm).
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

/** The Node options every launcher of the sentry passes (see above). */
export const SENTRY_NODE_FLAGS: readonly string[] = Object.freeze([`--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`]);

/** Each signing thread's young generation (MiB), as `resourceLimits.maxYoungGenerationSizeMb`. */
export const SIGN_THREAD_YOUNG_GENERATION_MB = 8;

/**
 * The semi-space limit the main thread was started with (MiB), from the command line or
 * NODE_OPTIONS (the later one wins, as in Node), or undefined when Node's default applies.
 */
export function mainSemiSpaceLimitMb(execArgv: readonly string[], nodeOptions: string | undefined): number | undefined {
  let limit: number | undefined;
  const args = [...(nodeOptions ?? '').split(/\s+/).filter((a) => a !== ''), ...execArgv];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!.replace(/_/g, '-');
    const inline = /^--max-semi-space-size=(\d+)$/.exec(arg);
    if (inline) limit = Number(inline[1]);
    else if (arg === '--max-semi-space-size' && /^\d+$/.test(args[i + 1] ?? '')) limit = Number(args[++i]);
  }
  return limit;
}
