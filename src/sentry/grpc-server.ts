/**
 * The gRPC listener: the CA service only (no health, reflection or other services, as Dapr),
 * bounded message size, keepalive to drop dead peers, and graceful shutdown.
 *
 * The TCP listener is our own, handing accepted sockets to grpc-js through its connection
 * injector: grpc-js listens with Node's default accept backlog (511) and has no option for it, and in
 * a restart storm of 2,000 sidecars the kernel dropped over 5,000 SYNs, each costing its client a
 * 1-3-7 s retransmission wait (bench/grpc.ts). Ours asks for LISTEN_BACKLOG.
 */
import { createServer, type Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { WardenError } from '../core/errors.js';
import { loadCaServiceDefinition, type SignCertificateRequest, type SignCertificateResponse } from '../wire/sentry-proto.js';

export interface GrpcListenOptions {
  listenAddress: string;
  port: number;
  maxReceiveMessageBytes: number;
  credentials: grpc.ServerCredentials;
  signCertificate: grpc.handleUnaryCall<SignCertificateRequest, SignCertificateResponse>;
}

export interface GrpcListener {
  readonly port: number;
  /** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then cancels them. */
  shutdown(graceMs: number): Promise<void>;
}

/** Accept queue length asked of the kernel (capped by net.core.somaxconn, 4096 on current kernels). */
export const LISTEN_BACKLOG = 4096;

export async function listenGrpc(options: GrpcListenOptions): Promise<GrpcListener> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    // Ping idle clients every 2 minutes and drop those that do not answer within 20 s.
    'grpc.keepalive_time_ms': 120_000,
    'grpc.keepalive_timeout_ms': 20_000,
    // daprd calls about twice a day; idle connections are closed (clients reconnect transparently).
    'grpc.max_connection_idle_ms': 30 * 60_000,
    // Channelz bookkeeping per connection and call serves no one here (no channelz service is exposed).
    'grpc.enable_channelz': 0,
  });
  server.addService(loadCaServiceDefinition(), { SignCertificate: options.signCertificate });
  const injector = server.createConnectionInjector(options.credentials);
  const listener = createServer({ noDelay: true }, (socket) => injector.injectConnection(socket));
  const port = await listenFirst(listener, candidateHosts(options.listenAddress), options.port);
  return {
    port,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        listener.close();
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** `""` means all interfaces: IPv6 dual-stack first, IPv4 if the host has no IPv6. */
function candidateHosts(listenAddress: string): string[] {
  if (listenAddress === '') return ['::', '0.0.0.0'];
  return [listenAddress.replace(/^\[(.*)\]$/, '$1')];
}

async function listenFirst(listener: NetServer, hosts: string[], port: number): Promise<number> {
  let lastError: Error | undefined;
  for (const host of hosts) {
    try {
      return await new Promise<number>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
          listener.off('error', reject);
          const address = listener.address();
          resolve(typeof address === 'object' && address !== null ? address.port : port);
        });
      });
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw new WardenError(
    'ERR_LISTEN_FAILED',
    `cannot listen for gRPC on ${hosts.map((h) => `${h}:${port}`).join(' or ')}: ${lastError?.message ?? 'unknown error'}; ` +
      'choose a free port with --port or stop the process using it',
    { cause: lastError },
  );
}
