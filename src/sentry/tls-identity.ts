/**
 * Sentry's own serving certificate (spec 2.5): an X.509-SVID `spiffe://<td>/ns/<ns>/dapr-sentry`
 * without DNS SANs, issued in-process from the current issuer with a fresh key, served as
 * leaf + issuer chain, and renewed at 50% of its lifetime (spec 4.4) or at once after a CA reload.
 *
 * It is a grpc-js `CertificateProvider`: each new certificate is pushed to the server's
 * `setSecureContext`, so the listener never closes; open connections keep their handshake, new
 * ones get the new certificate.
 */
import { createPublicKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { buildSpiffeId } from '../core/identity.js';
import { generatePrivateKey, privateKeyToPkcs8Pem } from '../core/keys.js';
import type { CaStateHolder } from './ca-state.js';
import type { SentryMetrics } from './metrics.js';

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

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

export class ServingIdentity implements grpc.experimental.CertificateProvider {
  readonly spiffeId: string;
  private latest: { certificate: Buffer; privateKey: Buffer; info: ServingCertificate } | undefined;
  private readonly listeners = new Set<IdentityListener>();
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

  /** Server credentials that follow this identity: TLS, no client certificate requested. */
  serverCredentials(): grpc.ServerCredentials {
    // grpc-js passes the first argument on as the identity provider; null CA = no client auth.
    return grpc.experimental.createCertificateProviderServerCredentials(this, null, false);
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
    for (const listener of this.listeners) listener({ certificate: this.latest.certificate, privateKey: this.latest.privateKey });
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

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.add(listener);
    const latest = this.latest;
    // Asynchronously: grpc-js registers its own watcher only after this call returns.
    if (latest !== undefined) {
      queueMicrotask(() => listener({ certificate: latest.certificate, privateKey: latest.privateKey }));
    }
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.delete(listener);
  }

  addCaCertificateListener(): void {
    // No client authentication: there is no CA to provide.
  }

  removeCaCertificateListener(): void {}

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
