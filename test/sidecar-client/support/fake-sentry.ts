/**
 * A small stand-in for Sentry: a real grpc-js TLS server speaking `proto/sentry.proto`, whose
 * server certificate (SPIFFE ID, issuing CA) and behaviour the test chooses. It lets the client
 * tests present wrong identities, foreign roots and transient failures that a correct Sentry never
 * produces.
 */
import * as grpc from '@grpc/grpc-js';
import { parseCsr } from '../../../src/core/csr.js';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { decodePemBlocks } from '../../../src/core/pem.js';
import { WorkloadSigner } from '../../../src/core/sign.js';
import { loadCaServiceDefinition, type SignCertificateRequest } from '../../../src/wire/sentry-proto.js';
import { issueLeaf, type TestCa } from './pki.js';

export interface FakeSentryResponse {
  workload_certificate: Buffer;
  trust_chain_certificates: Buffer[];
  valid_until: { seconds: string | number; nanos: number } | null;
}

/** Returns a response, or throws `{ code, details }` to fail the call with that status. */
export type FakeSentryHandler = (request: SignCertificateRequest) => Promise<FakeSentryResponse>;

export interface FakeSentryOptions {
  /** CA that signs workload certificates. */
  ca: TestCa;
  /** SPIFFE ID in the server certificate (default `spiffe://localhost/ns/default/dapr-sentry`). */
  serverId?: string;
  /** CA that issues the server certificate (default `ca`). */
  serverCa?: TestCa;
  /** DNS SANs of the server certificate (default none). */
  serverDnsNames?: string[];
  workloadTtlMs?: number;
  clockSkewMs?: number;
  /** Clock of the workload signer (default: system clock). */
  clock?: Clock;
}

export interface FakeSentry {
  address: string;
  port: number;
  requests: SignCertificateRequest[];
  /** Replace the behaviour; `defaultHandler` signs like Sentry's INSECURE validator. */
  handler: FakeSentryHandler;
  readonly defaultHandler: FakeSentryHandler;
  close(): Promise<void>;
}

export async function startFakeSentry(opts: FakeSentryOptions): Promise<FakeSentry> {
  const serverLeaf = await issueLeaf(opts.serverCa ?? opts.ca, {
    spiffeId: opts.serverId ?? 'spiffe://localhost/ns/default/dapr-sentry',
    ttlMs: 3_600_000,
    dnsNames: opts.serverDnsNames ?? [],
  });
  const signer = new WorkloadSigner(opts.ca.bundle, {
    clock: opts.clock ?? systemClock,
    workloadTtlMs: opts.workloadTtlMs ?? 3_600_000,
    clockSkewMs: opts.clockSkewMs ?? 60_000,
  });
  const defaultHandler: FakeSentryHandler = async (request) => {
    const block = decodePemBlocks(request.certificate_signing_request)[0];
    if (!block || block.type !== 'CERTIFICATE REQUEST') throw { code: grpc.status.INVALID_ARGUMENT, details: 'invalid certificate signing request' };
    const csr = parseCsr(block.der);
    const td = request.trust_domain === '' ? 'public' : request.trust_domain;
    const signed = await signer.sign({ publicKey: csr.publicKey, spiffeId: `spiffe://${td}/ns/${request.namespace}/${request.id}` });
    return {
      workload_certificate: Buffer.from(signed.chainPem),
      trust_chain_certificates: [Buffer.from(signed.trustAnchorsPem)],
      valid_until: { seconds: String(Math.floor(signed.notAfter.getTime() / 1000)), nanos: 0 },
    };
  };
  const requests: SignCertificateRequest[] = [];
  const server = new grpc.Server();
  const fake: FakeSentry = {
    address: '',
    port: 0,
    requests,
    handler: defaultHandler,
    defaultHandler,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(loadCaServiceDefinition(), {
    SignCertificate: (call: grpc.ServerUnaryCall<SignCertificateRequest, FakeSentryResponse>, callback: grpc.sendUnaryData<FakeSentryResponse>) => {
      requests.push(call.request);
      fake.handler(call.request).then(
        (response) => callback(null, response),
        (error: { code?: number; details?: string; message?: string }) =>
          callback({ code: error.code ?? grpc.status.INTERNAL, details: error.details ?? error.message ?? 'error' }),
      );
    },
  });
  const credentials = grpc.ServerCredentials.createSsl(null, [
    { private_key: Buffer.from(serverLeaf.keyPem), cert_chain: Buffer.from(serverLeaf.chainPem) },
  ], false);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  fake.port = port;
  fake.address = `127.0.0.1:${port}`;
  return fake;
}

