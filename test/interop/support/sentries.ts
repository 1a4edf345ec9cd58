/**
 * The two CAs side by side: `warden sentry` (the built CLI, port 0, its ports read from its
 * "Sentry started" log line) and Dapr's own sentry (free ports, ready when /healthz says 200).
 * Both serve SignCertificate over TLS as `spiffe://<trust domain>/ns/default/dapr-sentry`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binary } from './binaries.js';
import { freePorts, startProc, waitForHttp, WARDEN_BIN, type Proc } from './processes.js';

export interface RunningSentry {
  proc: Proc;
  /** SignCertificate (gRPC over TLS). */
  port: number;
  healthzPort: number;
  metricsPort: number;
  address: string;
}

/** A Dapr `Configuration` file with the mTLS settings both sentries read (`--config`). */
export function writeSentryConfig(dir: string, mtls: { workloadCertTTL?: string; allowedClockSkew?: string } = {}): string {
  const file = join(dir, 'sentry-config.yaml');
  writeFileSync(file, [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Configuration',
    'metadata:',
    '  name: daprsystem',
    'spec:',
    '  mtls:',
    '    enabled: true',
    `    workloadCertTTL: ${mtls.workloadCertTTL ?? '24h'}`,
    `    allowedClockSkew: ${mtls.allowedClockSkew ?? '15m'}`,
    '',
  ].join('\n'));
  return file;
}

export async function startWardenSentry(credentials: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<RunningSentry> {
  const proc = startProc('warden sentry', process.execPath, [
    WARDEN_BIN, 'sentry', '--issuer-credentials', credentials,
    '--port', '0', '--listen-address', '127.0.0.1', '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1',
    '--metrics-port', '0', '--metrics-listen-address', '127.0.0.1', ...extraArgs,
  ], { NAMESPACE: 'default', ...env });
  const line = await proc.waitForLine(/"msg":"Sentry started/, 'warden sentry to serve');
  const record = JSON.parse(line) as { port: number; healthzPort: number; metricsPort: number };
  return { proc, port: record.port, healthzPort: record.healthzPort, metricsPort: record.metricsPort, address: `127.0.0.1:${record.port}` };
}

export async function startDaprSentry(credentials: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<RunningSentry> {
  const [port, healthzPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const proc = startProc('dapr sentry', binary('DAPR_SENTRY'), [
    '--issuer-credentials', credentials, '--port', String(port), '--listen-address', '127.0.0.1',
    '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1',
    '--metrics-port', String(metricsPort), '--metrics-listen-address', '127.0.0.1', '--log-level', 'debug', ...extraArgs,
  ], { NAMESPACE: 'default', ...env });
  await waitForHttp(proc, healthzPort, '/healthz', 200);
  return { proc, port, healthzPort, metricsPort, address: `127.0.0.1:${port}` };
}
