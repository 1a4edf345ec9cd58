/**
 * A target's verdict: its status and the one finding worth a person's attention first, with the
 * command that fixes it. Critical (exit 3) only when the trust is broken: a certificate expired, a
 * check error (the chain does not verify, the key does not match), no or a partial bundle.
 * Warning (exit 1): a certificate under the 30-day window, the ConfigMap differing from the
 * Secret, dapr-sentry not ready, apps not restarted since the anchors changed, a rotation that
 * stalled (stalled-rotation.ts), other check warnings.
 * Which command fixes an expiry finding comes from checks/remedies.ts, as for verify and doctor;
 * for the rest, `warden mtls doctor` on the same target prints the ordered fixes.
 */
import type { Finding, FindingCode } from '../core/checks/index.js';
import { describeDuration, describeTime } from '../core/checks/labels.js';
import { remedyFor } from '../core/checks/remedies.js';
import { DAY_MS } from '../core/thresholds.js';
import type { BundleFact } from '../rotation-engine/diagnose.js';
import type { FleetCertificate, FleetFinding, FleetFindingCode, TargetStatus } from './model.js';
import type { StalledRotation } from './stalled-rotation.js';

/** Builds `warden mtls <sub> <flags that address the target> [args]`. */
export type FixCommand = (sub: string, args?: readonly string[]) => string;

export interface TargetFacts {
  bundle: BundleFact;
  certificates: FleetCertificate[];
  configMapInSync: boolean | null;
  /** null: not known (self-hosted); a string: why it is not ready. */
  sentry: { ready: true } | { ready: false; message: string } | null;
  appsNotConverged: number | null;
  /** An unfinished rotation past the time its phase should have moved on. */
  stalled?: StalledRotation | undefined;
}

export interface Verdict {
  status: TargetStatus;
  finding: FleetFinding | null;
}

export function judgeTarget(facts: TargetFacts, fix: FixCommand, now: Date): Verdict {
  const findings = candidates(facts, fix, now);
  const critical = findings.find((f) => f.severity === 'critical');
  if (critical) return { status: 'critical', finding: critical };
  const warning = findings[0];
  return warning ? { status: 'warning', finding: warning } : { status: 'healthy', finding: null };
}

/** Every finding, most urgent first within each severity. */
function candidates(facts: TargetFacts, fix: FixCommand, now: Date): FleetFinding[] {
  const out: FleetFinding[] = [];
  const b = facts.bundle;
  if (b.state === 'absent') {
    out.push({ severity: 'critical', code: 'ERR_BUNDLE_NOT_FOUND', message: 'There is no trust bundle: create one.', fix: fix('renew-certificate') });
  } else if (b.state === 'partial') {
    out.push({ severity: 'critical', code: 'ERR_BUNDLE_PARTIAL', message: `The trust bundle is incomplete: ${b.missing.join(', ')} missing.`, fix: fix('doctor') });
  } else if (b.state === 'unreadable') {
    out.push({ severity: 'critical', code: 'ERR_BUNDLE_INVALID', message: `The trust bundle does not parse: ${b.message}`, fix: fix('doctor') });
  } else {
    out.push(...expiryFindings(facts.certificates, b.findings, fix, now));
    for (const f of b.findings.filter((x) => x.severity === 'error' && !isExpiry(x.code))) out.push(checkFinding(f, 'critical', fix));
  }
  if (facts.configMapInSync === false) {
    out.push({
      severity: 'warning', code: 'ERR_TRUST_ANCHORS_MISMATCH',
      message: 'The ConfigMap\'s ca.crt differs from the Secret\'s: Dapr\'s Sentry generates a new CA on its next start.', fix: fix('doctor'),
    });
  }
  if (facts.sentry !== null && !facts.sentry.ready) out.push({ severity: 'warning', code: 'WARN_SENTRY_NOT_READY' satisfies FleetFindingCode, message: facts.sentry.message, fix: fix('doctor') });
  if (facts.appsNotConverged !== null && facts.appsNotConverged > 0) {
    out.push({
      severity: 'warning', code: 'WARN_APPS_NOT_CONVERGED' satisfies FleetFindingCode,
      message: `${facts.appsNotConverged} Dapr app(s) still trust only the anchors they started with.`, fix: fix('doctor'),
    });
  }
  if (facts.stalled !== undefined) out.push(stalledFinding(facts.stalled, fix, now));
  if (b.state === 'complete') {
    for (const f of b.findings.filter((x) => x.severity === 'warning' && !isExpiry(x.code))) out.push(checkFinding(f, 'warning', fix));
  }
  return out;
}

function stalledFinding(s: StalledRotation, fix: FixCommand, now: Date): FleetFinding {
  const by = s.starter === undefined ? '' : `, started by ${s.starter},`;
  const effect = s.phase === 'plan'
    ? 'nothing is written yet, the bundle keeps ageing, and no other rotation or renewal can start until it is finished or rolled back. '
    : 'both roots stay trusted, and no other rotation or renewal can start, until it is finished or rolled back. ';
  const message = `Rotation ${s.id}${by} has not moved on since ${describeTime(s.since)} (phase ${s.phase}, due to move on ${describeDuration(now.getTime() - s.dueAt.getTime())} ago): ` +
    effect +
    (s.bySentry ? 'The sentry resumes its own rotations: check that it runs with --auto-renew and read its log.' : 'Resume it (or roll it back).');
  return { severity: 'warning', code: 'WARN_ROTATION_STALLED' satisfies FleetFindingCode, message, fix: s.bySentry ? fix('doctor') : fix('rotate', ['--resume']) };
}

const EXPIRY_CODES = new Set<FindingCode>(['ERR_ROOT_EXPIRED', 'ERR_ISSUER_EXPIRED', 'WARN_ROOT_EXPIRING', 'WARN_ISSUER_EXPIRING']);
const isExpiry = (code: FindingCode): boolean => EXPIRY_CODES.has(code);

/**
 * Expired certificates first (critical), then expiring ones, soonest first, worded by urgency. The
 * JWT key is due with the issuer, whose finding (and fix: renewing the issuer renews the key) covers it.
 */
function expiryFindings(certs: readonly FleetCertificate[], checks: readonly Finding[], fix: FixCommand, now: Date): FleetFinding[] {
  const dated = certs.filter((c) => c.role !== 'jwt-key' && c.notAfter !== null && (c.status === 'expired' || c.status === 'warning' || hasExpiryCheck(checks, c)));
  dated.sort((a, b) => Date.parse(a.notAfter as string) - Date.parse(b.notAfter as string));
  return dated.map((c) => {
    const notAfter = new Date(c.notAfter as string);
    const leftMs = notAfter.getTime() - now.getTime();
    const what = `The ${c.role} certificate (${c.subject})`;
    const when = describeTime(notAfter);
    if (c.status === 'expired') {
      const code: FindingCode = c.role === 'root' ? 'ERR_ROOT_EXPIRED' : 'ERR_ISSUER_EXPIRED';
      return {
        severity: 'critical', code,
        message: `${what} expired ${describeDuration(leftMs)} ago (${when}): mTLS between Dapr services fails. Renew in one step, then restart the control plane and every Dapr app.`,
        fix: commandFor(code, fix),
      };
    }
    const code: FindingCode = c.role === 'root' ? 'WARN_ROOT_EXPIRING' : 'WARN_ISSUER_EXPIRING';
    const urgency = leftMs < DAY_MS
      ? 'rotate now: once it expires, mTLS between Dapr services fails'
      : leftMs < 7 * DAY_MS ? 'rotate this week, while it can still be done without downtime' : 'rotate before then';
    return { severity: 'warning', code, message: `${what} expires in ${describeDuration(leftMs)} (${when}): ${urgency}.`, fix: commandFor(code, fix) };
  });
}

function hasExpiryCheck(checks: readonly Finding[], c: FleetCertificate): boolean {
  const codes = c.role === 'root' ? ['ERR_ROOT_EXPIRED', 'WARN_ROOT_EXPIRING'] : ['ERR_ISSUER_EXPIRED', 'WARN_ISSUER_EXPIRING'];
  return checks.some((f) => codes.includes(f.code));
}

function checkFinding(f: Finding, severity: FleetFinding['severity'], fix: FixCommand): FleetFinding {
  return { severity, code: f.code, message: `${f.subject}: ${f.message}`, fix: commandFor(f.code, fix) };
}

/** The remedy's command for the target (checks/remedies.ts), else doctor, which prints the ordered fixes. */
function commandFor(code: FindingCode, fix: FixCommand): string {
  const remedy = remedyFor(code);
  return remedy === undefined ? fix('doctor') : fix(remedy.command);
}
