/** Running bin/sentry as Dapr's chart would: free ports, a child process, /healthz, logrus logfmt. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../cli/helpers.js';
import { freePorts } from '../support/free-ports.js';

export const SENTRY_BIN = join(REPO, 'bin', 'sentry.js');

/** The chart's args with the test's free ports and loopback addresses in place of the chart's. */
export async function withTestPorts(args: readonly string[]): Promise<{ args: string[]; healthzPort: number; metricsPort: number }> {
  // Held together, so they differ (one at a time, a released port can come back as the next one).
  const [port, healthzPort, metricsPort, oidcPort] = await freePorts(4);
  const out = [...args];
  if (out.includes('--metrics-port')) out[out.indexOf('--metrics-port') + 1] = String(metricsPort);
  const oidcAddress = out.indexOf('--oidc-server-listen-address=0.0.0.0');
  if (oidcAddress >= 0) out.splice(oidcAddress, 1, '--oidc-server-listen-address=127.0.0.1', `--oidc-server-listen-port=${oidcPort}`);
  out.push('--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort),
    '--healthz-listen-address', '127.0.0.1', '--metrics-listen-address', '127.0.0.1');
  return { args: out, healthzPort, metricsPort };
}

export interface Run {
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill: () => void;
}

export function startSentryBin(args: readonly string[], env: Record<string, string>, bin = SENTRY_BIN): Run {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: REPO, env: { ...process.env, WARDEN_LOG_LEVEL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { stdout: () => out, stderr: () => err, exited, kill: () => { if (child.exitCode === null) child.kill('SIGTERM'); } };
}

export async function healthStatus(port: number): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })).status;
  } catch {
    return undefined;
  }
}

/** logfmt as logrus writes it: `key=bare` or `key="Go-quoted"`; keys in order. */
export function parseLogfmt(line: string): [string, string][] {
  const pairs: [string, string][] = [];
  const re = /([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))(?:\s|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) pairs.push([m[1]!, m[2] !== undefined ? JSON.parse(`"${m[2]}"`) as string : m[3]!]);
  assert.equal(re.lastIndex === 0 ? line.length : re.lastIndex, line.length, `not logfmt to the end: ${line}`);
  return pairs;
}

export async function stopAndExitCode(run: Run): Promise<number | null> {
  run.kill();
  return Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref())]) as Promise<number | null>;
}
