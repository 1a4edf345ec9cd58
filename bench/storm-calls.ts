/**
 * One storm client = one TLS connection + one SignCertificate call. Two ways to make it:
 *
 * - `grpc-js`: a grpc-js channel of its own (local subchannel pool), as daprd's Go client would
 *   hold one. Faithful, but grpc-js costs ~4 ms of client CPU per new channel, so 2,000 of them
 *   saturate the load processes long before the server.
 * - `http2` (default): node:http2 session over TLS with gRPC framing by hand (5-byte prefix,
 *   protobuf from the same proto file, `grpc-status` from the trailers). The server sees exactly
 *   the same wire traffic: TLS 1.3 handshake, HTTP/2 preface, one unary call.
 *
 * Both authenticate the server by SPIFFE ID against the trust anchors, never by host name.
 */
import { connect, type ClientHttp2Session } from 'node:http2';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { parseCertificatesPem } from '../src/core/certificate.js';
import { parseCsr } from '../src/core/csr.js';
import { decodePemBlocks } from '../src/core/pem.js';
import { spiffeIdOf } from '../src/sidecar-client/peer-id.js';
import { verifyChainToAnchors } from '../src/sidecar-client/verify-chain.js';
import { spiffeServerIdentityCheck } from '../src/sidecar-client/peer-id.js';
import { loadCaServiceDefinition, sentryCaClientConstructor, type SentryCaClient, type SignCertificateRequestMessage } from '../src/wire/sentry-proto.js';

export type StormTransport = 'grpc-js' | 'http2';

/** A prepared client: `call()` connects and sends the one request; `close()` drops the connection. */
export interface StormClient {
  call(): Promise<void>;
  close(): void;
}

export interface StormTarget {
  target: string;
  caPem: Buffer;
  serverId: string;
  callTimeoutMs: number;
}

/** grpc-js channel options shared with the throughput client. */
export function channelOptions(): grpc.ChannelOptions {
  return {
    // A channel of its own per client: never share a connection through the global subchannel pool.
    'grpc.use_local_subchannel_pool': 1,
    // The peer is authenticated by SPIFFE ID; an IP literal must not be sent as SNI.
    'grpc.ssl_target_name_override': 'dapr-sentry',
    // Room for many concurrent streams' buffers on one HTTP/2 session (MB).
    'grpc-node.max_session_memory': 256,
    'grpc.max_receive_message_length': 1024 * 1024,
  };
}

export function newGrpcClient(t: StormTarget): SentryCaClient {
  const credentials = grpc.credentials.createSsl(t.caPem, null, null, { checkServerIdentity: spiffeServerIdentityCheck(t.serverId) });
  const Client = sentryCaClientConstructor();
  return new Client(t.target, credentials, channelOptions());
}

/** One unary call; resolves with the `workload_certificate` bytes. */
export function grpcCall(client: SentryCaClient, message: SignCertificateRequestMessage, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.SignCertificate(message, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) reject(error);
      else if (!response || response.workload_certificate.length === 0) reject(new Error('empty response'));
      else resolve(response.workload_certificate);
    });
  });
}

function grpcJsClient(t: StormTarget, message: SignCertificateRequestMessage): StormClient {
  const client = newGrpcClient(t);
  return { call: async () => void (await grpcCall(client, message, t.callTimeoutMs)), close: () => client.close() };
}

const METHOD_PATH = '/dapr.proto.sentry.v1.CA/SignCertificate';

/** The request as a gRPC length-prefixed message (uncompressed). */
function frameRequest(message: SignCertificateRequestMessage): Buffer {
  const body = loadCaServiceDefinition()['SignCertificate']!.requestSerialize(message);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function http2Client(t: StormTarget, message: SignCertificateRequestMessage): StormClient {
  const framed = frameRequest(message);
  // Built before the storm, as a long-running client would have it: the storm times connections.
  const secureContext: SecureContext = createSecureContext({ ca: t.caPem });
  let session: ClientHttp2Session | undefined;
  const call = (): Promise<void> => new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      finish(new Error('DEADLINE_EXCEEDED: no answer within the call timeout'));
      session?.destroy();
    }, t.callTimeoutMs);
    session = connect(`https://${t.target}`, {
      secureContext, servername: 'dapr-sentry', ALPNProtocols: ['h2'], checkServerIdentity: spiffeServerIdentityCheck(t.serverId),
    });
    session.on('error', (error) => finish(error));
    const req = session.request({
      ':method': 'POST', ':path': METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': `${t.callTimeoutMs}m`,
    });
    let bytes = 0;
    let status: string | undefined;
    let detail = '';
    const noteStatus = (headers: Record<string, unknown>): void => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) detail = decodeURIComponent(String(headers['grpc-message']));
    };
    req.on('response', noteStatus);
    req.on('trailers', noteStatus);
    req.on('data', (chunk: Buffer) => void (bytes += chunk.length));
    req.on('error', (error) => finish(error));
    req.on('end', () => {
      if (status === '0' && bytes > 5) finish();
      else finish(new Error(`${status === undefined ? 'no grpc-status' : (grpc.status[Number(status)] ?? status)}: ${detail || `${bytes} bytes`}`));
    });
    req.end(framed);
  });
  return { call, close: () => session?.close() };
}

export function createStormClient(transport: StormTransport, t: StormTarget, message: SignCertificateRequestMessage): StormClient {
  return transport === 'grpc-js' ? grpcJsClient(t, message) : http2Client(t, message);
}

/** The request every load path sends for CSR number `n` (INSECURE-compatible, trust domain `public`). */
export function loadRequest(csrPem: string, n: number): SignCertificateRequestMessage {
  return {
    id: `app-${n}`, token: '', trust_domain: 'public', namespace: 'default',
    certificate_signing_request: Buffer.from(csrPem), token_validator: 'UNKNOWN', jwt_audiences: [],
  };
}

/** One call checked in full: chain to the anchors, SPIFFE ID, and the CSR's key in the leaf. */
export async function checkOneIssuance(client: SentryCaClient, callTimeoutMs: number, caPem: Buffer, csrPem: string): Promise<void> {
  const chainPem = await grpcCall(client, loadRequest(csrPem, 0), callTimeoutMs);
  const chain = parseCertificatesPem(chainPem);
  verifyChainToAnchors(chain, parseCertificatesPem(caPem), new Date());
  const csr = parseCsr(decodePemBlocks(csrPem)[0]!.der);
  if (spiffeIdOf(chain[0]!) !== 'spiffe://public/ns/default/app-0' || !chain[0]!.spkiDer.equals(csr.spkiDer)) {
    throw new Error('load client: the issued certificate does not match the request');
  }
}
