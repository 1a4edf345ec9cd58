/** Checks on how the issuer chain's lifetimes relate to its root and to workload certificates. */
import type { TrustBundle } from '../bundle.js';
import { remedySentence } from './remedies.js';
import type { Certificate } from '../certificate.js';
import { formatGoDuration } from '../duration.js';
import { timeLeftMs } from '../thresholds.js';
import { anchorSubject, chainSubject, describeDuration, describeTime } from './labels.js';
import { resolveTrustPath } from './trust-path.js';
import { resolvePolicy, warningFinding, type CheckPolicy, type Finding } from './types.js';

/**
 * Dapr makes the root and the issuer one after the other with the same TTL, and X.509 times have
 * one-second resolution, so a Dapr issuer may end a second after its root. Ignore that much.
 */
export const OUTLIVE_TOLERANCE_MS = 60_000;

/**
 * WARN_ISSUER_OUTLIVES_ROOT (a warning, not an error): an issuer-chain certificate that ends after
 * the root it chains to. Nothing breaks today, and Go allows it; but the chain stops verifying the
 * moment the root expires, so the issuer's own NotAfter overstates how long the bundle is good for.
 * The root's date is the one to plan the rotation by (its expiry is reported as ERR_ROOT_EXPIRED
 * / WARN_ROOT_EXPIRING).
 */
export function checkIssuerOutlivesRoot(bundle: TrustBundle): Finding[] {
  const path = resolveTrustPath(bundle);
  if (path === undefined) return [];
  const root = bundle.anchors[path.anchorIndex] as Certificate;
  const findings: Finding[] = [];
  for (const i of path.chainIndexes) {
    const cert = bundle.issuerChain[i] as Certificate;
    if (cert.der.equals(root.der)) continue;
    const excess = cert.notAfter.getTime() - root.notAfter.getTime();
    if (excess <= OUTLIVE_TOLERANCE_MS) continue;
    findings.push(warningFinding('WARN_ISSUER_OUTLIVES_ROOT', chainSubject(bundle, i),
      `Valid until ${describeTime(cert.notAfter)}, ${describeDuration(excess)} after its root ` +
      `(${anchorSubject(bundle, path.anchorIndex)}) expires at ${describeTime(root.notAfter)}. The chain stops ` +
      'verifying when the root expires: plan the rotation by the root\'s date, or re-issue the issuer within ' +
      'the root\'s lifetime (`warden mtls renew-certificate`).'));
  }
  return findings;
}

/**
 * WARN_ISSUER_SHORTER_THAN_TTL: the issuer chain ends (earliest NotAfter among the issuer and its
 * intermediates) sooner than one workload TTL from now, so new workload certificates are cut short
 * to end with it (Warden clamps; Dapr would issue leaves that outlive their issuer, issue #8557).
 * Already-expired certificates are left to ERR_ISSUER_EXPIRED.
 */
export function checkIssuerCoversTtl(bundle: TrustBundle, now: Date, policy: CheckPolicy): Finding[] {
  const { workloadTtlMs } = resolvePolicy(policy);
  let limit = 0;
  bundle.issuerChain.forEach((cert, i) => {
    if (cert.notAfter.getTime() < (bundle.issuerChain[limit] as Certificate).notAfter.getTime()) limit = i;
  });
  const cert = bundle.issuerChain[limit] as Certificate;
  const left = timeLeftMs(cert, now);
  if (left < 0 || left >= workloadTtlMs) return [];
  return [warningFinding('WARN_ISSUER_SHORTER_THAN_TTL', chainSubject(bundle, limit),
    `Only ${describeDuration(left)} left (until ${describeTime(cert.notAfter)}), less than the workload certificate ` +
    `TTL (${formatGoDuration(workloadTtlMs)}): new workload certificates will be cut short to end with it and ` +
    `renewed ever more often. ${remedySentence('WARN_ISSUER_SHORTER_THAN_TTL', 'now')}.`)];
}
