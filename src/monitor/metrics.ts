/**
 * `warden monitor`'s Prometheus metrics (docs/metrics.md, FLEET-CONTRACT.md): set from the last
 * read of every target, so a scrape only renders what is in memory and never calls an API.
 *
 * A target whose last read failed keeps the certificate, rotation, drift and sentry series of its
 * last successful read (expiry alerts must not go quiet because a cluster is unreachable), with
 * `warden_fleet_target_up` 0 and `warden_fleet_last_successful_read_timestamp_seconds` unchanged.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TARGET_STATUSES, type FleetTarget } from '../fleet/model.js';

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export class FleetMetrics {
  readonly registry = new Registry();

  private readonly expiry = this.gauge('warden_fleet_certificate_expiry_timestamp_seconds',
    'NotAfter of the certificate (role root or issuer), or when the JWT signing key is due (role jwt-key: the issuer\'s NotAfter), Unix seconds.', ['target', 'role']);
  private readonly secondsLeft = this.gauge('warden_fleet_certificate_seconds_left',
    'Seconds from the last successful read to the certificate\'s NotAfter; negative once expired. For alerts prefer expiry_timestamp_seconds - time().', ['target', 'role']);
  private readonly notBefore = this.gauge('warden_fleet_certificate_not_before_timestamp_seconds',
    'NotBefore of the certificate, Unix seconds.', ['target', 'role']);
  private readonly rotationPhase = this.gauge('warden_fleet_rotation_phase',
    '1 for the phase an unfinished root rotation is in (plan, add-anchor, propagation, switch-issuer, wait, retire-old-root); absent when no rotation runs.', ['target', 'phase']);
  private readonly rotationSince = this.gauge('warden_fleet_rotation_phase_since_timestamp_seconds',
    'When the current rotation phase began, Unix seconds; absent when no rotation runs.', ['target']);
  private readonly configMapInSync = this.gauge('warden_fleet_configmap_in_sync',
    '1 when the ConfigMap dapr-trust-bundle ca.crt equals the Secret\'s, 0 when they differ (Dapr\'s Sentry would generate a new CA on restart); Kubernetes targets only.', ['target']);
  private readonly sentryReady = this.gauge('warden_fleet_sentry_ready',
    '1 when Deployment dapr-sentry is rolled out and ready (kubectl rollout status rules), else 0; Kubernetes targets only.', ['target']);
  private readonly appsNotConverged = this.gauge('warden_fleet_apps_not_converged',
    'Dapr apps whose pods still trust only the anchors they started with; absent while not computed.', ['target']);
  private readonly info = this.gauge('warden_fleet_target_info',
    'Always 1: the target and its kind (kubernetes, self-hosted), for alerts to join on (target) and word the fix.', ['target', 'kind']);
  private readonly up = this.gauge('warden_fleet_target_up', '1 when the last read of the target succeeded, else 0.', ['target']);
  private readonly lastRead = this.gauge('warden_fleet_last_successful_read_timestamp_seconds',
    'When the target was last read without error, Unix seconds.', ['target']);
  private readonly status = this.gauge('warden_fleet_target_status',
    '1 for the target\'s current status (healthy, warning, unreachable, critical), 0 for the others.', ['target', 'status']);
  private readonly readErrors = new Counter({
    name: 'warden_fleet_read_errors_total',
    help: 'Reads of the target that failed, by error code (ERR_KUBE_UNREACHABLE, ERR_KUBE_FORBIDDEN, ERR_FLEET_TIMEOUT, …).',
    labelNames: ['target', 'code'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts a failed read. */
  countReadError(target: string, code: string): void {
    this.readErrors.inc({ target, code });
  }

  /** Replaces every gauge from `rows` (the current rows) and `lastGood` (each target's last successful row). */
  update(rows: readonly FleetTarget[], lastGood: ReadonlyMap<string, FleetTarget>): void {
    for (const g of [this.expiry, this.secondsLeft, this.notBefore, this.rotationPhase, this.rotationSince, this.configMapInSync,
      this.sentryReady, this.appsNotConverged, this.info, this.up, this.lastRead, this.status]) g.reset();
    for (const row of rows) {
      const target = row.name;
      this.info.set({ target, kind: row.kind }, 1);
      this.up.set({ target }, row.error === null ? 1 : 0);
      for (const s of TARGET_STATUSES) this.status.set({ target, status: s }, row.status === s ? 1 : 0);
      if (row.lastSuccessfulRead !== null) this.lastRead.set({ target }, seconds(row.lastSuccessfulRead));
      const facts = row.error === null ? row : lastGood.get(target);
      if (facts !== undefined) this.setFacts(target, facts);
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private setFacts(target: string, row: FleetTarget): void {
    for (const c of row.certificates) {
      const labels = { target, role: c.role };
      if (c.notAfter !== null) this.expiry.set(labels, seconds(c.notAfter));
      if (c.secondsLeft !== null) this.secondsLeft.set(labels, c.secondsLeft);
      this.notBefore.set(labels, seconds(c.notBefore));
    }
    if (row.rotation !== null) {
      this.rotationPhase.set({ target, phase: row.rotation.phase }, 1);
      this.rotationSince.set({ target }, seconds(row.rotation.since));
    }
    if (row.configMapInSync !== null) this.configMapInSync.set({ target }, row.configMapInSync ? 1 : 0);
    if (row.sentryReady !== null) this.sentryReady.set({ target }, row.sentryReady ? 1 : 0);
    if (row.appsNotConverged !== null) this.appsNotConverged.set({ target }, row.appsNotConverged);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
