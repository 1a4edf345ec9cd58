/**
 * The certificate rows of a target: the root the issuer chains to (the first anchor when it chains
 * to none), the issuer and, when the bundle has one (`jwt.key` + `jwks.json`), the JWT signing key, each with its status at `now` by the shared thresholds (thresholds.ts:
 * "warning" under the 30-day window `mtls expiry` and the checks use) and by the check chain's
 * errors ("critical" when a check finds the certificate broken, e.g. its chain does not verify).
 */
import type { TrustBundle } from '../core/bundle.js';
import type { Certificate } from '../core/certificate.js';
import { resolveTrustPath, type Finding } from '../core/checks/index.js';
import { jwtKeyDueAt } from '../core/jwt-rotation.js';
import { DEFAULT_WARN_WITHIN_MS, expiryState } from '../core/thresholds.js';
import type { CertificateRole, CertificateStatus, FleetCertificate } from './model.js';

/** The root, issuer and JWT key rows, in that order. */
export function certificateRows(bundle: TrustBundle, findings: readonly Finding[], now: Date, warnWithinMs = DEFAULT_WARN_WITHIN_MS): FleetCertificate[] {
  const path = resolveTrustPath(bundle);
  const root = bundle.anchors[path?.anchorIndex ?? 0];
  const rows: FleetCertificate[] = [];
  if (root !== undefined) rows.push(certificateRow('root', root, brokenBy(findings, 'root'), now, warnWithinMs));
  const issuer = bundle.issuerChain[0];
  if (issuer !== undefined) rows.push(certificateRow('issuer', issuer, brokenBy(findings, 'issuer'), now, warnWithinMs));
  if (issuer !== undefined && bundle.jwt !== undefined) rows.push(jwtKeyRow(bundle.jwt, issuer, now, warnWithinMs));
  return rows;
}

/**
 * The JWT signing key has no certificate: it is due when the issuer is (core/jwt-rotation.ts, as
 * `mtls expiry` and `verify` say) and was made with it, so its validity is the issuer's. Its
 * subject is its `kid`. A broken issuer does not make the key broken: the key is judged by its date.
 */
function jwtKeyRow(jwt: { keyId: string; algorithm: string }, issuer: Certificate, now: Date, warnWithinMs: number): FleetCertificate {
  const validity = { notBefore: issuer.notBefore, notAfter: jwtKeyDueAt(issuer) };
  const state = expiryState(validity, now, warnWithinMs);
  return {
    role: 'jwt-key',
    subject: `${jwt.keyId} (${jwt.algorithm})`,
    notBefore: validity.notBefore.toISOString(),
    notAfter: validity.notAfter.toISOString(),
    secondsLeft: Math.trunc((validity.notAfter.getTime() - now.getTime()) / 1000),
    status: state === 'expired' ? 'expired' : state === 'not-yet-valid' ? 'critical' : state === 'expiring' ? 'warning' : 'healthy',
  };
}

export function certificateRow(role: CertificateRole, cert: Certificate, broken: boolean, now: Date, warnWithinMs = DEFAULT_WARN_WITHIN_MS): FleetCertificate {
  return {
    role,
    subject: shortSubject(cert.subject.text),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    secondsLeft: Math.trunc((cert.notAfter.getTime() - now.getTime()) / 1000),
    status: certificateStatus(cert, broken, now, warnWithinMs),
  };
}

function certificateStatus(cert: Certificate, broken: boolean, now: Date, warnWithinMs: number): CertificateStatus {
  const state = expiryState(cert, now, warnWithinMs);
  if (state === 'expired') return 'expired';
  if (broken || state === 'not-yet-valid') return 'critical';
  return state === 'expiring' ? 'warning' : 'healthy';
}

/** Whether an error finding names this part (`root …`/`root#2 …`; `issuer`, `intermediate#1 …`). */
function brokenBy(findings: readonly Finding[], role: 'root' | 'issuer'): boolean {
  const prefixes = role === 'root' ? ['root'] : ['issuer', 'intermediate'];
  return findings.some((f) => f.severity === 'error' && prefixes.some((p) => f.subject === p || f.subject.startsWith(`${p} `) || f.subject.startsWith(`${p}#`)) && f.subject !== 'issuer.key');
}

/** `CN=x, O=y` → `x`; `O=cluster.local` → `cluster.local`; anything else as it is. */
export function shortSubject(text: string): string {
  const value = (attr: string) => new RegExp(`(?:^|,\\s*)${attr}=([^,]+)`).exec(text)?.[1]?.trim();
  return value('CN') ?? value('O') ?? (text === '' ? '(empty subject)' : text);
}
