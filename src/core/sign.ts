/**
 * Signing workload certificates: the per-request hot path. Everything that does not change between
 * requests (issuer name, signer, fixed extensions, chain PEM) is computed once per bundle, so a request
 * costs one DER template fill plus one signature (design §3; bench/issue.ts measures it against the
 * crypto floor).
 */
import type { KeyObject } from 'node:crypto';
import type { TrustBundle } from './bundle.js';
import { certificatesToPem, isSelfSigned } from './certificate.js';
import type { Clock } from './clock.js';
import { WardenError } from './errors.js';
import { authorityKeyIdExtension } from './extensions.js';
import { spkiOf } from './keys.js';
import { encodePem } from './pem.js';
import { DEFAULT_DAPR_VERSION, profileForDaprVersion, signCertificateAsync, signCertificateSync, workloadFields, workloadStaticExtensions, type ProfileVersion, type TbsFields } from './profile.js';
import { randomSerials, type SerialSource } from './serial.js';
import { signerFor, type Signer } from './signature.js';

export interface SignedWorkload {
  leafDer: Buffer;
  /** Leaf then the issuer chain; never a self-signed certificate (spec 1.3). */
  chainPem: string;
  /** Every trust anchor, concatenated PEM (one `trust_chain_certificates` element). */
  trustAnchorsPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface WorkloadRequest {
  publicKey: KeyObject;
  /** The key's SubjectPublicKeyInfo if the caller has it already (a parsed CSR does): saves an export. */
  spkiDer?: Buffer;
  spiffeId: string;
  dnsNames?: ReadonlyArray<string>;
  /** The signing time; default the signer's clock (a signing thread gets it from the caller's clock). */
  at?: Date;
}

export interface WorkloadSignerOptions {
  clock: Clock;
  workloadTtlMs: number;
  clockSkewMs: number;
  serials?: SerialSource;
  /** The leaf profile; default the newest Dapr's (v1.18: digitalSignature only, whatever the issuer key). */
  profile?: ProfileVersion;
}

export class WorkloadSigner {
  private readonly signer: Signer;
  private readonly staticExtensions: { keyUsage: Buffer; extKeyUsage: Buffer };
  private readonly authorityKeyIdExtension: Buffer | undefined;
  private readonly issuerChainPem: string;
  readonly trustAnchorsPem: string;
  private readonly serials: SerialSource;
  /** The leaf profile this signer issues. */
  readonly profile: ProfileVersion;

  constructor(readonly bundle: TrustBundle, private readonly opts: WorkloadSignerOptions) {
    this.signer = signerFor(bundle.issuerKey);
    this.profile = opts.profile ?? profileForDaprVersion(DEFAULT_DAPR_VERSION);
    this.staticExtensions = workloadStaticExtensions(this.profile);
    const ski = bundle.issuer.subjectKeyId;
    this.authorityKeyIdExtension = ski ? authorityKeyIdExtension(ski) : undefined;
    this.issuerChainPem = certificatesToPem(bundle.issuerChain.filter((c) => !isSelfSigned(c)));
    this.trustAnchorsPem = certificatesToPem(bundle.anchors);
    this.serials = opts.serials ?? randomSerials;
  }

  /**
   * Signs a workload certificate. NotBefore = now − skew, NotAfter = now + TTL clamped to the issuer's
   * NotAfter (Dapr does not clamp: spec 7.7). Refuses when the issuer is not valid now.
   */
  async sign(req: WorkloadRequest): Promise<SignedWorkload> {
    const prepared = this.prepare(req);
    return this.result(await signCertificateAsync(prepared.fields, this.signer), prepared);
  }

  /** `sign` on the calling thread: for the one canary leaf checked when a bundle is loaded, not for requests. */
  signSync(req: WorkloadRequest): SignedWorkload {
    const prepared = this.prepare(req);
    return this.result(signCertificateSync(prepared.fields, this.signer), prepared);
  }

  private prepare(req: WorkloadRequest): { fields: TbsFields; notBefore: Date; notAfter: Date } {
    const now = (req.at ?? this.opts.clock.now()).getTime();
    const issuer = this.bundle.issuer;
    if (now > issuer.notAfter.getTime() || now < issuer.notBefore.getTime()) {
      const state = now > issuer.notAfter.getTime() ? `expired on ${issuer.notAfter.toISOString()}` : `is not valid before ${issuer.notBefore.toISOString()}`;
      throw new WardenError('ERR_ISSUER_NOT_VALID_NOW', `the issuer certificate ${state}; renew the trust bundle with \`warden mtls renew-certificate\``);
    }
    const notBefore = new Date(now - this.opts.clockSkewMs);
    const notAfter = new Date(Math.min(now + this.opts.workloadTtlMs, issuer.notAfter.getTime()));
    const fields = workloadFields({
      issuer,
      spkiDer: req.spkiDer ?? spkiOf(req.publicKey),
      spiffeId: req.spiffeId,
      dnsNames: req.dnsNames ?? [],
      serial: this.serials(),
      validity: { notBefore, notAfter },
      staticExtensions: this.staticExtensions,
      ...(this.authorityKeyIdExtension ? { authorityKeyIdExtension: this.authorityKeyIdExtension } : {}),
    });
    return { fields, notBefore, notAfter };
  }

  private result(leafDer: Buffer, { notBefore, notAfter }: { notBefore: Date; notAfter: Date }): SignedWorkload {
    return {
      leafDer,
      chainPem: encodePem('CERTIFICATE', leafDer) + this.issuerChainPem,
      trustAnchorsPem: this.trustAnchorsPem,
      // DER times have second precision: report what the certificate says.
      notBefore: new Date(Math.floor(notBefore.getTime() / 1000) * 1000),
      notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000),
    };
  }
}
