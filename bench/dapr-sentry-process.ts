/**
 * Dapr's own sentry as a separate process, for `npm run bench -- grpc --target dapr`: the binary
 * named by DAPR_SENTRY (never part of the repository; README, "Checking against real Dapr"),
 * listening on 127.0.0.1 only, on free ports, ready when /healthz says 200. It exposes the same
 * `dapr_sentry_cert_sign_*_total` counters the h2load runs are checked against.
 */
import { accessSync, constants, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild } from './children.js';
import { freePorts, REPO_ROOT, superviseSentryChild, type SentryProcess } from './sentry-process.js';

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

export async function startDaprSentryProcess(credentialsDir: string, configFile: string, readyTimeoutMs = 30_000, extraArgs: readonly string[] = []): Promise<SentryProcess> {
  const binary = process.env['DAPR_SENTRY'] ?? '';
  const [port, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const child = spawnChild(binary, [
    '--issuer-credentials', credentialsDir, '--config', configFile, '--trust-domain', 'localhost',
    '--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1',
    '--metrics-port', String(metricsPort), '--metrics-listen-address', '127.0.0.1', '--log-level', 'info', ...extraArgs,
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NAMESPACE: 'default' } });
  return superviseSentryChild(child, { name: "Dapr's sentry", port, healthzPort, metricsPort, workers: 1, readyTimeoutMs });
}
