/** Checks the extended key usages on the issuer's path, as Dapr's Go verification judges them. */
import type { TrustBundle } from '../bundle.js';
import { OID } from '../oids.js';
import { anchorSubject, chainSubject } from './labels.js';
import { resolveTrustPath } from './trust-path.js';
import { errorFinding, type Finding } from './types.js';

/**
 * ERR_EKU_NOT_SERVER_AUTH: Dapr verifies the issuer with Go's default `KeyUsages: [serverAuth]`
 * (spec 2.7), and Go's `checkChainForKeyUsage` rejects the chain when any certificate on it
 * (issuer, intermediates, root) carries an EKU extension without serverAuth or
 * anyExtendedKeyUsage; no EKU at all is fine. Dapr then refuses the bundle with `issuer chain does
 * not belong to trust anchors: x509: certificate specifies an incompatible key usage`.
 */
export function checkExtKeyUsage(bundle: TrustBundle): Finding[] {
  const path = resolveTrustPath(bundle);
  if (path === undefined) return [];
  const findings: Finding[] = [];
  path.certificates.forEach((cert, position) => {
    const ekus = cert.extKeyUsage ?? [];
    if (ekus.length === 0 || ekus.includes(OID.serverAuth) || ekus.includes(OID.anyExtendedKeyUsage)) return;
    const isAnchor = position >= path.chainIndexes.length;
    const subject = isAnchor ? anchorSubject(bundle, path.anchorIndex) : chainSubject(bundle, path.chainIndexes[position] as number);
    findings.push(errorFinding('ERR_EKU_NOT_SERVER_AUTH', subject,
      `issuer chain does not belong to trust anchors: x509: certificate specifies an incompatible key usage ` +
      `(extended key usages ${ekus.join(', ')} lack serverAuth). Re-issue the certificate without an ` +
      'ExtendedKeyUsage extension (as Dapr does) or include serverAuth, e.g. with `warden mtls renew-certificate`.'));
  });
  return findings;
}
