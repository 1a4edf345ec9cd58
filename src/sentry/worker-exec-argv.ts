/**
 * The Node options a worker thread may start with. A worker inherits the process's execArgv unless
 * given its own, and some of those options are only valid for the main script: `--input-type` is
 * refused unless the code comes from `-e`/`-p`/stdin, so a sentry started with
 * `node --input-type=module -e '...'` had every signing thread die at start ("A signing thread
 * failed") and calls that reached one fail with INTERNAL. Everything else (`--import tsx`, heap
 * flags, ...) is kept, so the threads load the same way the main thread did.
 */
const WITH_VALUE = new Set(['--input-type', '-e', '--eval', '-p', '--print']);
const FLAG_ONLY = new Set(['-i', '--interactive', '-c', '--check']);

export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.startsWith('--') ? arg.split('=', 1)[0]! : arg;
    if (FLAG_ONLY.has(name)) continue;
    if (WITH_VALUE.has(name)) {
      if (!arg.includes('=') && i + 1 < execArgv.length) i++; // the value is the next element
      continue;
    }
    kept.push(arg);
  }
  return kept;
}
