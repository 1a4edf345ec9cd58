/** Checks that the issuer chain may sign certificates: CA flag, keyCertSign, path length. */
import type { TrustBundle } from '../bundle.js';
import type { Certificate } from '../certificate.js';
import { anchorSubject, chainSubject } from './labels.js';
import { resolveTrustPath } from './trust-path.js';
import { errorFinding, type Finding } from './types.js';

/**
 * ERR_ISSUER_NOT_CA: the issuer and every intermediate in issuer.crt need BasicConstraints
 * CA:TRUE and, when KeyUsage is present, keyCertSign. Warden is stricter than Dapr here: Dapr's
 * own "valid for signing" test is effectively a no-op (spec 2.7), but Go rejects leaves under a
 * non-CA issuer (`x509: certificate is not authorized to sign other certificates`) and other TLS
 * stacks (OpenSSL, rustls) also reject a CA without keyCertSign.
 */
export function checkIssuerIsCa(bundle: TrustBundle): Finding[] {
  const findings: Finding[] = [];
  bundle.issuerChain.forEach((cert, i) => {
    const problems: string[] = [];
    if (cert.basicConstraints?.ca !== true) problems.push('BasicConstraints CA:TRUE is missing');
    if (cert.keyUsage !== undefined && !cert.keyUsage.has('keyCertSign')) problems.push('KeyUsage lacks keyCertSign');
    if (problems.length === 0) return;
    findings.push(errorFinding('ERR_ISSUER_NOT_CA', chainSubject(bundle, i),
      `issuer.crt certificate #${i + 1} is not a signing CA (${problems.join('; ')}): workload certificates it ` +
      'signs will not verify. (Dapr itself does not check this.) Use a CA certificate as the issuer, e.g. run ' +
      '`warden mtls renew-certificate`.'));
  });
  return findings;
}

/**
 * ERR_PATH_LEN_EXCEEDED: a pathLen constraint anywhere on the issuer's path must leave room for the
 * CA certificates below it when a *workload* chain (leaf, issuer, intermediates, root) is verified.
 * The cert at path position i (issuer = 0) has i CAs under it, so it needs pathLen >= i. Dapr's
 * bundle check cannot see this (it verifies the issuer as the leaf), so Sentry starts and then
 * every mTLS handshake fails with `x509: too many intermediates for path length constraint`.
 */
export function checkPathLength(bundle: TrustBundle): Finding[] {
  const path = resolveTrustPath(bundle);
  if (path === undefined) return [];
  const findings: Finding[] = [];
  path.certificates.forEach((cert: Certificate, position) => {
    const pathLen = cert.basicConstraints?.pathLen;
    if (pathLen === undefined || pathLen >= position) return;
    const isAnchor = position >= path.chainIndexes.length;
    const subject = isAnchor ? anchorSubject(bundle, path.anchorIndex) : chainSubject(bundle, path.chainIndexes[position] as number);
    findings.push(errorFinding('ERR_PATH_LEN_EXCEEDED', subject,
      `pathLen=${pathLen} allows ${pathLen} CA certificate(s) below it, but ${position} sit between it and the ` +
      'workload certificates: every workload certificate will fail verification with "x509: too many intermediates ' +
      'for path length constraint". Re-issue it without a pathLen constraint (as Dapr does) or with a larger one.'));
  });
  return findings;
}
