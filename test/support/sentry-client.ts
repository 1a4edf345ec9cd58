/**
 * A test client for the Sentry CA service: grpc-js + proto-loader on `proto/sentry.proto`, TLS with
 * the given trust anchors only, and the server authenticated by its SPIFFE ID (exact URI SAN match,
 * spec 1.7 / 2.5) instead of by hostname, as go-spiffe's `AuthorizeID` does.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createCsr } from '../../src/core/csr.js';
import { encodePem } from '../../src/core/pem.js';
import { loadCaClientConstructor, type SignCertificateRequest, type SignCertificateResponse } from '../../src/wire/sentry-proto.js';

export type SignRequestInput = Partial<Omit<SignCertificateRequest, 'token_validator'>> & {
  token_validator?: SignCertificateRequest['token_validator'];
};

export interface SentryTestClient {
  sign(req: SignRequestInput, deadlineMs?: number): Promise<SignCertificateResponse>;
  /** The certificate the server presented on the last handshake (leaf), if any. */
  readonly peerCertificates: PeerCertificate[];
  close(): void;
}

export interface ConnectOptions {
  /** `host:port`. */
  address: string;
  anchorsPem: string;
  /** Required URI SAN of the server, e.g. `spiffe://localhost/ns/default/dapr-sentry`. */
  expectedId: string;
  channelOptions?: grpc.ChannelOptions;
}

interface CaClient extends grpc.Client {
  SignCertificate(
    req: SignRequestInput,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: SignCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
}

/** URI SANs of a peer certificate (`subjectaltname` is `URI:a, DNS:b, …`). */
export function uriSansOf(cert: { subjectaltname?: string | undefined }): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

export function connectSentry(opts: ConnectOptions): SentryTestClient {
  const peerCertificates: PeerCertificate[] = [];
  const credentials = grpc.credentials.createSsl(Buffer.from(opts.anchorsPem), null, null, {
    // The chain is verified against anchorsPem by TLS; this replaces only the hostname check.
    checkServerIdentity: (_host, cert) => {
      peerCertificates.push(cert);
      const uris = uriSansOf(cert);
      if (uris.length !== 1 || uris[0] !== opts.expectedId) {
        return new Error(`server identity ${JSON.stringify(uris)} is not ${opts.expectedId}`);
      }
      return undefined;
    },
  });
  const Ctor = loadCaClientConstructor();
  // SNI must not be an IP address (RFC 6066); the name is irrelevant since identity is by SPIFFE ID.
  const channelOptions = { 'grpc.ssl_target_name_override': 'dapr-sentry', ...opts.channelOptions };
  const client = new Ctor(opts.address, credentials, channelOptions) as unknown as CaClient;
  return {
    peerCertificates,
    // A bound for a hang, not a speed check: a call on a loaded 2-core machine can take many seconds.
    sign: (req, deadlineMs = 120_000) =>
      new Promise((resolve, reject) => {
        client.SignCertificate(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
          err ? reject(err) : resolve(res as SignCertificateResponse),
        );
      }),
    close: () => client.close(),
  };
}

/** PEM `CERTIFICATE REQUEST` for `key`, as daprd sends it (empty subject). */
export function csrPem(key: KeyObject): Buffer {
  return Buffer.from(encodePem('CERTIFICATE REQUEST', createCsr(key)));
}

/** Every certificate in a PEM chain, parsed by node (an oracle independent of src/core). */
export function x509Chain(pem: Buffer | string): X509Certificate[] {
  const text = pem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** Asserts-friendly view of a rejected call. */
export async function callError(promise: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
