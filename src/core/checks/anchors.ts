/** Checks on ca.crt alone: every anchor is a self-signed root, and none is listed twice. */
import type { TrustBundle } from '../bundle.js';
import { anchorSubject } from './labels.js';
import { safeIsSelfSigned } from './trust-path.js';
import { errorFinding, warningFinding, type Finding } from './types.js';

/**
 * ERR_ANCHOR_NOT_SELF_SIGNED: Dapr rejects the bundle with `certificate in trust anchor is not
 * self-signed` (spec 2.7) when any ca.crt certificate is not its own issuer.
 */
export function checkAnchorsSelfSigned(bundle: TrustBundle): Finding[] {
  const findings: Finding[] = [];
  bundle.anchors.forEach((anchor, i) => {
    if (safeIsSelfSigned(anchor)) return;
    const issuer = anchor.issuer.text === '' ? '(empty issuer)' : anchor.issuer.text;
    findings.push(errorFinding('ERR_ANCHOR_NOT_SELF_SIGNED', anchorSubject(bundle, i),
      `certificate in trust anchor is not self-signed: ca.crt certificate #${i + 1} is issued by ${issuer}. ` +
      'ca.crt must hold only root certificates: move intermediates to issuer.crt (after the issuer) and put their root in ca.crt.'));
  });
  return findings;
}

/** WARN_ANCHOR_DUPLICATE: the same certificate twice in ca.crt (harmless, but a sign of a botched merge). */
export function checkAnchorDuplicates(bundle: TrustBundle): Finding[] {
  const findings: Finding[] = [];
  bundle.anchors.forEach((anchor, i) => {
    const first = bundle.anchors.findIndex((other) => other.der.equals(anchor.der));
    if (first === i) return;
    findings.push(warningFinding('WARN_ANCHOR_DUPLICATE', anchorSubject(bundle, i),
      `ca.crt certificate #${i + 1} is an exact copy of #${first + 1}; remove the duplicate from ca.crt.`));
  });
  return findings;
}
