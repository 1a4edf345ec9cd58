/**
 * One SignCertificate call as daprd makes it (spec 1.7): fresh key, empty CSR, TLS to Sentry that
 * authenticates the server by SPIFFE ID against the current trust anchors, retries on
 * Unavailable/ResourceExhausted (5 attempts, 3 s each), then checks on the response. Beyond daprd,
 * the returned chain must verify to the current anchors (spec 4.4, dapr/dapr#8557) and the channel
 * is rebuilt whenever the anchors change.
 */
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { parseCertificatesPem, type Certificate } from '../core/certificate.js';
import { systemClock, type Clock } from '../core/clock.js';
import { createCsr } from '../core/csr.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { buildSpiffeId, isControlPlaneId, parseSpiffeId } from '../core/spiffe-id.js';
import { generatePrivateKey, publicKeysEqual } from '../core/keys.js';
import { encodePem } from '../core/pem.js';
import { errorText, silentLogger, type IdentityLogger } from './logger.js';
import { spiffeIdOf, spiffeServerIdentityCheck } from './peer-id.js';
import {
  sentryCaClientConstructor,
  type SentryCaClient,
  type SignCertificateRequestMessage,
  type SignCertificateResponseMessage,
  type TokenValidator,
} from '../wire/sentry-proto.js';
import { validUntilOf } from './timestamp.js';
import type { TrustAnchors, TrustAnchorSource } from './trust-anchors.js';
import { systemTimers, type Timers } from './timers.js';
import { verifyChainToAnchors } from './verify-chain.js';

/** Key algorithms a workload key may use: Ed25519 as daprd ≥ 1.18, P-256 as earlier releases. */
export type WorkloadKeyAlgorithm = 'ed25519' | 'ecdsa-p256';

/** What a workload asks for. */
export interface IdentityRequest {
  /** App ID (request field `id`). */
  appId: string;
  /** Namespace; default `default` (daprd: env NAMESPACE or `default`). */
  namespace?: string;
  /**
   * Trust domain to request. When omitted it is set, as daprd does, only for control-plane IDs in
   * the control-plane namespace (to the control-plane trust domain); otherwise left empty.
   */
  trustDomain?: string;
  token?: string;
  /** Default `UNKNOWN` (the server's default validator). */
  tokenValidator?: TokenValidator;
  jwtAudiences?: string[];
  /** Default Ed25519. */
  keyAlgorithm?: WorkloadKeyAlgorithm;
}

/** A verified workload identity: the key and the chain Sentry issued for it. */
export interface IssuedIdentity {
  privateKey: KeyObject;
  /** Leaf first, then the issuer chain as Sentry sent it (never the root). */
  certChain: Certificate[];
  /** The leaf's URI SAN. */
  spiffeId: string;
  notBefore: Date;
  notAfter: Date;
  /** `valid_until` of the response. */
  validUntil: Date;
  /** The anchors the chain was verified against. */
  trustAnchors: TrustAnchors;
}

export interface SentryClientOptions {
  /** `host:port` of Sentry. */
  address: string;
  trustAnchors: TrustAnchorSource;
  /** Trust domain of Sentry's own SPIFFE ID (daprd `--control-plane-trust-domain`, default `localhost`). */
  controlPlaneTrustDomain?: string;
  /** Namespace of Sentry (daprd `--control-plane-namespace`, default `default`). */
  controlPlaneNamespace?: string;
  clock?: Clock;
  timers?: Timers;
  logger?: IdentityLogger;
  /** Attempts per request (daprd: 5). */
  maxAttempts?: number;
  /** Deadline of each attempt (daprd: 3 s). */
  attemptTimeoutMs?: number;
  /** Pause between attempts (go-grpc-middleware's default linear backoff: 50 ms). */
  retryBackoffMs?: number;
}

const RETRYABLE = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED, grpc.status.DEADLINE_EXCEEDED]);

/** Talks to one Sentry. Cheap to keep: the channel is reused until the anchors change. */
export class SentryClient {
  /** The SPIFFE ID the server must present: `spiffe://<cp-td>/ns/<cp-ns>/dapr-sentry`. */
  readonly sentryId: string;
  readonly address: string;
  private readonly anchors: TrustAnchorSource;
  private readonly controlPlaneTrustDomain: string;
  private readonly controlPlaneNamespace: string;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: IdentityLogger;
  private readonly maxAttempts: number;
  private readonly attemptTimeoutMs: number;
  private readonly retryBackoffMs: number;
  private client: SentryCaClient | undefined;
  private clientAnchorsPem: string | undefined;
  private identityRefusal: WardenError | undefined;
  private readonly onAnchorsChanged = (): void => this.dropChannel();

  constructor(options: SentryClientOptions) {
    this.address = options.address;
    this.anchors = options.trustAnchors;
    this.controlPlaneTrustDomain = options.controlPlaneTrustDomain ?? 'localhost';
    this.controlPlaneNamespace = options.controlPlaneNamespace ?? 'default';
    this.sentryId = buildSpiffeId(this.controlPlaneTrustDomain, this.controlPlaneNamespace, 'dapr-sentry');
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 3000;
    this.retryBackoffMs = options.retryBackoffMs ?? 50;
    this.anchors.on('changed', this.onAnchorsChanged);
  }

  /** The `trust_domain` daprd sends for `request` (spec 1.7). */
  requestTrustDomain(request: IdentityRequest): string {
    if (request.trustDomain !== undefined) return request.trustDomain;
    const namespace = request.namespace ?? 'default';
    return isControlPlaneId(request.appId) && namespace === this.controlPlaneNamespace ? this.controlPlaneTrustDomain : '';
  }

  /**
   * Requests a certificate for a new key and verifies the answer. Errors: `ERR_SENTRY_UNAVAILABLE`
   * (not reachable after all attempts), `ERR_SENTRY_IDENTITY` (the server is not `sentryId` or its
   * certificate does not chain to the anchors), `ERR_SENTRY_REJECTED` (any other gRPC status, with
   * its text), `ERR_SENTRY_RESPONSE_INVALID`, `ERR_SENTRY_CHAIN_UNTRUSTED`.
   */
  async requestIdentity(request: IdentityRequest): Promise<IssuedIdentity> {
    const privateKey = generatePrivateKey(request.keyAlgorithm ?? 'ed25519');
    const message: SignCertificateRequestMessage = {
      id: request.appId,
      token: request.token ?? '',
      trust_domain: this.requestTrustDomain(request),
      namespace: request.namespace ?? 'default',
      certificate_signing_request: Buffer.from(encodePem('CERTIFICATE REQUEST', createCsr(privateKey))),
      token_validator: request.tokenValidator ?? 'UNKNOWN',
      jwt_audiences: request.jwtAudiences ?? [],
    };
    const response = await this.callWithRetries(message);
    return this.verifyResponse(response, privateKey, message);
  }

  /** Closes the channel and stops following anchor changes. */
  close(): void {
    this.anchors.off('changed', this.onAnchorsChanged);
    this.dropChannel();
  }

  private async callWithRetries(message: SignCertificateRequestMessage): Promise<SignCertificateResponseMessage> {
    for (let attempt = 1; ; attempt++) {
      this.identityRefusal = undefined;
      try {
        return await this.callOnce(message);
      } catch (error) {
        const refusal = this.identityRefusal as WardenError | undefined;
        if (refusal !== undefined) throw this.identityError(refusal.message, error);
        if (isWardenError(error)) throw error;
        const serviceError = error as grpc.ServiceError;
        if (!RETRYABLE.has(serviceError.code)) throw this.rejected(serviceError);
        const untrusted = certificateVerifyFailure(serviceError.details);
        if (untrusted !== undefined) {
          throw this.identityError(`its certificate does not chain to the trust anchors (${untrusted})`, error);
        }
        if (attempt >= this.maxAttempts) throw this.unavailable(serviceError, attempt);
        this.logger.debug(`SignCertificate attempt ${attempt} failed (${grpc.status[serviceError.code]}: ${serviceError.details}); retrying`);
        await this.timers.sleep(this.retryBackoffMs);
      }
    }
  }

  private callOnce(message: SignCertificateRequestMessage): Promise<SignCertificateResponseMessage> {
    const client = this.channel();
    // A transport deadline, so it follows the real clock even when a test injects another one.
    const deadline = systemClock.now().getTime() + this.attemptTimeoutMs;
    return new Promise((resolve, reject) => {
      client.SignCertificate(message, new grpc.Metadata(), { deadline }, (error, response) => {
        if (error) reject(error);
        else if (!response) reject(new WardenError('ERR_SENTRY_RESPONSE_INVALID', 'sentry returned an empty response'));
        else resolve(response);
      });
    });
  }

  /** The channel for the current anchors; rebuilt when they changed since it was made. */
  private channel(): SentryCaClient {
    const anchors = this.anchors.current();
    if (this.client !== undefined && this.clientAnchorsPem === anchors.pem) return this.client;
    this.dropChannel();
    const checkServerIdentity = spiffeServerIdentityCheck(this.sentryId, {
      code: 'ERR_SENTRY_IDENTITY',
      onMismatch: (error) => {
        this.identityRefusal = error;
      },
    });
    const credentials = grpc.credentials.createSsl(Buffer.from(anchors.pem), null, null, { checkServerIdentity });
    const channelOptions: grpc.ChannelOptions = {
      // Reconnect promptly once Sentry is back: renewals retry every 10 s.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
    };
    // The hostname plays no part in authentication; an IP literal must not be sent as SNI (RFC 6066).
    if (isIP(hostOf(this.address)) !== 0) channelOptions['grpc.ssl_target_name_override'] = 'dapr-sentry';
    const Client = sentryCaClientConstructor();
    this.client = new Client(this.address, credentials, channelOptions);
    this.clientAnchorsPem = anchors.pem;
    return this.client;
  }

  private dropChannel(): void {
    this.client?.close();
    this.client = undefined;
    this.clientAnchorsPem = undefined;
  }

  private verifyResponse(
    response: SignCertificateResponseMessage,
    privateKey: KeyObject,
    request: SignCertificateRequestMessage,
  ): IssuedIdentity {
    const validUntil = validUntilOf(response.valid_until);
    let certChain: Certificate[];
    try {
      certChain = parseCertificatesPem(response.workload_certificate);
    } catch (error) {
      throw invalidResponse(`workload_certificate is not a PEM certificate chain: ${errorText(error)}`, error);
    }
    const leaf = certChain[0] as Certificate;
    if (!publicKeysEqual(leaf.publicKey, privateKey)) {
      throw invalidResponse('the issued certificate does not carry the public key of the CSR');
    }
    let spiffeId: string;
    try {
      spiffeId = spiffeIdOf(leaf);
    } catch (error) {
      throw invalidResponse(`the issued certificate has no usable SPIFFE ID: ${errorText(error)}`, error);
    }
    const { path } = parseSpiffeId(spiffeId);
    if (path !== `/ns/${request.namespace}/${request.id}`) {
      throw invalidResponse(`the issued certificate is for ${spiffeId}, not for app '${request.id}' in namespace '${request.namespace}'`);
    }
    const trustAnchors = this.anchors.current();
    verifyChainToAnchors(certChain, trustAnchors.certificates, this.clock.now());
    return { privateKey, certChain, spiffeId, notBefore: leaf.notBefore, notAfter: leaf.notAfter, validUntil, trustAnchors };
  }

  private identityError(reason: string, cause: unknown): WardenError {
    return new WardenError(
      'ERR_SENTRY_IDENTITY',
      `the server at ${this.address} failed authentication as ${this.sentryId}: ${reason}; check ` +
        '--control-plane-trust-domain, --control-plane-namespace and that the trust anchors are those of this sentry',
      { cause },
    );
  }

  private unavailable(error: grpc.ServiceError, attempts: number): WardenError {
    return new WardenError(
      'ERR_SENTRY_UNAVAILABLE',
      `sentry at ${this.address} is not reachable after ${attempts} attempt(s) (${grpc.status[error.code]}: ${tidy(error.details)}); ` +
        'check the address and that the sentry is running',
      { cause: error },
    );
  }

  private rejected(error: grpc.ServiceError): WardenError {
    return new WardenError('ERR_SENTRY_REJECTED', `sentry rejected the request: ${grpc.status[error.code] ?? error.code}: ${error.details}`, { cause: error });
  }
}

/**
 * When a connection failed because the server's chain did not verify against the anchors, the
 * OpenSSL reason from grpc-js's status details; otherwise undefined.
 */
function certificateVerifyFailure(details: string): string | undefined {
  const match = /(self[- ]signed certificate[^;,.\n]*|unable to (?:get|verify)[^;,.\n]*|certificate (?:has expired|is not yet valid|signature failure)[^;,.\n]*)/i.exec(details);
  return match?.[1];
}

/** grpc-js appends an empty `Resolution note: ` to connection errors. */
function tidy(details: string): string {
  return details.replace(/\.? Resolution note: $/, '');
}

function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const colon = address.lastIndexOf(':');
  return colon === -1 ? address : address.slice(0, colon);
}

function invalidResponse(message: string, cause?: unknown): WardenError {
  return new WardenError('ERR_SENTRY_RESPONSE_INVALID', `invalid response from sentry: ${message}`, cause === undefined ? undefined : { cause });
}
