/**
 * The Sentry wire contract shared by the server (src/sentry) and the client (src/sidecar-client): the
 * `dapr.proto.sentry.v1.CA` service loaded once from `proto/sentry.proto` with proto-loader, and
 * hand-written TypeScript shapes of its messages as proto-loader presents them (keepCase, longs as
 * strings, enums as names, bytes as Buffers, defaults filled in). One loader for both sides, so the
 * proto file is the single source of truth.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Full method path of the only RPC (spec 1.1). */
export const SIGN_CERTIFICATE_PATH = '/dapr.proto.sentry.v1.CA/SignCertificate';

export type TokenValidatorName = 'UNKNOWN' | 'INSECURE' | 'KUBERNETES' | 'JWKS';

/** `SignCertificateRequest` as received (spec 1.2). Unknown enum numbers stay numbers. */
export interface SignCertificateRequest {
  id: string;
  token: string;
  trust_domain: string;
  namespace: string;
  certificate_signing_request: Buffer;
  token_validator: TokenValidatorName | number;
  jwt_audiences: string[];
}

/** `google.protobuf.Timestamp`; proto-loader gives int64 `seconds` as a decimal string. */
export interface Timestamp {
  seconds: string | number;
  nanos: number;
}

/** `SignCertificateResponse` as sent (spec 1.3). */
export interface SignCertificateResponse {
  workload_certificate: Buffer;
  trust_chain_certificates: Buffer[];
  valid_until: Timestamp;
  jwt?: { value: string } | null;
  /** `map<string, google.protobuf.StringValue>`, as Dapr's proto declares it. */
  per_audience_jwts: Record<string, { value: string }>;
}

/** proto-loader options shared by server and test clients. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/**
 * Finds `proto/sentry.proto` by walking up from this module, so it resolves from `src/sentry`
 * (tsx) and from `dist/sentry` (compiled) alike.
 */
export function sentryProtoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto', 'sentry.proto');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('proto/sentry.proto not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let cached: grpc.ServiceDefinition | undefined;

/** The `dapr.proto.sentry.v1.CA` service definition (loaded on first use, then cached). */
export function loadCaServiceDefinition(): grpc.ServiceDefinition {
  if (cached === undefined) {
    const packageDefinition = protoLoader.loadSync(sentryProtoPath(), PROTO_LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
      dapr: { proto: { sentry: { v1: { CA: grpc.ServiceClientConstructor } } } };
    };
    cached = loaded.dapr.proto.sentry.v1.CA.service;
  }
  return cached;
}

/** A client constructor for the CA service (tests and the identity client use it). */
export function loadCaClientConstructor(): grpc.ServiceClientConstructor {
  loadCaServiceDefinition();
  return grpc.makeGenericClientConstructor(cached as grpc.ServiceDefinition, 'CA');
}

// ---- client side (src/sidecar-client, tests, bench) ----

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
  /** Present only when the sentry issues JWT-SVIDs (`--jwt-enabled`). */
  jwt?: { value: string } | null;
  /** One JWT-SVID per audience (Dapr 1.18); empty when JWTs are off. */
  per_audience_jwts?: Record<string, { value: string }>;
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

/** The `dapr.proto.sentry.v1.CA` client constructor, typed for the identity client. */
export function sentryCaClientConstructor(): new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => SentryCaClient {
  return loadCaClientConstructor() as unknown as new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => SentryCaClient;
}
