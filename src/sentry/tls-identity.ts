/**
 * Sentry's own serving certificate (spec 2.5): an X.509-SVID `spiffe://<td>/ns/<ns>/dapr-sentry`
 * without DNS SANs, issued in-process from the current issuer with a fresh key, served as
 * leaf + issuer chain, and renewed at 50% of its lifetime (spec 4.4) or at once after a CA reload.
 *
 * Each new certificate is announced to `onRenewed` listeners; the gRPC listener puts it in its
 * TLS context, so the listener never closes; open connections keep their handshake, new ones get
 * the new certificate.
 */
import { createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { buildSpiffeId } from '../core/identity.js';
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
   * counts `dapr_sentry_servercert_issue_failed_total{reason="ca_error"}` and rethrows; the previous
   * certificate keeps being served.
   */
  async renew(): Promise<ServingCertificate> {
    const state = this.deps.caState.current;
    const key = generatePrivateKey('ecdsa-p256');
    let signed;
    try {
      signed = await state.signer.sign({ publicKey: createPublicKey(key), spiffeId: this.spiffeId, dnsNames: [] });
    } catch (err) {
      this.deps.metrics.serverCertIssueFailed.inc({ reason: 'ca_error' });
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
    this.deps.logger.info(
      { spiffeId: this.spiffeId, notAfter: info.notAfter.toISOString(), renewalAt: renewalTime(info).toISOString() },
      'Issued Sentry serving certificate',
    );
    this.schedule(Math.max(this.minRenewIntervalMs, this.delayUntilRenewal()));
    return info;
  }

  /** Stops the renewal timer. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private delayUntilRenewal(): number {
    if (this.latest === undefined) return 0;
    const wait = renewalTime(this.latest.info).getTime() - this.deps.clock.now().getTime();
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
