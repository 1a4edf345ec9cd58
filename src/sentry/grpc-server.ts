/**
 * The gRPC listener: the CA service only (no health, reflection or other services, as Dapr),
 * bounded message size, keepalive to drop dead peers, and graceful shutdown. The protocol is served
 * by grpc/unary-server.ts on node:http2 (why not grpc-js's server: see there).
 *
 * The TCP listener is our own: Node's default accept backlog (511) is too short for a restart storm
 * of 2,000 sidecars (the kernel dropped over 5,000 SYNs, each costing its client a 1-3-7 s
 * retransmission wait; bench/grpc.ts). Ours asks for LISTEN_BACKLOG.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { WardenError } from '../core/errors.js';
import { loadCaServiceDefinition, SIGN_CERTIFICATE_PATH, type SignCertificateRequest, type SignCertificateResponse } from '../wire/sentry-proto.js';
import type { RefusalReason, ServerLimits } from './grpc/limits.js';
import { createUnaryServer, type UnaryMethod } from './grpc/unary-server.js';

/** The serving key and certificate chain (PEM), and a way to hear about new ones. */
export interface TlsIdentitySource {
  keyPair(): { key: Buffer; cert: Buffer } | undefined;
  /** Calls `listener` after every renewal; returns the unsubscribe function. */
  onRenewed(listener: () => void): () => void;
}

export interface GrpcListenOptions {
  listenAddress: string;
  port: number;
  maxReceiveMessageBytes: number;
  identity: TlsIdentitySource;
  signCertificate: (request: SignCertificateRequest) => Promise<SignCertificateResponse>;
  /** Connections held at once, in total (further capped by the open-file limit) and per peer address. */
  maxConnections: number;
  maxConnectionsPerPeer: number;
  /** The server's other limits (grpc/limits.ts), for tests. */
  limits?: Partial<ServerLimits> | undefined;
  /** Told about every connection, stream or call refused at a limit (the metric). */
  onRefused?: ((reason: RefusalReason) => void) | undefined;
  /** Told about handler failures that were not a refusal (bugs), for the log. */
  onInternalError?: (err: unknown) => void;
}

export interface GrpcListener {
  readonly port: number;
  /** Connections admitted since start and open now (memory-release.ts tells storms by them). */
  connections(): { admitted: number; open: number };
  /** Calls `listener` each time the last open connection closes (a storm has drained); returns the unsubscribe function. */
  onAllClosed(listener: () => void): () => void;
  /** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then cancels them. */
  shutdown(graceMs: number): Promise<void>;
}

/** Accept queue length asked of the kernel (capped by net.core.somaxconn, 4096 on current kernels). */
export const LISTEN_BACKLOG = 4096;

/** Ping idle clients every 2 minutes and drop those that do not answer within 20 s. */
const KEEPALIVE_MS = 120_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
/** daprd calls about twice a day; idle connections are closed (clients reconnect transparently). */
const IDLE_TIMEOUT_MS = 30 * 60_000;

/**
 * File descriptors kept for everything but gRPC connections: the health and metrics listeners and
 * their clients, bundle files, watches, sign threads, the Kubernetes client.
 */
export const FD_RESERVE = 128;

/** The soft open-file limit (Linux /proc/self/limits); undefined when unknown or unlimited. */
export function openFileLimit(limitsText = readProcLimits()): number | undefined {
  const soft = /^Max open files\s+(\d+)/m.exec(limitsText)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

function readProcLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}

/** `wanted`, but never so many that gRPC connections alone exhaust the open-file limit. */
export function connectionCap(wanted: number, fdLimit = openFileLimit()): number {
  return fdLimit === undefined ? wanted : Math.max(1, Math.min(wanted, fdLimit - FD_RESERVE));
}

export async function listenGrpc(options: GrpcListenOptions): Promise<GrpcListener> {
  const initial = options.identity.keyPair();
  if (initial === undefined) throw new Error('listenGrpc: the serving identity has no certificate yet');
  const definition = loadCaServiceDefinition()['SignCertificate']!;
  const signCertificate: UnaryMethod = {
    deserialize: (bytes) => definition.requestDeserialize(bytes),
    serialize: (response) => definition.responseSerialize(response),
    handle: (request) => options.signCertificate(request as SignCertificateRequest),
  };
  const unary = createUnaryServer({
    methods: new Map([[SIGN_CERTIFICATE_PATH, signCertificate]]),
    maxReceiveMessageBytes: options.maxReceiveMessageBytes,
    tls: initial,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    keepaliveMs: KEEPALIVE_MS,
    keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
    limits: {
      ...options.limits,
      maxConnections: connectionCap(options.maxConnections),
      maxConnectionsPerPeer: options.maxConnectionsPerPeer,
    },
    onRefused: options.onRefused,
    onInternalError: options.onInternalError,
  });
  const unsubscribe = options.identity.onRenewed(() => {
    const next = options.identity.keyPair();
    if (next !== undefined) unary.setTlsIdentity(next);
  });
  const listener = createServer({ noDelay: true }, (socket) => unary.handleConnection(socket));
  let port: number;
  try {
    port = await listenFirst(listener, candidateHosts(options.listenAddress), options.port);
  } catch (err) {
    unsubscribe();
    throw err;
  }
  return {
    port,
    connections: () => {
      const stats = unary.stats();
      return { admitted: stats.admitted, open: stats.connections };
    },
    onAllClosed: (listener) => unary.onAllClosed(listener),
    shutdown: async (graceMs) => {
      unsubscribe();
      listener.close();
      await unary.close(graceMs);
    },
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
