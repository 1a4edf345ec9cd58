/**
 * The bundle kit (test/support/bundles.ts) builds what it says, judged by `openssl` rather than
 * by Warden's own parser or checks, so the check tests rest on independent ground.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicKeysEqual } from '../../../src/core/keys.js';
import {
  buildBundle, buildLeaf, withChainOutOfOrder, withExpiredIssuer, withExtraRoot, withForeignRoot, withMismatchedKey,
  withNonCaIssuer, withNonSelfSignedAnchor, withNotYetValid, withPathLen, type BuiltBundle, type KitKeyAlgorithm,
} from '../../support/bundles.js';
import { openssl, opensslVerify } from '../../support/openssl.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');

/** `openssl verify` of a fresh leaf against ca.crt with issuer.crt as untrusted intermediates, at NOW. */
async function verifyLeaf(built: BuiltBundle, anchorsPem = built.texts.ca): Promise<{ ok: boolean; output: string }> {
  const leaf = await buildLeaf(built, { now: NOW });
  return opensslVerify({ anchorsPem, untrustedPem: built.texts.issuerCert, leafPem: leaf.pem, attime: NOW });
}

for (const keyAlgorithm of ['ecdsa-p256', 'ed25519'] as KitKeyAlgorithm[]) {
  describe(`bundle kit (${keyAlgorithm})`, () => {
    it('builds a healthy bundle whose leaves openssl verifies, with the expected signature algorithm', async () => {
      const built = await buildBundle({ now: NOW, keyAlgorithm });
      const verified = await verifyLeaf(built);
      assert.equal(verified.ok, true, verified.output);
      const text = openssl(['x509', '-noout', '-text'], built.certs.issuer!.pem);
      assert.match(text, keyAlgorithm === 'ed25519' ? /Signature Algorithm: ED25519/ : /ecdsa-with-SHA256/);
      assert.match(text, /CA:TRUE/);
    });

    it('withForeignRoot: the issuer does not verify against ca.crt', async () => {
      const built = await buildBundle({ now: NOW, keyAlgorithm }, withForeignRoot());
      const result = opensslVerify({ anchorsPem: built.texts.ca, leafPem: built.texts.issuerCert, attime: NOW });
      assert.equal(result.ok, false);
    });

    it('withExpiredIssuer / withNotYetValid: openssl sees the same validity problems', async () => {
      const expired = await buildBundle({ now: NOW, keyAlgorithm }, withExpiredIssuer());
      assert.match(opensslVerify({ anchorsPem: expired.texts.ca, leafPem: expired.texts.issuerCert, attime: NOW }).output, /certificate has expired/);
      const early = await buildBundle({ now: NOW, keyAlgorithm }, withNotYetValid());
      assert.match(opensslVerify({ anchorsPem: early.texts.ca, leafPem: early.texts.issuerCert, attime: NOW }).output, /not yet valid/);
    });

    it('withMismatchedKey: issuer.key is not the issuer certificate\'s key', async () => {
      const built = await buildBundle({ now: NOW, keyAlgorithm }, withMismatchedKey());
      const certKey = openssl(['x509', '-noout', '-pubkey'], built.certs.issuer!.pem);
      const fileKey = openssl(['pkey', '-pubout'], built.texts.issuerKey);
      assert.notEqual(certKey, fileKey);
      assert.equal(publicKeysEqual(built.bundle.issuerKey, built.certs.issuer!.key), false);
    });

    it('withNonCaIssuer / withPathLen: openssl rejects the leaves', async () => {
      const nonCa = await buildBundle({ now: NOW, keyAlgorithm }, withNonCaIssuer());
      assert.match((await verifyLeaf(nonCa)).output, /invalid CA certificate/);
      const pathLen = await buildBundle({ now: NOW, keyAlgorithm }, withPathLen('root', 0));
      assert.match((await verifyLeaf(pathLen)).output, /path length constraint exceeded/);
    });
  });
}

describe('bundle kit: layouts', () => {
  it('withExtraRoot: leaves verify only with the second root in ca.crt', async () => {
    const built = await buildBundle({ now: NOW }, withExtraRoot());
    assert.equal((await verifyLeaf(built)).ok, true);
    assert.equal((await verifyLeaf(built, built.certs.root!.pem)).ok, false);
  });

  it('withChainOutOfOrder: issuer.crt starts with the intermediate', async () => {
    const built = await buildBundle({ now: NOW }, withChainOutOfOrder());
    assert.match(openssl(['x509', '-noout', '-subject'], built.texts.issuerCert), /CN ?= ?intermediate/);
    assert.equal((await verifyLeaf(built)).ok, true); // openssl builds the path from the pool, as Go does
  });

  it('withNonSelfSignedAnchor: the second anchor\'s issuer is the root', async () => {
    const built = await buildBundle({ now: NOW }, withNonSelfSignedAnchor());
    const out = openssl(['x509', '-noout', '-subject', '-issuer'], built.certs.subCa!.pem);
    assert.match(out, /subject=O ?= ?cluster.local, CN ?= ?sub-ca\nissuer=O ?= ?cluster.local\n/);
  });

  it('keeps every time on a whole second', async () => {
    const built = await buildBundle({ now: new Date('2030-06-01T12:00:00.789Z') });
    for (const cert of [...built.bundle.anchors, ...built.bundle.issuerChain]) {
      assert.equal(cert.notBefore.getTime() % 1000, 0);
      assert.equal(cert.notAfter.getTime() % 1000, 0);
    }
    assert.equal(built.bundle.issuer.notAfter.getTime(), built.spec.certs.issuer!.notAfter.getTime());
  });
});
