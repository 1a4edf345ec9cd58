/**
 * The `SignCertificate` pipeline (spec 1.4), in Dapr's order so the same request fails with the
 * same gRPC status and message: count → validator → validate → PEM → parse → CSR signature → DNS
 * SANs → sign → response (leaf + issuer chain, one element with all anchors, valid_until = NotAfter).
 *
 * Warden addition: an issuer that is expired or not yet valid is refused with FAILED_PRECONDITION
 * (Dapr signs anyway, issue #8557). Not UNAVAILABLE: daprd retries UNAVAILABLE five times for
 * nothing, since only an operator's rotation fixes it, and FAILED_PRECONDITION is gRPC's code for
 * "the system is not in a state required for the operation".
 */
import { LOG_SCOPE } from './log-scopes.js';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { buildSpiffeId, controlPlaneDnsNames } from '../core/spiffe-id.js';
import { GrpcStatusError } from './grpc/framing.js';
import { SignFailure, type LeafIssuer, type LeafRequest } from './issue-leaf.js';
import type { SentryMetrics } from './metrics.js';
import type { SentryMode } from './options.js';
import type { SignCertificateRequest, SignCertificateResponse } from '../wire/sentry-proto.js';
import type { IssuedJwts, JwtRequest } from './jwt-issuer.js';
import { selectValidator, type Validator } from './validators.js';

export { SignFailure };

export interface SignServiceDeps {
  metrics: SentryMetrics;
  logger: Logger;
  clock: Clock;
  mode: SentryMode;
  /** The enabled validators (default: the mode's; Kubernetes mode passes its KUBERNETES validator). */
  validators?: readonly Validator[] | undefined;
  /** Sentry's namespace: control-plane DNS SANs are added only for requests in it. */
  sentryNamespace: string;
  clusterDomain: string;
  /** Where the CSR is checked and the leaf signed: in this thread, or on signing threads. */
  leafIssuer: LeafIssuer;
  /** `--jwt-enabled`: signs the response's JWT-SVIDs (jwt-issuer.ts); undefined leaves both fields out. */
  issueJwts?: ((req: JwtRequest) => Promise<IssuedJwts>) | undefined;
}

/** Runs the pipeline for one request. Throws `SignFailure` for every refusal. */
export async function signCertificate(
  req: SignCertificateRequest,
  deps: SignServiceDeps,
): Promise<SignCertificateResponse> {
  const choice = selectValidator(req.token_validator, deps.mode, deps.validators);
  if ('error' in choice) throw new SignFailure(grpc.status.INVALID_ARGUMENT, choice.error, 'validator');

  let trustDomain: string;
  try {
    trustDomain = await choice.validator.validate(req);
  } catch (err) {
    throw new SignFailure(grpc.status.PERMISSION_DENIED, errorMessage(err), 'validator', { cause: err });
  }

  let identity: LeafRequest['identity'];
  try {
    identity = { spiffeId: buildSpiffeId(trustDomain, req.namespace, req.id) };
  } catch (err) {
    // Reported only after the CSR checks, where Dapr fails too (spec 1.4 step 8).
    identity = { invalid: errorMessage(err) };
  }
  const atMs = deps.clock.now().getTime();
  const leaf = await deps.leafIssuer.issue({
    csrPem: req.certificate_signing_request,
    identity,
    dnsNames: controlPlaneDnsNames(req.id, req.namespace, deps.sentryNamespace, deps.clusterDomain),
    atMs,
  });
  const jwts = deps.issueJwts === undefined || 'invalid' in identity
    ? undefined
    : await issueJwts(deps.issueJwts, { spiffeId: identity.spiffeId, trustDomain, extraAudiences: req.jwt_audiences ?? [], atMs });
  return {
    workload_certificate: Buffer.from(leaf.chainPem, 'utf8'),
    trust_chain_certificates: [Buffer.from(leaf.trustAnchorsPem, 'utf8')],
    valid_until: { seconds: String(Math.floor(leaf.notAfterMs / 1000)), nanos: (leaf.notAfterMs % 1000) * 1_000_000 },
    jwt: jwts === undefined ? null : { value: jwts.jwt },
    per_audience_jwts: jwts === undefined ? {} : Object.fromEntries(Object.entries(jwts.perAudience).map(([aud, token]) => [aud, { value: token }])),
  };
}

/** Step 9 (spec 1.4): a failure is INTERNAL `failed to generate JWT: <why>`, Dapr's text. */
async function issueJwts(issue: (req: JwtRequest) => Promise<IssuedJwts>, req: JwtRequest): Promise<IssuedJwts> {
  let issued: IssuedJwts;
  try {
    issued = await issue(req);
  } catch (err) {
    throw new SignFailure(grpc.status.INTERNAL, `failed to generate JWT: ${errorMessage(err)}`, 'jwt', { cause: err });
  }
  if (issued.jwt === '') throw new SignFailure(grpc.status.INTERNAL, 'failed to generate JWT: empty token', 'jwt');
  return issued;
}

/**
 * The gRPC handler: counts, times and logs each call, and maps `SignFailure` to its status.
 * Anything unexpected becomes INTERNAL `failed to sign certificate` (details only in the log).
 */
export function createSignCertificateHandler(
  deps: SignServiceDeps,
): (req: SignCertificateRequest) => Promise<SignCertificateResponse> {
  return async (req) => {
    deps.metrics.requestReceived.inc();
    const stopTimer = deps.metrics.signDuration.startTimer();
    try {
      const response = await signCertificate(req, deps);
      stopTimer();
      deps.metrics.signSuccess.inc();
      deps.logger.debug({ scope: LOG_SCOPE.server, trustDomain: req.trust_domain }, `Successfully signed certificate for ${req.namespace}/${req.id}`);
      return response;
    } catch (err) {
      stopTimer();
      const failure = err instanceof SignFailure
        ? err
        : new SignFailure(grpc.status.INTERNAL, 'failed to sign certificate', 'internal', { cause: err });
      deps.metrics.recordSignFailure(failure.reason);
      const fields = { scope: LOG_SCOPE.server, id: req.id, namespace: req.namespace, reason: failure.reason, cause: causeText(failure) };
      if (failure.reason === 'internal' || failure.reason === 'issuer_not_valid' || failure.reason === 'jwt') {
        // Dapr's text (pkg/sentry/server), so alerts on it match.
        deps.logger.error(fields, `Error signing identity: ${failure.message}`);
      } else {
        deps.logger.debug(fields, `Refused certificate signing request: ${failure.message}`);
      }
      throw new GrpcStatusError(failure.status, failure.message);
    }
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function causeText(failure: SignFailure): string | undefined {
  return failure.cause === undefined ? undefined : errorMessage(failure.cause);
}
