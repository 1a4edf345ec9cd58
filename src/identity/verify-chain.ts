/**
 * Checks that an issued chain leads to the trust anchors the workload holds right now. daprd does
 * not do this (spec 4.4, dapr/dapr#8557); without it a sidecar happily installs a leaf its peers
 * (and it itself) cannot verify, e.g. after the issuer was switched before the anchors were.
 */
import { isIssuedBy, isValidAt, type Certificate } from '../core/certificate.js';
import { WardenError } from '../core/errors.js';

/**
 * Verifies `chain` (leaf first, then issuers in order) against `anchors` at `now`: every
 * certificate is signed by the next one, the last is an anchor or signed by one, every issuer is a
 * CA, and all of them (anchor included) are valid at `now`. Returns the anchor reached;
 * `ERR_SENTRY_CHAIN_UNTRUSTED` says which link failed.
 */
export function verifyChainToAnchors(
  chain: readonly Certificate[],
  anchors: readonly Certificate[],
  now: Date,
): Certificate {
  if (chain.length === 0) throw untrusted('the certificate chain is empty');
  chain.forEach((cert, i) => {
    if (!isValidAt(cert, now)) {
      throw untrusted(`certificate ${i} of the chain (${describe(cert, i)}) is not valid at ${now.toISOString()} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`);
    }
    if (i > 0 && cert.basicConstraints?.ca !== true) {
      throw untrusted(`certificate ${i} of the chain (${describe(cert, i)}) is not a CA certificate`);
    }
    const parent = chain[i + 1];
    if (parent !== undefined && !isIssuedBy(cert, parent)) {
      throw untrusted(`certificate ${i} of the chain (${describe(cert, i)}) is not signed by certificate ${i + 1} (${describe(parent, i + 1)})`);
    }
  });
  const last = chain[chain.length - 1] as Certificate;
  const anchor = anchors.find((a) => a.der.equals(last.der) || isIssuedBy(last, a));
  if (anchor === undefined) {
    throw untrusted(
      `the chain ends at "${last.issuer.text}", which is not signed by any of the ${anchors.length} trust anchor(s); ` +
        'the trust anchors may be out of date (add the new root to the anchors file) or the server uses a foreign CA',
    );
  }
  if (!isValidAt(anchor, now)) {
    throw untrusted(`the trust anchor "${anchor.subject.text}" is not valid at ${now.toISOString()} (expires ${anchor.notAfter.toISOString()})`);
  }
  return anchor;
}

function describe(cert: Certificate, index: number): string {
  if (cert.subject.text !== '') return `"${cert.subject.text}"`;
  return cert.uriSans[0] ?? (index === 0 ? 'the leaf' : `serial ${cert.serialHex}`);
}

function untrusted(message: string): WardenError {
  return new WardenError('ERR_SENTRY_CHAIN_UNTRUSTED', message);
}
