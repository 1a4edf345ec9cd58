/** Checks that issuer.crt is a chain and that it leads to one of the trust anchors. */
import type { TrustBundle } from '../bundle.js';
import type { Certificate } from '../certificate.js';
import { chainSubject, describeName } from './labels.js';
import { resolveTrustPath, safeIsIssuedBy } from './trust-path.js';
import { errorFinding, type Finding } from './types.js';

/**
 * ERR_CHAIN_ORDER: each issuer.crt certificate must be signed by the next one (leaf first), or
 * Dapr refuses the bundle with `certificate chain is not valid` (spec 2.7). One finding per
 * broken link.
 */
export function checkChainOrder(bundle: TrustBundle): Finding[] {
  const chain = bundle.issuerChain;
  const findings: Finding[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as Certificate;
    const parent = chain[i + 1] as Certificate;
    if (safeIsIssuedBy(child, parent)) continue;
    findings.push(errorFinding('ERR_CHAIN_ORDER', chainSubject(bundle, i),
      `certificate chain is not valid: issuer.crt certificate #${i + 1} (${describeName(child)}) is not signed by ` +
      `certificate #${i + 2} (${describeName(parent)}). List issuer.crt leaf first: the issuer, then each ` +
      'intermediate in signing order (a trailing root is optional).'));
  }
  return findings;
}

/**
 * ERR_ISSUER_NOT_FROM_ANCHORS: the issuer must chain (through issuer.crt's other certificates) to
 * a ca.crt anchor; Dapr: `issuer chain does not belong to trust anchors` (spec 2.7). Only names
 * and signatures are judged here; expiry and EKU failures, which Dapr reports under the same
 * message, have their own codes.
 */
export function checkIssuerFromAnchors(bundle: TrustBundle): Finding[] {
  if (resolveTrustPath(bundle) !== undefined) return [];
  const top = bundle.issuerChain.at(-1) as Certificate;
  const signer = top.issuer.text === '' ? '(empty issuer name)' : top.issuer.text;
  return [errorFinding('ERR_ISSUER_NOT_FROM_ANCHORS', 'issuer',
    `issuer chain does not belong to trust anchors: the chain ends at ${describeName(top)}, issued by ${signer}, ` +
    'which is not in ca.crt (or its signature does not verify). Add the root that signed the issuer to ca.crt, ' +
    'or run `warden mtls renew-certificate` to issue a new issuer from your root.')];
}
