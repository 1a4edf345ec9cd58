/**
 * Validity-window checks at `now`, through the shared thresholds (thresholds.ts) so that the
 * checks, the sentry's expiry log and the CLI banners agree on every boundary. "The root" is the
 * anchor the issuer chains to (trust-path.ts); other anchors are old or future roots kept for
 * peers, which Dapr's Go verification ignores, so problems there are warnings.
 */
import type { TrustBundle } from '../bundle.js';
import type { Certificate } from '../certificate.js';
import { expiryState, timeLeftMs } from '../thresholds.js';
import { remedySentence } from './remedies.js';
import { anchorSubject, chainSubject, describeDuration, describeTime } from './labels.js';
import { extraAnchorIndexes, rootAnchorIndexes } from './trust-path.js';
import { errorFinding, resolvePolicy, warningFinding, type CheckPolicy, type Finding } from './types.js';


function notYetValidMessage(cert: Certificate, now: Date, clockSkewMs: number): string {
  const ahead = cert.notBefore.getTime() - now.getTime();
  const why = ahead <= clockSkewMs
    ? `that is within the allowed clock skew (${describeDuration(clockSkewMs)}): the clock of the machine that made it runs ahead of this one; check NTP on both`
    : 'wait until then, or re-issue it with a NotBefore in the past';
  return `is not valid before ${describeTime(cert.notBefore)} (${describeDuration(ahead)} from now); ${why}.`;
}

/**
 * ERR_NOT_YET_VALID for the issuer chain and its root (Go's Verify fails, so Dapr refuses the
 * bundle); WARN_ANCHOR_NOT_YET_VALID for other anchors (only peers chaining to them are affected).
 */
export function checkNotYetValid(bundle: TrustBundle, now: Date, policy: CheckPolicy): Finding[] {
  const { clockSkewMs } = resolvePolicy(policy);
  const findings: Finding[] = [];
  const early = (cert: Certificate): boolean => now.getTime() < cert.notBefore.getTime();
  bundle.issuerChain.forEach((cert, i) => {
    if (early(cert)) findings.push(errorFinding('ERR_NOT_YET_VALID', chainSubject(bundle, i), `The certificate ${notYetValidMessage(cert, now, clockSkewMs)}`));
  });
  for (const i of rootAnchorIndexes(bundle)) {
    const cert = bundle.anchors[i] as Certificate;
    if (early(cert)) findings.push(errorFinding('ERR_NOT_YET_VALID', anchorSubject(bundle, i), `The root ${notYetValidMessage(cert, now, clockSkewMs)}`));
  }
  for (const i of extraAnchorIndexes(bundle)) {
    const cert = bundle.anchors[i] as Certificate;
    if (early(cert)) {
      findings.push(warningFinding('WARN_ANCHOR_NOT_YET_VALID', anchorSubject(bundle, i),
        `This extra trust anchor (the issuer does not chain to it) ${notYetValidMessage(cert, now, clockSkewMs)} Until then peers whose certificates chain to it will be rejected.`));
    }
  }
  return findings;
}

/**
 * ERR_ROOT_EXPIRED / WARN_ROOT_EXPIRING for the root the issuer chains to; WARN_ANCHOR_EXPIRED for
 * other anchors that have expired (dead weight in ca.crt).
 */
export function checkRootExpiry(bundle: TrustBundle, now: Date, policy: CheckPolicy): Finding[] {
  const { warnWithinMs } = resolvePolicy(policy);
  const findings: Finding[] = [];
  for (const i of rootAnchorIndexes(bundle)) {
    const cert = bundle.anchors[i] as Certificate;
    const state = expiryState(cert, now, warnWithinMs);
    if (state === 'expired') {
      findings.push(errorFinding('ERR_ROOT_EXPIRED', anchorSubject(bundle, i),
        `The root certificate expired at ${describeTime(cert.notAfter)} (${describeDuration(timeLeftMs(cert, now))} ago): ` +
        `mTLS between Dapr services fails. ${remedySentence('ERR_ROOT_EXPIRED', 'to issue a new root and issuer')}, then restart ` +
        'the control plane and every Dapr-enabled app.'));
    } else if (state === 'expiring') {
      findings.push(warningFinding('WARN_ROOT_EXPIRING', anchorSubject(bundle, i),
        `The root certificate expires at ${describeTime(cert.notAfter)}, in ${describeDuration(timeLeftMs(cert, now))}. ` +
        `${remedySentence('WARN_ROOT_EXPIRING', 'before then')}.`));
    }
  }
  for (const i of extraAnchorIndexes(bundle)) {
    const cert = bundle.anchors[i] as Certificate;
    if (expiryState(cert, now, warnWithinMs) !== 'expired') continue;
    findings.push(warningFinding('WARN_ANCHOR_EXPIRED', anchorSubject(bundle, i),
      `This extra trust anchor (the issuer does not chain to it) expired at ${describeTime(cert.notAfter)}; ` +
      'it no longer verifies anything. Remove it from ca.crt.'));
  }
  return findings;
}

/** ERR_ISSUER_EXPIRED / WARN_ISSUER_EXPIRING for the issuer and every intermediate in issuer.crt. */
export function checkIssuerExpiry(bundle: TrustBundle, now: Date, policy: CheckPolicy): Finding[] {
  const { warnWithinMs } = resolvePolicy(policy);
  const findings: Finding[] = [];
  bundle.issuerChain.forEach((cert, i) => {
    const state = expiryState(cert, now, warnWithinMs);
    const what = i === 0 ? 'The issuer certificate' : 'This intermediate certificate';
    if (state === 'expired') {
      findings.push(errorFinding('ERR_ISSUER_EXPIRED', chainSubject(bundle, i),
        `${what} expired at ${describeTime(cert.notAfter)} (${describeDuration(timeLeftMs(cert, now))} ago): ` +
        `workload certificates cannot be issued. ${remedySentence('ERR_ISSUER_EXPIRED', 'to issue a new root and issuer')}.`));
    } else if (state === 'expiring') {
      findings.push(warningFinding('WARN_ISSUER_EXPIRING', chainSubject(bundle, i),
        `${what} expires at ${describeTime(cert.notAfter)}, in ${describeDuration(timeLeftMs(cert, now))}. ${remedySentence('WARN_ISSUER_EXPIRING', 'before then')}.`));
    }
  });
  return findings;
}
