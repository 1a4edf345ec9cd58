/**
 * The client side of `proto/sentry.proto` (spec 1.2, 1.3). The identity layer sits below
 * `src/sentry` (design §2), so it loads the shared proto file itself rather than importing the
 * server's loader; the file is the single source of truth for both.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** `SignCertificateRequest.TokenValidator` (spec 1.2). */
export const TOKEN_VALIDATORS = ['UNKNOWN', 'INSECURE', 'KUBERNETES', 'JWKS'] as const;
export type TokenValidator = (typeof TOKEN_VALIDATORS)[number];

/** The request as this client sends it. */
export interface SignCertificateRequestMessage {
  id: string;
  token: string;
  trust_domain: string;
  namespace: string;
  /** PEM `CERTIFICATE REQUEST`. */
  certificate_signing_request: Buffer;
  token_validator: TokenValidator;
  jwt_audiences: string[];
}

/** The response as proto-loader hands it over (int64 as string, missing messages as null). */
export interface SignCertificateResponseMessage {
  workload_certificate: Buffer;
  trust_chain_certificates: Buffer[];
  valid_until: { seconds: string | number; nanos: number } | null;
}

/** The generated client's one method (grpc-js callback form). */
export interface SentryCaClient extends grpc.Client {
  SignCertificate(
    request: SignCertificateRequestMessage,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: SignCertificateResponseMessage) => void,
  ): grpc.ClientUnaryCall;
}

type CaClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => SentryCaClient;

let cached: CaClientConstructor | undefined;

/** The `dapr.proto.sentry.v1.CA` client constructor, loaded on first use. */
export function sentryCaClientConstructor(): CaClientConstructor {
  if (cached === undefined) {
    const definition = protoLoader.loadSync(findProto(), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      dapr: { proto: { sentry: { v1: { CA: CaClientConstructor } } } };
    };
    cached = loaded.dapr.proto.sentry.v1.CA;
  }
  return cached;
}

/** `proto/sentry.proto`, found by walking up from this module (works from src/ and dist/). */
function findProto(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto', 'sentry.proto');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`proto/sentry.proto not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
