/**
 * Sentry's own serving certificate (spec 2.5): an X.509-SVID `spiffe://<td>/ns/<ns>/dapr-sentry`
 * without DNS SANs, issued in-process from the current issuer with a fresh key, served as
 * leaf + issuer chain, and renewed at 50% of its lifetime (spec 4.4) or at once after a CA reload.
 *
 * Near the issuer's end the leaf is cut short at the issuer's NotAfter, and with the backdated
 * NotBefore its 50% point is already past when it is issued. Renewing then cannot give a longer
 * certificate until the CA changes (a reload renews at once), so the next renewal is put at the
 * leaf's NotAfter and the issuer's coming expiry is logged once per issuer, instead of
 * re-issuing every second.
 *
 * Each new certificate is announced to `onRenewed` listeners; the gRPC listener puts it in its
 * TLS context, so the listener never closes; open connections keep their handshake, new ones get
 * the new certificate.
 */
import { createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { buildSpiffeId } from '../core/spiffe-id.js';
import { generatePrivateKey, privateKeyToPkcs8Pem } from '../core/keys.js';
import type { CaStateHolder } from './ca-state.js';
import type { TlsIdentitySource } from './grpc-server.js';
import type { SentryMetrics } from './metrics.js';

export interface ServingIdentityDeps {
  caState: CaStateHolder;
  clock: Clock;
  logger: Logger;
  metrics: SentryMetrics;
  trustDomain: string;
  namespace: string;
  /**
   * The serving key's algorithm: what the emulated Dapr's sentry generates for its own SVID
   * (dapr/kit crypto/spiffe: ECDSA P-256 in kit v0.16/v0.17 = Dapr 1.16/1.17, Ed25519 in kit
   * v0.18 = Dapr 1.18). Default ECDSA P-256.
   */
  keyAlgorithm?: 'ed25519' | 'ecdsa-p256';
  /** Longest sleep between renewal checks (kit uses 1 minute), so clock jumps are noticed. */
  checkIntervalMs?: number;
  /** Wait after a failed renewal before trying again (kit: 10 s). */
  retryDelayMs?: number;
  /** Shortest wait between two renewals, so a TTL shorter than the skew cannot spin (default 1 s). */
  minRenewIntervalMs?: number;
}

export interface ServingCertificate {
  spiffeId: string;
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
}

export class ServingIdentity implements TlsIdentitySource {
  readonly spiffeId: string;
  private latest: { certificate: Buffer; privateKey: Buffer; info: ServingCertificate } | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly checkIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly minRenewIntervalMs: number;
  /** When the served certificate is renewed next (set on each issue). */
  private renewAt: Date | undefined;
  /** The issuer NotAfter already warned about, so the warning is logged once per issuer. */
  private warnedIssuerEnd: number | undefined;

  constructor(private readonly deps: ServingIdentityDeps) {
    this.spiffeId = buildSpiffeId(deps.trustDomain, deps.namespace, 'dapr-sentry');
    this.checkIntervalMs = deps.checkIntervalMs ?? 60_000;
    this.retryDelayMs = deps.retryDelayMs ?? 10_000;
    this.minRenewIntervalMs = deps.minRenewIntervalMs ?? 1_000;
  }

  /** The key and chain being served now (PEM), for the TLS context. */
  keyPair(): { key: Buffer; cert: Buffer } | undefined {
    return this.latest === undefined ? undefined : { key: this.latest.privateKey, cert: this.latest.certificate };
  }

  onRenewed(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The certificate being served now, if any. */
  get current(): ServingCertificate | undefined {
    return this.latest?.info;
  }

  /**
   * Issues a new serving certificate from the current CA and pushes it to the server. On failure
   * counts `dapr_sentry_servercert_issue_failed_total{reason=""}` (as Dapr: the reason is never recorded) and rethrows; the previous
   * certificate keeps being served.
   */
  async renew(): Promise<ServingCertificate> {
    const state = this.deps.caState.current;
    const key = generatePrivateKey(this.deps.keyAlgorithm ?? 'ecdsa-p256');
    let signed;
    try {
      signed = await state.signer.sign({ publicKey: createPublicKey(key), spiffeId: this.spiffeId, dnsNames: [] });
    } catch (err) {
      this.deps.metrics.recordServerCertIssueFailed();
      throw err;
    }
    const info: ServingCertificate = {
      spiffeId: this.spiffeId,
      chainPem: signed.chainPem,
      notBefore: signed.notBefore,
      notAfter: signed.notAfter,
    };
    this.latest = {
      certificate: Buffer.from(signed.chainPem, 'utf8'),
      privateKey: Buffer.from(privateKeyToPkcs8Pem(key), 'utf8'),
      info,
    };
    for (const listener of this.listeners) listener();
    const issuerNotAfter = state.bundle.issuer.notAfter;
    this.renewAt = this.nextRenewal(info, issuerNotAfter);
    this.deps.logger.info(
      { spiffeId: this.spiffeId, notAfter: info.notAfter.toISOString(), renewalAt: this.renewAt.toISOString() },
      'Issued Sentry serving certificate',
    );
    this.schedule(this.delayUntilRenewal());
    return info;
  }

  /**
   * Dapr's 50% point when it is at least `minRenewIntervalMs` away. Otherwise: a leaf cut short by
   * the issuer is renewed at its NotAfter (sooner gains nothing; a reload renews at once) with one
   * warning per issuer; a leaf whose TTL is shorter than the skew is renewed halfway through what
   * is left of it, never sooner than `minRenewIntervalMs`.
   */
  private nextRenewal(info: ServingCertificate, issuerNotAfter: Date): Date {
    const now = this.deps.clock.now().getTime();
    const halfway = renewalTime(info).getTime();
    if (halfway - now >= this.minRenewIntervalMs) return new Date(halfway);
    // Leaf NotAfter is truncated to the second, so "cut short" means within a second of the issuer's.
    const cutShort = issuerNotAfter.getTime() - info.notAfter.getTime() < 1000;
    if (cutShort) {
      this.warnIssuerEnding(issuerNotAfter);
      return new Date(Math.max(now + this.minRenewIntervalMs, info.notAfter.getTime()));
    }
    return new Date(now + Math.max(this.minRenewIntervalMs, (info.notAfter.getTime() - now) / 2));
  }

  private warnIssuerEnding(issuerNotAfter: Date): void {
    if (this.warnedIssuerEnd === issuerNotAfter.getTime()) return;
    this.warnedIssuerEnd = issuerNotAfter.getTime();
    this.deps.logger.warn(
      { issuerNotAfter: issuerNotAfter.toISOString() },
      'The issuer certificate expires soon and the Sentry serving certificate cannot outlive it; ' +
        'it is not re-issued until the trust bundle is renewed (warden mtls renew-certificate)',
    );
  }

  /** Stops the renewal timer. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private delayUntilRenewal(): number {
    if (this.renewAt === undefined) return 0;
    const wait = this.renewAt.getTime() - this.deps.clock.now().getTime();
    return Math.max(0, Math.min(this.checkIntervalMs, wait));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.delayUntilRenewal() > 0) {
      this.schedule(this.delayUntilRenewal());
      return;
    }
    try {
      await this.renew();
    } catch (err) {
      this.deps.logger.error(
        { err: (err as Error).message },
        `Error renewing Sentry serving certificate, trying again in ${Math.round(this.retryDelayMs / 1000)} seconds`,
      );
      this.schedule(this.retryDelayMs);
    }
  }
}

/** NotBefore + 50% of the lifetime (spec 4.4). */
export function renewalTime(cert: { notBefore: Date; notAfter: Date }): Date {
  const start = cert.notBefore.getTime();
  return new Date(start + (cert.notAfter.getTime() - start) / 2);
}
