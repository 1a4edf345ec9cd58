/**
 * Sentry's Prometheus metrics (spec 5.2) in a registry of its own: Dapr's six `dapr_sentry_*`
 * series with their exact names, types and labels, plus Warden's `warden_sentry_*` additions and
 * the default process metrics.
 *
 * `aggregator` says how a cluster primary (`--workers`, cluster/) combines its workers' values:
 * per-call counters and the histogram are summed (the default); per-bundle facts every worker
 * holds alike must not be multiplied by N: expiry gauges take the min, the reload counters the
 * max. A single process ignores it.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Aggregator } from 'prom-client';
import type { Certificate } from '../core/certificate.js';
import { REFUSAL_REASONS } from './grpc/limits.js';

/** `warden_sentry_rotation_phase{phase}`: 1 for the phase the automatic rotation is in, 0 for the others. */
export const ROTATION_PHASE_LABELS = ['idle', 'plan', 'add-anchor', 'switch-issuer', 'retire-old-root'] as const;
export type RotationPhaseLabel = (typeof ROTATION_PHASE_LABELS)[number];

/**
 * Why a SignCertificate call failed (`warden_sentry_sign_failures_total{reason}`); a closed set.
 * - `validator`: validator not enabled or the request broke the validator's rules
 * - `invalid_csr`: no usable PEM block or the CSR did not parse (incl. unsupported keys, too large)
 * - `csr_signature`: the CSR's self-signature did not verify
 * - `issuer_not_valid`: the issuer is expired or not yet valid; Warden refuses to sign
 * - `invalid_identity`: id/namespace/trust domain do not form a valid SPIFFE ID
 * - `jwt`: the certificate was signed but its JWT-SVIDs were not (`failed to generate JWT: ...`)
 * - `internal`: anything else
 */
export const SIGN_FAILURE_REASONS = [
  'validator',
  'invalid_csr',
  'csr_signature',
  'issuer_not_valid',
  'invalid_identity',
  'jwt',
  'internal',
] as const;
export type SignFailureReason = (typeof SIGN_FAILURE_REASONS)[number];

/** Default process metrics whose prom-client aggregator is wrong for a cluster (the earliest start, the limit). */
const PROCESS_METRIC_AGGREGATORS: readonly (readonly [string, Aggregator])[] = [
  ['process_start_time_seconds', 'min'],
  ['process_max_fds', 'max'],
];

export class SentryMetrics {
  readonly registry = new Registry();

  readonly requestReceived = new Counter({
    name: 'dapr_sentry_cert_sign_request_received_total',
    help: 'The number of CSRs received.',
    registers: [this.registry],
  });
  readonly signSuccess = new Counter({
    name: 'dapr_sentry_cert_sign_success_total',
    help: 'The number of certificates issuances that have succeeded.',
    registers: [this.registry],
  });
  readonly signFailure = new Counter({
    name: 'dapr_sentry_cert_sign_failure_total',
    help: 'The number of errors occurred when signing the CSR.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly serverCertIssueFailed = new Counter({
    name: 'dapr_sentry_servercert_issue_failed_total',
    help: 'The number of server TLS certificate issuance failures.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly issuerCertChanged = new Counter({
    name: 'dapr_sentry_issuercert_changed_total',
    // Dapr's text, without a final period (pkg/sentry/monitoring/metrics.go).
    help: 'The number of issuer cert updates, when issuer cert or key is changed',
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly issuerCertExpiry = new Gauge({
    name: 'dapr_sentry_issuercert_expiry_timestamp',
    help: 'The unix timestamp, in seconds, when issuer/root cert will expire.',
    registers: [this.registry],
    aggregator: 'min',
  });

  /** Only with `--jwt-enabled` (one series, labelled with the key's kid): the key is due with the issuer (src/core/jwt-rotation.ts). */
  readonly jwtKeyExpirySeconds = new Gauge({
    name: 'warden_sentry_jwt_key_expiry_timestamp_seconds',
    help: 'When the JWT signing key is due, in Unix seconds: Warden renews it with the issuer, so the issuer\'s NotAfter.',
    labelNames: ['kid'] as const,
    registers: [this.registry],
    aggregator: 'min',
  });
  readonly rootExpirySeconds = new Gauge({
    name: 'warden_sentry_root_expiry_timestamp_seconds',
    help: 'NotAfter of the trust anchor the issuer chains to, in Unix seconds.',
    registers: [this.registry],
    aggregator: 'min',
  });
  readonly issuerExpirySeconds = new Gauge({
    name: 'warden_sentry_issuer_expiry_timestamp_seconds',
    help: 'NotAfter of the issuer certificate, in Unix seconds.',
    registers: [this.registry],
    aggregator: 'min',
  });
  readonly signDuration = new Histogram({
    name: 'warden_sentry_sign_duration_seconds',
    help: 'Time to handle a SignCertificate call, successful or not.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly signFailures = new Counter({
    name: 'warden_sentry_sign_failures_total',
    help: 'Failed SignCertificate calls by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly grpcRefused = new Counter({
    name: 'warden_sentry_grpc_refused_total',
    help: 'Connections, streams and calls the gRPC server refused or cut at one of its limits, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly reloadFailures = new Counter({
    name: 'warden_sentry_reload_failures_total',
    help: 'Reloads of the trust bundle that were refused; the previous CA kept serving.',
    registers: [this.registry],
    aggregator: 'max',
  });

  /** Set by the auto-renewer only (absent with --auto-renew off), so a cluster's workers do not all claim `idle`. */
  readonly rotationPhase = new Gauge({
    name: 'warden_sentry_rotation_phase',
    help: 'The phase the rotation of this bundle is in (1) with --auto-renew; idle between rotations.',
    labelNames: ['phase'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly nextRenewalSeconds = new Gauge({
    name: 'warden_sentry_next_renewal_timestamp_seconds',
    help: 'When the sentry renews the CA automatically next (--auto-renew), in Unix seconds; 0 when auto-renew is off.',
    registers: [this.registry],
    // With --workers only worker 0 renews; the others report 0.
    aggregator: 'max',
  });
  readonly autoRenewPossible = new Gauge({
    name: 'warden_sentry_auto_renew_possible',
    help: '1 when --auto-renew is on and the sentry can renew this bundle itself (a generated root, or its root key given); 0 otherwise.',
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly autoRenewLeader = new Gauge({
    name: 'warden_sentry_auto_renew_leader',
    help: '1 when this replica holds the auto-renew Lease (Kubernetes) or may act alone (self-hosted); 0 otherwise.',
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly podsNotConverged = new Gauge({
    name: 'warden_sentry_pods_not_converged',
    help: 'Kubernetes, --auto-renew: running Dapr pods that do not trust the new root of the rotation in progress (the trust gate before switch-issuer); the issuer is not switched while it is above 0.',
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly autoRenewals = new Counter({
    name: 'warden_sentry_auto_renewals_total',
    help: 'Automatic rotations by result: started, completed, failed (each failure is retried), blocked (a manual rotation held the lock).',
    labelNames: ['result'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly memoryReleases = new Counter({
    name: 'warden_sentry_memory_releases_total',
    help: 'Times the process gave memory back after a storm of connections had subsided (garbage collection and malloc_trim).',
    registers: [this.registry],
  });
  readonly memoryReleasedBytes = new Counter({
    name: 'warden_sentry_memory_released_bytes_total',
    help: 'Resident memory given back by those releases (RSS before minus after), in bytes.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client omits the start time from an aggregate and sums the fd limit; keep both meaningful.
    for (const [name, aggregator] of PROCESS_METRIC_AGGREGATORS) {
      const metric = this.registry.getSingleMetric(name);
      if (metric !== undefined) (metric as unknown as { aggregator: Aggregator }).aggregator = aggregator;
    }
    // Warden's labelled series exist from the start, at zero, so dashboards and alerts see them.
    // Dapr's labelled series appear at their first increment, as in Dapr (OpenCensus exports a
    // view once it has a row): dapr_sentry_cert_sign_failure_total{reason="sign"} at the first
    // failure, dapr_sentry_servercert_issue_failed_total{reason=""} at the first serving-cert failure.
    for (const reason of SIGN_FAILURE_REASONS) this.signFailures.inc({ reason }, 0);
    for (const reason of REFUSAL_REASONS) this.grpcRefused.inc({ reason }, 0);
    for (const result of ['started', 'completed', 'failed', 'blocked']) this.autoRenewals.inc({ result }, 0);
  }

  /**
   * Counts a failure to issue the sentry's own serving certificate. Dapr passes a reason
   * (`ca_error`, `invalid_csr`) but records the measure without the tag, so its `reason` label is
   * always empty (spec 5.2); Warden records the same series.
   */
  recordServerCertIssueFailed(): void {
    this.serverCertIssueFailed.inc({ reason: '' });
  }

  /** Marks `phase` as the one the rotation is in. */
  setRotationPhase(phase: RotationPhaseLabel): void {
    for (const p of ROTATION_PHASE_LABELS) this.rotationPhase.set({ phase: p }, p === phase ? 1 : 0);
  }

  /** Counts a failed SignCertificate call in both Dapr's and Warden's counters. */
  recordSignFailure(reason: SignFailureReason): void {
    this.signFailure.inc({ reason: 'sign' });
    this.signFailures.inc({ reason });
  }

  /** Records the expiry gauges of a newly loaded CA; `jwtKey` when it signs JWT-SVIDs. */
  recordCa(issuer: Certificate, root: Certificate, jwtKeyId?: string): void {
    const issuerSeconds = Math.floor(issuer.notAfter.getTime() / 1000);
    this.issuerCertExpiry.set(issuerSeconds);
    this.issuerExpirySeconds.set(issuerSeconds);
    this.rootExpirySeconds.set(Math.floor(root.notAfter.getTime() / 1000));
    this.jwtKeyExpirySeconds.reset();
    if (jwtKeyId !== undefined) this.jwtKeyExpirySeconds.set({ kid: jwtKeyId }, issuerSeconds);
  }

  /** The exposition text. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
