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
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { parseCsr, verifyCsrSignature, type ParsedCsr } from '../core/csr.js';
import { isWardenError } from '../core/errors.js';
import { buildSpiffeId, controlPlaneDnsNames } from '../core/identity.js';
import { decodePemBlocks } from '../core/pem.js';
import type { CaStateHolder } from './ca-state.js';
import { GrpcStatusError } from './grpc/framing.js';
import type { SentryMetrics, SignFailureReason } from './metrics.js';
import type { SentryMode } from './options.js';
import type { SignCertificateRequest, SignCertificateResponse } from '../wire/sentry-proto.js';
import { selectValidator, type Validator } from './validators.js';

/** A refused call: the gRPC status, the exact message, and the metric reason. */
export class SignFailure extends Error {
  constructor(
    readonly status: grpc.status,
    message: string,
    readonly reason: SignFailureReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SignServiceDeps {
  caState: CaStateHolder;
  metrics: SentryMetrics;
  logger: Logger;
  clock: Clock;
  mode: SentryMode;
  /** The enabled validators (default: the mode's; Kubernetes mode passes its KUBERNETES validator). */
  validators?: readonly Validator[] | undefined;
  /** Sentry's namespace: control-plane DNS SANs are added only for requests in it. */
  sentryNamespace: string;
  clusterDomain: string;
}

const CSR_PEM_TYPES = new Set(['CERTIFICATE REQUEST', 'CERTIFICATE']);
const FIRST_PEM_BLOCK = /-----BEGIN [^\n]*?-----[\s\S]*?-----END [^\n]*?-----/;

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

  const csr = await readCsr(req.certificate_signing_request);
  const dnsNames = controlPlaneDnsNames(req.id, req.namespace, deps.sentryNamespace, deps.clusterDomain);

  let spiffeId: string;
  try {
    spiffeId = buildSpiffeId(trustDomain, req.namespace, req.id);
  } catch (err) {
    // Dapr fails here too, inside signing, so the client sees Internal (spec 1.4 step 8).
    throw new SignFailure(grpc.status.INTERNAL, 'failed to sign certificate', 'invalid_identity', { cause: err });
  }

  const state = deps.caState.current;
  let signed;
  try {
    signed = await state.signer.sign({ publicKey: csr.publicKey, spkiDer: csr.spkiDer, spiffeId, dnsNames });
  } catch (err) {
    if (isWardenError(err, 'ERR_ISSUER_NOT_VALID_NOW')) {
      const issuer = state.bundle.issuer;
      const when = deps.clock.now() > issuer.notAfter
        ? `expired at ${issuer.notAfter.toISOString()}`
        : `is not valid before ${issuer.notBefore.toISOString()}`;
      throw new SignFailure(
        grpc.status.FAILED_PRECONDITION,
        `cannot sign: the issuer certificate ${when}; rotate the trust bundle with "warden mtls renew-certificate" ` +
          '(warden sentry reloads it without a restart)',
        'issuer_not_valid',
        { cause: err },
      );
    }
    throw new SignFailure(grpc.status.INTERNAL, 'failed to sign certificate', 'internal', { cause: err });
  }

  const notAfterMs = signed.notAfter.getTime();
  return {
    workload_certificate: Buffer.from(signed.chainPem, 'utf8'),
    trust_chain_certificates: [Buffer.from(signed.trustAnchorsPem, 'utf8')],
    valid_until: { seconds: String(Math.floor(notAfterMs / 1000)), nanos: (notAfterMs % 1000) * 1_000_000 },
    jwt: null,
    per_audience_jwts: {},
  };
}

/** Steps 4–6: the first PEM block, its type, the PKCS#10 parse and the self-signature. */
async function readCsr(pemBytes: Buffer): Promise<ParsedCsr> {
  let block;
  try {
    // Like Go's pem.Decode, only the first block counts; whatever follows it is ignored.
    const first = FIRST_PEM_BLOCK.exec(pemBytes.toString('latin1'));
    block = first === null ? undefined : decodePemBlocks(first[0])[0];
  } catch (err) {
    throw new SignFailure(grpc.status.INVALID_ARGUMENT, 'invalid certificate signing request', 'invalid_csr', { cause: err });
  }
  if (block === undefined || !CSR_PEM_TYPES.has(block.type)) {
    throw new SignFailure(grpc.status.INVALID_ARGUMENT, 'invalid certificate signing request', 'invalid_csr');
  }
  let csr: ParsedCsr;
  try {
    csr = parseCsr(block.der);
  } catch (err) {
    throw new SignFailure(
      grpc.status.INVALID_ARGUMENT,
      `failed to parse certificate signing request: ${errorMessage(err)}`,
      'invalid_csr',
      { cause: err },
    );
  }
  try {
    await verifyCsrSignature(csr);
  } catch (err) {
    throw new SignFailure(grpc.status.INVALID_ARGUMENT, 'invalid signature', 'csr_signature', { cause: err });
  }
  return csr;
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
      deps.logger.debug({ id: req.id, namespace: req.namespace, trustDomain: req.trust_domain }, 'Signed workload certificate');
      return response;
    } catch (err) {
      stopTimer();
      const failure = err instanceof SignFailure
        ? err
        : new SignFailure(grpc.status.INTERNAL, 'failed to sign certificate', 'internal', { cause: err });
      deps.metrics.recordSignFailure(failure.reason);
      const fields = { id: req.id, namespace: req.namespace, reason: failure.reason, cause: causeText(failure) };
      if (failure.reason === 'internal' || failure.reason === 'issuer_not_valid') {
        deps.logger.error(fields, `Failed to sign certificate: ${failure.message}`);
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
