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

/**
 * The real process: its streams, environment, working directory and the system clock. Output to
 * a reader that went away (`warden mtls verify | head -1`) is dropped rather than crashing the
 * command, so it finishes and exits with its real outcome (see `writerIgnoringClosedReader`).
 */
export function processIo(): Io {
  return {
    stdout: writerIgnoringClosedReader(process.stdout),
    stderr: writerIgnoringClosedReader(process.stderr),
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
  };
}

/**
 * A writer for `stream` that stops writing once the reader has closed the pipe (EPIPE) instead of
 * letting the unhandled 'error' event end the process with exit 1 halfway through a command (after
 * renew-certificate wrote the bundle, say). Other stream errors are rethrown as before.
 */
export function writerIgnoringClosedReader(stream: NodeJS.WritableStream): (s: string) => void {
  let readerGone = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    readerGone = true;
  });
  return (s) => {
    if (!readerGone && stream.writable) stream.write(s);
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
