/**
 * The gRPC listener: the CA service only (no health, reflection or other services, as Dapr),
 * bounded message size, keepalive to drop dead peers, and graceful shutdown.
 */
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

export async function listenGrpc(options: GrpcListenOptions): Promise<GrpcListener> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    // Ping idle clients every 2 minutes and drop those that do not answer within 20 s.
    'grpc.keepalive_time_ms': 120_000,
    'grpc.keepalive_timeout_ms': 20_000,
    // daprd calls about twice a day; idle connections are closed (clients reconnect transparently).
    'grpc.max_connection_idle_ms': 30 * 60_000,
  });
  server.addService(loadCaServiceDefinition(), { SignCertificate: options.signCertificate });
  const port = await bindFirst(server, candidateAddresses(options.listenAddress, options.port), options.credentials);
  return {
    port,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** `""` means all interfaces: IPv6 dual-stack first, IPv4 if the host has no IPv6. */
function candidateAddresses(listenAddress: string, port: number): string[] {
  if (listenAddress === '') return [`[::]:${port}`, `0.0.0.0:${port}`];
  const host = listenAddress.includes(':') && !listenAddress.startsWith('[') ? `[${listenAddress}]` : listenAddress;
  return [`${host}:${port}`];
}

async function bindFirst(server: grpc.Server, addresses: string[], credentials: grpc.ServerCredentials): Promise<number> {
  let lastError: Error | undefined;
  for (const address of addresses) {
    try {
      return await new Promise<number>((resolve, reject) => {
        server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
      });
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw new WardenError(
    'ERR_LISTEN_FAILED',
    `cannot listen for gRPC on ${addresses.join(' or ')}: ${lastError?.message ?? 'unknown error'}; ` +
      'choose a free port with --port or stop the process using it',
    { cause: lastError },
  );
}
