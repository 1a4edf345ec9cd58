/**
 * `warden sentry` as a separate process for the `grpc` suite: the built CLI (`bin/warden.js`),
 * listening on 127.0.0.1 only, on free ports, with an orphan guard so it never outlives the
 * benchmark. Before starting, `sentryUnavailable()` says why the sentry cannot be benchmarked yet.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SENTRY_NODE_FLAGS } from '../src/sentry/heap-limits.js';
import { freePorts } from '../test/support/free-ports.js';
import { spawnChild, stopChild } from './children.js';
import { sleep } from './measure.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WARDEN_BIN = join(REPO_ROOT, 'bin', 'warden.js');
const ORPHAN_GUARD = join(REPO_ROOT, 'bench', 'support', 'orphan-guard.mjs');

export interface SentryProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  metricsPort: number;
  /** Worker processes asked for (`--workers`); 1 = the single-process default. */
  workers: number;
  /** The last lines the sentry wrote (stdout and stderr), for error messages. */
  outputTail(): string;
  /** Throws when the sentry is no longer running: figures measured against a dead server mean nothing. */
  assertRunning(phase: string): void;
  stop(): Promise<void>;
}

/** Why `warden sentry` cannot be started, or undefined when it can. Also returns its help text. */
export function sentryUnavailable(): { reason?: string; help: string } {
  if (!existsSync(join(REPO_ROOT, 'src', 'sentry', 'server.ts'))) return { reason: 'src/sentry/server.ts does not exist yet', help: '' };
  for (const built of ['dist/cli/main.js', 'dist/sentry/server.js']) {
    if (!existsSync(join(REPO_ROOT, built))) return { reason: `${built} is missing: run \`npm run build\` (or \`npm run bench\`, which builds first)`, help: '' };
  }
  const help = spawnSync(process.execPath, [WARDEN_BIN, 'sentry', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 15_000 });
  const text = `${help.stdout ?? ''}${help.stderr ?? ''}`;
  if (help.status !== 0 || !text.includes('--issuer-credentials') || !text.includes('--port')) {
    return { reason: `\`warden sentry --help\` did not list --issuer-credentials and --port (exit ${help.status}): ${text.trim().slice(0, 300)}`, help: text };
  }
  return { help: text };
}

export { freePorts };

function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Starts the sentry on the credentials in `credentialsDir` and waits until /healthz says 200. */
export async function startSentryProcess(credentialsDir: string, help: string, opts: { workers?: number; readyTimeoutMs?: number; args?: readonly string[] } = {}): Promise<SentryProcess> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const workers = opts.workers !== undefined && opts.workers > 1 && help.includes('--workers') ? opts.workers : 1;
  const [port, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const args = [WARDEN_BIN, 'sentry', '--issuer-credentials', credentialsDir, '--port', String(port), '--healthz-port', String(healthzPort)];
  const optional: Array<[string, string]> = [
    ['--listen-address', '127.0.0.1'], ['--healthz-listen-address', '127.0.0.1'],
    ['--metrics-port', String(metricsPort)], ['--metrics-listen-address', '127.0.0.1'],
  ];
  for (const [flag, value] of optional) if (help.includes(flag)) args.push(flag, value);
  if (workers > 1) args.push('--workers', String(workers));
  args.push(...(opts.args ?? []));
  const child = spawnChild(process.execPath, [...SENTRY_NODE_FLAGS, '--import', ORPHAN_GUARD, ...args], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NAMESPACE: 'default' },
  });
  return superviseSentryChild(child, { name: 'warden sentry', port, healthzPort, metricsPort, workers, readyTimeoutMs });
}

/**
 * A sentry child process (Warden's or Dapr's) as a SentryProcess: keeps its last 40 lines of
 * output for error messages and resolves once its /healthz says 200; a process that exits or stays
 * unhealthy past `readyTimeoutMs` is an error with that output (and is stopped).
 */
export async function superviseSentryChild(child: ChildProcess, o: {
  name: string; port: number; healthzPort: number; metricsPort: number; workers: number; readyTimeoutMs: number;
}): Promise<SentryProcess> {
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const sentry: SentryProcess = {
    child, pid: child.pid ?? -1, port: o.port, metricsPort: o.metricsPort, workers: o.workers, outputTail: () => tail.join('\n'), stop: () => stopChild(child, 5000),
    assertRunning: (phase) => {
      if (exited()) throw new Error(`${o.name} exited (${child.exitCode ?? child.signalCode}) during ${phase}:\n${tail.join('\n')}`);
    },
  };
  const deadline = performance.now() + o.readyTimeoutMs;
  while ((await healthz(o.healthzPort)) !== 200) {
    if (exited()) throw new Error(`${o.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${sentry.outputTail()}`);
    if (performance.now() > deadline) {
      await sentry.stop();
      throw new Error(`${o.name} was not healthy within ${o.readyTimeoutMs} ms:\n${sentry.outputTail()}`);
    }
    await sleep(100);
  }
  return sentry;
}
