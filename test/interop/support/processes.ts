/**
 * Real processes for the interop tests: Warden's sentry (the built CLI), Dapr's sentry and daprd,
 * all on 127.0.0.1. Each is killed when the test process exits, whatever happens; its last output
 * lines go into every error message about it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { HANG_MS, until } from '../../support/wait.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const WARDEN_BIN = join(REPO, 'bin', 'warden.js');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Every output line so far (stdout and stderr). */
  lines: string[];
  exited: Promise<number | null>;
  isRunning(): boolean;
  /** The last `n` lines, for error messages. */
  tail(n?: number): string;
  /** Resolves with the first line (already seen or to come) matching `pattern`. */
  waitForLine(pattern: RegExp, what: string, timeoutMs?: number): Promise<string>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startProc(name: string, command: string, args: string[], env: Record<string, string | undefined> = {}, cwd = REPO): Proc {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onLine = (line: string): void => {
    lines.push(line);
    for (let k = waiters.length - 1; k >= 0; k--) if (waiters[k]!.pattern.test(line)) waiters.splice(k, 1)[0]!.resolve(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => {
    running.delete(child);
    resolve(code ?? (signal ? -1 : null));
  }));
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  const tail = (n = 30): string => lines.slice(-n).join('\n');
  return {
    name, child, lines, exited, isRunning, tail,
    waitForLine: (pattern, what, timeoutMs = HANG_MS) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}; last output:\n${tail()}`)), timeoutMs);
        waiters.push({ pattern, resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        } });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) while waiting for ${what}; last output:\n${tail()}`));
        });
      });
    },
    stop: async (graceMs = 5000) => {
      if (!isRunning()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export { freePorts } from '../../support/free-ports.js';

/** GET http://127.0.0.1:<port><path>; status 0 when nothing answers. */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => void (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', () => resolve({ status: 0, body, headers: {} }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '', headers: {} }));
  });
}

/** Waits until GET `path` answers `status` (the process must stay up meanwhile). */
export async function waitForHttp(proc: Proc, port: number, path: string, status: number, timeoutMs = HANG_MS): Promise<void> {
  await until(async () => {
    if (!proc.isRunning()) throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${path} answered ${status}; last output:\n${proc.tail()}`);
    return (await httpGet(port, path, {}, 2000)).status === status;
  }, `${proc.name}: GET ${path} → ${status} (last output:\n${proc.tail(10)})`, timeoutMs, 100);
}

/** Sum of a Prometheus counter's series on `port`'s /metrics. */
export async function readCounter(port: number, name: string): Promise<number> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`GET /metrics on ${port} answered ${status}`);
  return [...body.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
}
