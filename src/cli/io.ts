import { systemClock, type Clock } from '../core/clock.js';

/**
 * Everything a command may touch of the outside world besides files: output streams,
 * environment, working directory and time. Passed to every command so tests run commands
 * in-process with captured output and a fixed clock (design §4: commands are functions of
 * (options, io, deps)).
 *
 * `stdout`/`stderr` write the string exactly as given; callers add line ends.
 */
export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  clock: Clock;
}

/** The real process: its streams, environment, working directory and the system clock. */
export function processIo(): Io {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
  };
}

/** An Io that records everything written; for in-process tests. */
export interface CapturedIo extends Io {
  readonly out: string[];
  readonly err: string[];
  stdoutText(): string;
  stderrText(): string;
}

export function captureIo(base: Partial<Pick<Io, 'env' | 'cwd' | 'clock'>> = {}): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    env: base.env ?? {},
    cwd: base.cwd ?? process.cwd(),
    clock: base.clock ?? systemClock,
    stdoutText: () => out.join(''),
    stderrText: () => err.join(''),
  };
}
