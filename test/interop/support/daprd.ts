/**
 * Real self-hosted daprd sidecars with mTLS from a sentry, each in front of a tiny HTTP app, all on
 * 127.0.0.1.
 *
 * Name resolution: daprd's self-hosted default is mDNS (multicast, and only compiled in with Dapr's
 * component build tags). The tests use Dapr's `nameformat` resolver instead, with a format that
 * turns an app ID into a gRPC passthrough target on loopback: `passthrough://{appid}/127.0.0.1:<port>`
 * (grpc-go's passthrough resolver ignores the authority, which carries the app ID). So a daprd must
 * be built with `nameformat` registered (see README, "Checking against real Dapr").
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { binary } from './binaries.js';
import { freePorts, startProc, waitForHttp, type Proc } from './processes.js';

/** A request an app received: what daprd forwarded. */
export interface AppRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export interface TinyApp {
  id: string;
  port: number;
  received: AppRequest[];
  close(): Promise<void>;
}

/** An HTTP app that answers every request with `hello from <id>` and records it. */
export async function startTinyApp(id: string): Promise<TinyApp> {
  const received: AppRequest[] = [];
  const server: Server = createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello from ${id}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    id, received, port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface DaprdPorts {
  http: number;
  grpc: number;
  internalGrpc: number;
}

export interface RunningDaprd {
  appId: string;
  proc: Proc;
  ports: DaprdPorts;
  app: TinyApp;
}

export async function allocateDaprdPorts(): Promise<DaprdPorts> {
  const [http, grpc, internalGrpc] = (await freePorts(3)) as [number, number, number];
  return { http, grpc, internalGrpc };
}

/** The daprd Configuration: mTLS on, and app IDs resolved to `peerInternalGrpcPort` on loopback. */
export function writeDaprdConfig(dir: string, appId: string, peerInternalGrpcPort: number): string {
  const file = join(dir, `${appId}-config.yaml`);
  writeFileSync(file, [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Configuration',
    'metadata:',
    `  name: ${appId}-config`,
    'spec:',
    '  mtls:',
    '    enabled: true',
    '  nameResolution:',
    '    component: nameformat',
    '    configuration:',
    `      format: "passthrough://{appid}/127.0.0.1:${peerInternalGrpcPort}"`,
    '',
  ].join('\n'));
  return file;
}

export interface DaprdOptions {
  appId: string;
  app: TinyApp;
  ports: DaprdPorts;
  configFile: string;
  sentryAddress: string;
  trustAnchorsPem: string;
  /** A directory for daprd's HOME and its (empty) resources path. */
  dir: string;
  controlPlaneTrustDomain?: string;
}

/** Starts daprd and waits until its health endpoint says it is ready (mTLS identity included). */
export async function startDaprd(o: DaprdOptions): Promise<RunningDaprd> {
  const home = join(o.dir, `${o.appId}-home`);
  const resources = join(o.dir, `${o.appId}-resources`);
  mkdirSync(home, { recursive: true });
  mkdirSync(resources, { recursive: true });
  const proc = startProc(`daprd ${o.appId}`, binary('DAPRD'), [
    '--mode', 'standalone', '--app-id', o.appId,
    '--app-port', String(o.app.port), '--app-channel-address', '127.0.0.1',
    '--dapr-http-port', String(o.ports.http), '--dapr-grpc-port', String(o.ports.grpc),
    '--dapr-internal-grpc-port', String(o.ports.internalGrpc), '--dapr-internal-grpc-listen-address', '127.0.0.1',
    '--dapr-listen-addresses', '127.0.0.1', '--enable-metrics=false',
    '--enable-mtls', '--sentry-address', o.sentryAddress, '--config', o.configFile,
    '--resources-path', resources, '--log-level', 'debug',
  ], {
    HOME: home, NAMESPACE: 'default', DAPR_TRUST_ANCHORS: o.trustAnchorsPem,
    DAPR_CONTROLPLANE_TRUST_DOMAIN: o.controlPlaneTrustDomain ?? 'localhost',
  });
  await waitForHttp(proc, o.ports.http, '/v1.0/healthz', 204);
  return { appId: o.appId, proc, ports: o.ports, app: o.app };
}

/**
 * The two-app mesh the interop tests call through: app-a and app-b, each behind its daprd, each
 * daprd resolving the other. Pushes into `apps` and `daprds` as they start, so the caller's
 * `after` stops whatever did start even when the other half failed.
 */
export async function startAppPair(
  o: { sentryAddress: string; trustAnchorsPem: string; dir: string },
  apps: TinyApp[], daprds: RunningDaprd[],
): Promise<void> {
  const [a, b] = await Promise.all([startTinyApp('app-a'), startTinyApp('app-b')]);
  apps.push(a, b);
  const [portsA, portsB] = await Promise.all([allocateDaprdPorts(), allocateDaprdPorts()]);
  daprds.push(...await Promise.all([
    startDaprd({ ...o, appId: 'app-a', app: a, ports: portsA, configFile: writeDaprdConfig(o.dir, 'app-a', portsB.internalGrpc) }),
    startDaprd({ ...o, appId: 'app-b', app: b, ports: portsB, configFile: writeDaprdConfig(o.dir, 'app-b', portsA.internalGrpc) }),
  ]));
}

/** Stops what `startAppPair` and the test started, daprds first, and removes `dir`. */
export async function stopAppPair(o: { daprds: RunningDaprd[]; sentry: { proc: { stop(): Promise<void> } } | undefined; apps: TinyApp[]; dir: string | undefined }): Promise<void> {
  await Promise.all(o.daprds.map((d) => d.proc.stop()));
  await o.sentry?.proc.stop();
  await Promise.all(o.apps.map((a) => a.close()));
  if (o.dir) rmSync(o.dir, { recursive: true, force: true });
}
