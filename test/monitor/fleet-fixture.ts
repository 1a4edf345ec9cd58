/**
 * Contract JSON (FLEET-CONTRACT.md, `GET /api/fleet`) for five targets, built from real certificates
 * made by the project's bundle kit (test/support/bundles.ts): the dates, subjects and seconds left
 * are read back from the parsed certificates, not typed in.
 *
 *   prod-eu    healthy      root and issuer valid for a year, JWT key with no known expiry
 *   /var/lib/dapr/certs  healthy  a self-hosted directory whose issuer has 200 days left
 *   staging    warning      issuer expires in 5 days, JWT key in 20
 *   dev-old    critical     issuer expired a day ago
 *   prod-us    warning      mid-rotation: a second root in ca.crt, phase "propagation", ConfigMap drift
 *   edge-lab   unreachable  the API server could not be reached
 */
import type { Certificate } from '../../src/core/certificate.js';
import { buildBundle, withExpiredIssuer, withExpiresIn, withExtraRoot, type Modifier } from '../support/bundles.js';

export type Status = 'healthy' | 'warning' | 'unreachable' | 'critical';
export type CertStatus = 'healthy' | 'warning' | 'critical' | 'expired';

export interface FleetCertificate {
  role: 'root' | 'issuer' | 'jwt-key';
  subject: string;
  notBefore: string;
  notAfter: string | null;
  secondsLeft: number | null;
  status: CertStatus;
}

export interface FleetTarget {
  name: string;
  kind: 'kubernetes' | 'self-hosted';
  status: Status;
  error: null | { code: string; message: string };
  daprNamespace: string | null;
  daprVersion: string | null;
  certificates: FleetCertificate[];
  rotation: null | { phase: string; since: string; phases: { name: string; startedAt: string; endedAt: string | null }[] };
  configMapInSync: boolean | null;
  sentryReady: boolean | null;
  appsNotConverged: number | null;
  finding: null | { severity: 'warning' | 'critical'; code: string; message: string; fix: string | null };
  lastSuccessfulRead: string | null;
}

export interface Fleet {
  generatedAt: string;
  worst: Status;
  targets: FleetTarget[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const STATUS_ORDER: Status[] = ['healthy', 'warning', 'unreachable', 'critical'];

/** The contract's certificate status: warning under 30 days, expired past notAfter. */
export function certStatus(notAfter: Date, now: Date): CertStatus {
  const left = notAfter.getTime() - now.getTime();
  return left <= 0 ? 'expired' : left < 30 * DAY ? 'warning' : 'healthy';
}

export function worstOf(statuses: Status[]): Status {
  return statuses.reduce<Status>((w, s) => (STATUS_ORDER.indexOf(s) > STATUS_ORDER.indexOf(w) ? s : w), 'healthy');
}

function describe(role: FleetCertificate['role'], cert: Certificate, now: Date): FleetCertificate {
  return {
    role,
    subject: cert.subject.text,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    secondsLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / 1000),
    status: certStatus(cert.notAfter, now),
  };
}

async function certificatesOf(now: Date, ...modifiers: Modifier[]): Promise<FleetCertificate[]> {
  const { bundle } = await buildBundle({ now }, ...modifiers);
  return [describe('root', bundle.root, now), describe('issuer', bundle.issuer, now)];
}

function target(name: string, certificates: FleetCertificate[], rest: Partial<FleetTarget>, now: Date): FleetTarget {
  const certWorst = certificates.some((c) => c.status === 'expired' || c.status === 'critical')
    ? 'critical'
    : certificates.some((c) => c.status === 'warning') ? 'warning' : 'healthy';
  return {
    name, kind: 'kubernetes', status: certWorst, error: null, daprNamespace: 'dapr-system', daprVersion: '1.16.2',
    certificates, rotation: null, configMapInSync: true, sentryReady: true, appsNotConverged: 0, finding: null,
    lastSuccessfulRead: now.toISOString(),
    ...rest,
  };
}

/** The five targets above, as the monitor would answer at `now`. */
export async function buildFleet(now: Date): Promise<Fleet> {
  const iso = (ms: number): string => new Date(now.getTime() + ms).toISOString();
  const healthy = await certificatesOf(now);
  const expiring = await certificatesOf(now, withExpiresIn(5 * DAY, 'issuer'));
  const expired = await certificatesOf(now, withExpiredIssuer());
  const rotating = await certificatesOf(now, withExtraRoot());
  const selfHosted = await certificatesOf(now, withExpiresIn(200 * DAY, 'issuer'));
  const jwtNotAfter = new Date(now.getTime() + 20 * DAY);

  const targets: FleetTarget[] = [
    target('prod-eu', [...healthy, { role: 'jwt-key', subject: 'sentry JWT signing key', notBefore: healthy[1]!.notBefore,
      notAfter: null, secondsLeft: null, status: 'healthy' }], {}, now),
    target('/var/lib/dapr/certs', selfHosted, { kind: 'self-hosted', daprNamespace: null, configMapInSync: null, appsNotConverged: null }, now),
    target('staging', [...expiring, { role: 'jwt-key', subject: 'sentry JWT signing key', notBefore: expiring[1]!.notBefore,
      notAfter: jwtNotAfter.toISOString(), secondsLeft: Math.floor((jwtNotAfter.getTime() - now.getTime()) / 1000), status: certStatus(jwtNotAfter, now) }], {
      finding: { severity: 'warning', code: 'ISSUER_EXPIRES_SOON', message: 'The issuer certificate expires in 5 days.',
        fix: 'warden mtls rotate -k --context staging' },
    }, now),
    target('dev-old', expired, {
      sentryReady: false,
      finding: { severity: 'critical', code: 'ISSUER_EXPIRED', message: 'The issuer certificate expired; no sidecar can get a certificate.',
        fix: 'warden mtls renew-certificate -k --context dev-old --restart' },
    }, now),
    target('prod-us', rotating, {
      status: 'warning',
      configMapInSync: false,
      appsNotConverged: 3,
      rotation: {
        phase: 'propagation', since: iso(-2 * HOUR),
        phases: [
          { name: 'add-anchor', startedAt: iso(-3 * DAY), endedAt: iso(-2 * HOUR) },
          { name: 'propagation', startedAt: iso(-2 * HOUR), endedAt: null },
        ],
      },
      finding: { severity: 'warning', code: 'CONFIGMAP_DRIFT', message: 'The ConfigMap dapr-trust-bundle differs from the Secret.',
        fix: 'warden mtls rotate -k --context prod-us --resume' },
    }, now),
    target('edge-lab', [], {
      status: 'unreachable',
      error: { code: 'ERR_KUBE_UNREACHABLE', message: 'connect ECONNREFUSED 10.0.0.7:6443' },
      daprNamespace: null, daprVersion: null, configMapInSync: null, sentryReady: null, appsNotConverged: null,
      lastSuccessfulRead: iso(-6 * HOUR),
    }, now),
  ];
  return { generatedAt: now.toISOString(), worst: worstOf(targets.map((t) => t.status)), targets };
}
