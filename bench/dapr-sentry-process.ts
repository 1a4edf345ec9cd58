/**
 * Dapr's own sentry as a separate process, for `npm run bench -- grpc --target dapr`: the binary
 * named by DAPR_SENTRY (never part of the repository; README, "Checking against real Dapr"),
 * listening on 127.0.0.1 only, on free ports, ready when /healthz says 200. It exposes the same
 * `dapr_sentry_cert_sign_*_total` counters the h2load runs are checked against.
 */
import { accessSync, constants, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { spawnChild, stopChild } from './children.js';
import { sleep } from './measure.js';
import { freePorts, REPO_ROOT, type SentryProcess } from './sentry-process.js';

/** Why Dapr's sentry cannot be benchmarked (DAPR_SENTRY unset or not executable), or undefined. */
export function daprSentryUnavailable(): string | undefined {
  const path = process.env['DAPR_SENTRY'];
  if (path === undefined || path === '') return "DAPR_SENTRY is not set (path to Dapr's sentry binary)";
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `DAPR_SENTRY=${path} is not an executable file`;
  }
  return undefined;
}

/** The Configuration both sentries get: Dapr's defaults written out (Dapr's sentry needs a file). */
export function writeBenchSentryConfig(dir: string): string {
  const file = join(dir, 'sentry-config.yaml');
  writeFileSync(file, 'kind: Configuration\nspec:\n  mtls:\n    enabled: true\n    workloadCertTTL: 24h\n    allowedClockSkew: 15m\n');
  return file;
}

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

export async function startDaprSentryProcess(credentialsDir: string, configFile: string, readyTimeoutMs = 30_000): Promise<SentryProcess> {
  const binary = process.env['DAPR_SENTRY'] ?? '';
  const [port, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const child = spawnChild(binary, [
    '--issuer-credentials', credentialsDir, '--config', configFile, '--trust-domain', 'localhost',
    '--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1',
    '--metrics-port', String(metricsPort), '--metrics-listen-address', '127.0.0.1', '--log-level', 'info',
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NAMESPACE: 'default' } });
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const sentry: SentryProcess = {
    child, pid: child.pid ?? -1, port, metricsPort, workers: 1, outputTail: () => tail.join('\n'), stop: () => stopChild(child, 5000),
    assertRunning: (phase) => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Dapr's sentry exited (${child.exitCode ?? child.signalCode}) during ${phase}:\n${tail.join('\n')}`);
    },
  };
  const deadline = performance.now() + readyTimeoutMs;
  while ((await healthz(healthzPort)) !== 200) {
    sentry.assertRunning('start-up');
    if (performance.now() > deadline) {
      await sentry.stop();
      throw new Error(`Dapr's sentry was not healthy within ${readyTimeoutMs} ms:\n${sentry.outputTail()}`);
    }
    await sleep(100);
  }
  return sentry;
}
