/**
 * Steps 4–9 of the SignCertificate pipeline (spec 1.4): the CSR's first PEM block, its type, the
 * PKCS#10 parse, its self-signature, then the identity and the signature of the leaf. Behind the
 * `LeafIssuer` seam, so the gRPC handler does not care where this runs (today: the calling
 * thread, `InThreadLeafIssuer`), and the signing time comes in with the request.
 *
 * Warden addition: an issuer that is expired or not yet valid is refused with FAILED_PRECONDITION
 * (Dapr signs anyway, issue #8557). Not UNAVAILABLE: daprd retries UNAVAILABLE five times for
 * nothing, since only an operator's rotation fixes it, and FAILED_PRECONDITION is gRPC's code for
 * "the system is not in a state required for the operation".
 */
import { SignStatus, type SignStatusCode } from './sign-status.js';
import type { Certificate } from '../core/certificate.js';
import { parseCsr, verifyCsrSignature, type ParsedCsr } from '../core/csr.js';
import { isWardenError } from '../core/errors.js';
import { decodeFirstPemBlock } from '../core/pem.js';
import type { WorkloadSigner } from '../core/sign.js';
import type { CaStateHolder } from './ca-state.js';
import type { SignFailureReason } from './metrics.js';

/** A refused call: the gRPC status, the exact message, and the metric reason. */
export class SignFailure extends Error {
  constructor(
    readonly status: SignStatusCode,
    message: string,
    readonly reason: SignFailureReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One leaf to issue: the CSR as sent, the identity (or why it is invalid), the DNS SANs, the time. */
export interface LeafRequest {
  csrPem: Uint8Array;
  identity: { spiffeId: string } | { invalid: string };
  dnsNames: string[];
  /** Signing time (epoch ms) from the sentry's clock. */
  atMs: number;
}

export interface IssuedLeaf {
  chainPem: string;
  trustAnchorsPem: string;
  notAfterMs: number;
}

/** Checks a CSR and signs its leaf; rejects with `SignFailure`. */
export interface LeafIssuer {
  issue(req: LeafRequest): Promise<IssuedLeaf>;
}

/** Issues in the calling thread with the current CA. */
export class InThreadLeafIssuer implements LeafIssuer {
  constructor(private readonly caState: CaStateHolder) {}

  issue(req: LeafRequest): Promise<IssuedLeaf> {
    const state = this.caState.current;
    return issueLeaf(state.signer, state.bundle.issuer, req);
  }
}

const CSR_PEM_TYPES = new Set(['CERTIFICATE REQUEST', 'CERTIFICATE']);

export async function issueLeaf(signer: WorkloadSigner, issuer: Certificate, req: LeafRequest): Promise<IssuedLeaf> {
  const csr = await readCsr(Buffer.from(req.csrPem.buffer, req.csrPem.byteOffset, req.csrPem.byteLength));
  if ('invalid' in req.identity) {
    // Dapr fails here too, inside signing, so the client sees Internal (spec 1.4 step 8).
    throw new SignFailure(SignStatus.INTERNAL, 'failed to sign certificate', 'invalid_identity', { cause: new Error(req.identity.invalid) });
  }
  const at = new Date(req.atMs);
  let signed;
  try {
    signed = await signer.sign({ publicKey: csr.publicKey, spkiDer: csr.spkiDer, spiffeId: req.identity.spiffeId, dnsNames: req.dnsNames, at });
  } catch (err) {
    if (isWardenError(err, 'ERR_ISSUER_NOT_VALID_NOW')) {
      const when = at > issuer.notAfter
        ? `expired at ${issuer.notAfter.toISOString()}`
        : `is not valid before ${issuer.notBefore.toISOString()}`;
      throw new SignFailure(
        SignStatus.FAILED_PRECONDITION,
        `cannot sign: the issuer certificate ${when}; rotate the trust bundle with "warden mtls renew-certificate" ` +
          '(warden sentry reloads it without a restart)',
        'issuer_not_valid',
        { cause: err },
      );
    }
    throw new SignFailure(SignStatus.INTERNAL, 'failed to sign certificate', 'internal', { cause: err });
  }
  return { chainPem: signed.chainPem, trustAnchorsPem: signed.trustAnchorsPem, notAfterMs: signed.notAfter.getTime() };
}

/** Steps 4–6: the first PEM block, its type, the PKCS#10 parse and the self-signature. */
async function readCsr(pemBytes: Buffer): Promise<ParsedCsr> {
  let block;
  try {
    // Like Go's pem.Decode, only the first block counts; whatever follows it is ignored. The scan
    // is linear in the request size (a backtracking expression here once let one request stall
    // every other: issue 12).
    block = decodeFirstPemBlock(pemBytes);
  } catch (err) {
    throw new SignFailure(SignStatus.INVALID_ARGUMENT, 'invalid certificate signing request', 'invalid_csr', { cause: err });
  }
  if (block === undefined || !CSR_PEM_TYPES.has(block.type)) {
    throw new SignFailure(SignStatus.INVALID_ARGUMENT, 'invalid certificate signing request', 'invalid_csr');
  }
  let csr: ParsedCsr;
  try {
    csr = parseCsr(block.der);
  } catch (err) {
    throw new SignFailure(
      SignStatus.INVALID_ARGUMENT,
      `failed to parse certificate signing request: ${(err instanceof Error ? err.message : String(err))}`,
      'invalid_csr',
      { cause: err },
    );
  }
  try {
    await verifyCsrSignature(csr);
  } catch (err) {
    throw new SignFailure(SignStatus.INVALID_ARGUMENT, 'invalid signature', 'csr_signature', { cause: err });
  }
  return csr;
}

