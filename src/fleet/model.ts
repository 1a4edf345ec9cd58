/**
 * The fleet report: one row per target (a Kubernetes context or a self-hosted credentials
 * directory), exactly the JSON of `warden fleet -o json` and the monitor's `/api/fleet`
 * (/work/wt/FLEET-CONTRACT.md, documented in docs/metrics.md). Plain data: times are ISO strings.
 */

/** Worst first: the order `worstStatus` ranks by. */
export const TARGET_STATUSES = ['critical', 'unreachable', 'warning', 'healthy'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

/** Finding codes only the fleet reports (the rest are the check chain's and ERR_TRUST_ANCHORS_MISMATCH); each has a row in docs/errors.md. */
export const FLEET_FINDING_CODES = ['WARN_SENTRY_NOT_READY', 'WARN_APPS_NOT_CONVERGED', 'WARN_ROTATION_STALLED'] as const;
export type FleetFindingCode = (typeof FLEET_FINDING_CODES)[number];

export const CERTIFICATE_STATUSES = ['expired', 'critical', 'warning', 'healthy'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

export type CertificateRole = 'root' | 'issuer' | 'jwt-key';

export interface FleetCertificate {
  role: CertificateRole;
  /** The CN, else the O, else the whole subject. */
  subject: string;
  notBefore: string;
  /** null for a JWT key whose end is unknown. */
  notAfter: string | null;
  /** Whole seconds to notAfter (negative once expired); null when notAfter is. */
  secondsLeft: number | null;
  status: CertificateStatus;
}

export interface FleetRotationPhase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}

export interface FleetRotation {
  /** The phase the rotation is in now: plan, add-anchor, propagation, switch-issuer, wait, retire-old-root. */
  phase: string;
  since: string;
  phases: FleetRotationPhase[];
}

export interface FleetFinding {
  severity: 'warning' | 'critical';
  code: string;
  message: string;
  /** The command that fixes it, with the flags that address this target; null when none does by itself. */
  fix: string | null;
}

export interface FleetError {
  code: string;
  message: string;
}

export type TargetKind = 'kubernetes' | 'self-hosted';

export interface FleetTarget {
  name: string;
  kind: TargetKind;
  status: TargetStatus;
  error: FleetError | null;
  daprNamespace: string | null;
  daprVersion: string | null;
  certificates: FleetCertificate[];
  rotation: FleetRotation | null;
  configMapInSync: boolean | null;
  sentryReady: boolean | null;
  appsNotConverged: number | null;
  finding: FleetFinding | null;
  lastSuccessfulRead: string | null;
}

export interface FleetReport {
  generatedAt: string;
  worst: TargetStatus;
  targets: FleetTarget[];
}

/** The worst of `statuses` (healthy when there is none). */
export function worstStatus(statuses: Iterable<TargetStatus>): TargetStatus {
  let worst = TARGET_STATUSES.length - 1;
  for (const s of statuses) worst = Math.min(worst, TARGET_STATUSES.indexOf(s));
  return TARGET_STATUSES[worst] as TargetStatus;
}

/** A report over `targets`, generated at `now`. */
export function fleetReport(targets: FleetTarget[], now: Date): FleetReport {
  return { generatedAt: now.toISOString(), worst: worstStatus(targets.map((t) => t.status)), targets };
}
