/**
 * Checks that an issued chain leads to the trust anchors the workload holds right now. daprd does
 * not do this (spec 4.4, dapr/dapr#8557); without it a sidecar happily installs a leaf its peers
 * (and it itself) cannot verify, e.g. after the issuer was switched before the anchors were.
 */
import { isIssuedBy, isValidAt, type Certificate } from '../core/certificate.js';
import { WardenError } from '../core/errors.js';

/**
 * Verifies `chain` (leaf first, then issuers in order) against `anchors` at `now`: every
 * certificate is signed by the next one, the last is an anchor or signed by one, every issuer
 * (the anchor that signs included) is a CA allowed to sign certificates whose pathLen leaves room
 * for the CAs below it, and all of them (anchor included) are valid at `now`. Returns the anchor
 * reached; `ERR_SENTRY_CHAIN_UNTRUSTED` says which link failed. The CA rules are the ones peers
 * apply (Go: CA flag and pathLen, self-issued certificates counted; OpenSSL/rustls: keyCertSign),
 * so a chain that passes here is one peers accept.
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
    if (i > 0) assertMaySign(cert, `certificate ${i} of the chain (${describe(cert, i)})`, i - 1);
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
  if (!anchor.der.equals(last.der)) assertMaySign(anchor, `the trust anchor "${anchor.subject.text}"`, chain.length - 1);
  if (!isValidAt(anchor, now)) {
    throw untrusted(`the trust anchor "${anchor.subject.text}" is not valid at ${now.toISOString()} (expires ${anchor.notAfter.toISOString()})`);
  }
  return anchor;
}

/** `cert` signs certificates with `casBelow` CA certificates between it and the leaf. */
function assertMaySign(cert: Certificate, what: string, casBelow: number): void {
  if (cert.basicConstraints?.ca !== true) throw untrusted(`${what} is not a CA certificate (BasicConstraints CA:TRUE is missing)`);
  if (cert.keyUsage !== undefined && !cert.keyUsage.has('keyCertSign')) {
    throw untrusted(`${what} is a CA certificate whose KeyUsage lacks keyCertSign, so it may not sign certificates`);
  }
  const pathLen = cert.basicConstraints.pathLen;
  if (pathLen !== undefined && casBelow > pathLen) {
    throw untrusted(`${what} has pathLen=${pathLen} but ${casBelow} CA certificate(s) sit below it: peers reject the chain ("too many intermediates for path length constraint")`);
  }
}

function describe(cert: Certificate, index: number): string {
  if (cert.subject.text !== '') return `"${cert.subject.text}"`;
  return cert.uriSans[0] ?? (index === 0 ? 'the leaf' : `serial ${cert.serialHex}`);
}

function untrusted(message: string): WardenError {
  return new WardenError('ERR_SENTRY_CHAIN_UNTRUSTED', message);
}
