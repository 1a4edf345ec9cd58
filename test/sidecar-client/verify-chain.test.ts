/**
 * The chain-to-anchors check the client runs on every issued identity (spec 4.4, dapr/dapr#8557).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { isWardenError } from '../../src/core/errors.js';
import { verifyChainToAnchors } from '../../src/sidecar-client/verify-chain.js';
import { createTestCa, issueLeaf } from './support/pki.js';

const ca = createTestCa();
const second = createTestCa();
const anchorsOf = (pem: string) => parseCertificatesPem(pem);

function untrusted(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isWardenError(e, 'ERR_SENTRY_CHAIN_UNTRUSTED'), String(e));
    assert.match(e.message, pattern);
    return true;
  };
}

describe('verifyChainToAnchors', () => {
  it('returns the anchor a leaf + issuer chain leads to, among several roots', async () => {
    const leaf = await issueLeaf(ca, { spiffeId: 'spiffe://public/ns/default/a' });
    const anchors = anchorsOf(second.anchorsPem + ca.anchorsPem);
    const anchor = verifyChainToAnchors(leaf.chain, anchors, new Date());
    assert.ok(anchor.der.equals(ca.bundle.anchors[0]!.der));
  });

  it('accepts a chain that carries the root itself', async () => {
    const leaf = await issueLeaf(ca, { spiffeId: 'spiffe://public/ns/default/a' });
    assert.doesNotThrow(() => verifyChainToAnchors([...leaf.chain, ca.bundle.anchors[0]!], ca.bundle.anchors, new Date()));
  });

  it('refuses a chain from another root', async () => {
    const leaf = await issueLeaf(second, { spiffeId: 'spiffe://public/ns/default/a' });
    assert.throws(() => verifyChainToAnchors(leaf.chain, ca.bundle.anchors, new Date()), untrusted(/not signed by any of the 1 trust anchor/));
  });

  it('refuses a chain out of order', async () => {
    const leaf = await issueLeaf(ca, { spiffeId: 'spiffe://public/ns/default/a' });
    assert.throws(() => verifyChainToAnchors([leaf.chain[1]!, leaf.chain[0]!], ca.bundle.anchors, new Date()), untrusted(/is not signed by certificate 1/));
  });

  it('refuses a leaf signed by a non-CA certificate', async () => {
    const parent = await issueLeaf(ca, { spiffeId: 'spiffe://public/ns/default/parent' });
    // A "CA" whose issuer is an ordinary leaf: the signature links are fine, the CA flag is not.
    const rogue = { bundle: new TrustBundle(ca.bundle.anchors, parent.chain, parent.key), anchorsPem: ca.anchorsPem, anchors: ca.anchors };
    const child = await issueLeaf(rogue, { spiffeId: 'spiffe://public/ns/default/child' });
    assert.equal(child.chain.length, 3);
    assert.throws(() => verifyChainToAnchors(child.chain, ca.bundle.anchors, new Date()), untrusted(/certificate 1 of the chain .* is not a CA certificate/));
  });

  it('refuses an expired leaf and a leaf that is not valid yet', async () => {
    const issuedAt = new Date();
    const leaf = await issueLeaf(ca, { spiffeId: 'spiffe://public/ns/default/a', issuedAt, ttlMs: 60_000, skewMs: 0 });
    assert.throws(() => verifyChainToAnchors(leaf.chain, ca.bundle.anchors, new Date(issuedAt.getTime() + 120_000)), untrusted(/certificate 0 of the chain .* is not valid at/));
    assert.throws(() => verifyChainToAnchors(leaf.chain, ca.bundle.anchors, new Date(issuedAt.getTime() - 5_000)), untrusted(/is not valid at/));
  });

  it('refuses an empty chain', () => {
    assert.throws(() => verifyChainToAnchors([], ca.bundle.anchors, new Date()), untrusted(/empty/));
  });
});
