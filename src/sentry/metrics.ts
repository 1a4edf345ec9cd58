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

/**
 * Why a SignCertificate call failed (`warden_sentry_sign_failures_total{reason}`); a closed set.
 * - `validator`: validator not enabled or the request broke the validator's rules
 * - `invalid_csr`: no usable PEM block or the CSR did not parse (incl. unsupported keys, too large)
 * - `csr_signature`: the CSR's self-signature did not verify
 * - `issuer_not_valid`: the issuer is expired or not yet valid; Warden refuses to sign
 * - `invalid_identity`: id/namespace/trust domain do not form a valid SPIFFE ID
 * - `internal`: anything else
 */
export const SIGN_FAILURE_REASONS = [
  'validator',
  'invalid_csr',
  'csr_signature',
  'issuer_not_valid',
  'invalid_identity',
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
    help: 'The number of issuer cert updates, when issuer cert or key is changed.',
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly issuerCertExpiry = new Gauge({
    name: 'dapr_sentry_issuercert_expiry_timestamp',
    help: 'The unix timestamp, in seconds, when issuer/root cert will expire.',
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
    // Expose every labelled series from the start, at zero, so dashboards and alerts see them.
    this.signFailure.inc({ reason: 'sign' }, 0);
    for (const reason of SIGN_FAILURE_REASONS) this.signFailures.inc({ reason }, 0);
    for (const reason of REFUSAL_REASONS) this.grpcRefused.inc({ reason }, 0);
    this.serverCertIssueFailed.inc({ reason: 'ca_error' }, 0);
  }

  /** Counts a failed SignCertificate call in both Dapr's and Warden's counters. */
  recordSignFailure(reason: SignFailureReason): void {
    this.signFailure.inc({ reason: 'sign' });
    this.signFailures.inc({ reason });
  }

  /** Records the expiry gauges of a newly loaded CA. */
  recordCa(issuer: Certificate, root: Certificate): void {
    const issuerSeconds = Math.floor(issuer.notAfter.getTime() / 1000);
    this.issuerCertExpiry.set(issuerSeconds);
    this.issuerExpirySeconds.set(issuerSeconds);
    this.rootExpirySeconds.set(Math.floor(root.notAfter.getTime() / 1000));
  }

  /** The exposition text. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
