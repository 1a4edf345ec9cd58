/**
 * The Node options a worker thread starts with. A worker inherits the process's execArgv unless
 * given its own, and some of those options are only valid for the main script: `--input-type` is
 * refused unless the code comes from `-e`/`-p`/stdin, so a sentry started with
 * `node --input-type=module -e '...'` had every signing thread die at start ("A signing thread
 * failed") and calls that reached one fail with INTERNAL.
 *
 * An explicit list is validated by Node, which refuses per-process and V8 options (the test runner's
 * children carry `--stack-trace-limit`, `--secure-heap`, ...). So: inherit as before when there is
 * nothing to drop; otherwise the list without the main-script options, and if Node refuses that,
 * only the options that decide how modules load (`--import tsx` and the like).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

const MAIN_ONLY_WITH_VALUE = new Set(['--input-type', '-e', '--eval', '-p', '--print']);
const MAIN_ONLY_FLAGS = new Set(['-i', '--interactive', '-c', '--check']);
const LOADER_WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);

const nameOf = (arg: string): string => (arg.startsWith('--') ? arg.split('=', 1)[0]! : arg);
const takesNext = (arg: string, i: number, argv: readonly string[]): boolean => !arg.includes('=') && i + 1 < argv.length;

/** `execArgv` without the options only the main script may have. */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = nameOf(arg);
    if (MAIN_ONLY_FLAGS.has(name)) continue;
    if (MAIN_ONLY_WITH_VALUE.has(name)) {
      if (takesNext(arg, i, execArgv)) i++; // the value is the next element
      continue;
    }
    kept.push(arg);
  }
  return kept;
}

/** Only the options that decide how modules load, with their values. */
export function loaderExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (!LOADER_WITH_VALUE.has(nameOf(arg))) continue;
    kept.push(arg);
    if (takesNext(arg, i, execArgv)) kept.push(execArgv[++i]!);
  }
  return kept;
}

/** A worker on `entry` that starts whatever main-script options this process was given. */
export function startWorker(entry: URL, execArgv: readonly string[] = process.execArgv, options: WorkerOptions = {}): Worker {
  const filtered = workerExecArgv(execArgv);
  if (filtered.length === execArgv.length) return new Worker(entry, options); // nothing to drop: inherit
  try {
    return new Worker(entry, { ...options, execArgv: filtered });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    return new Worker(entry, { ...options, execArgv: loaderExecArgv(execArgv) });
  }
}
