/**
 * Wycheproof signature vectors (test/vectors/wycheproof, Apache-2.0, see README there) run through
 * the verification path Warden uses for certificates and CSRs: the SPKI imported with
 * node:crypto as `parseCertificate` does, classified by `keyAlgorithmOf` (the key policy), then
 * `verifySync` (certificate chains) and `verifyAsync` (CSR self-signatures); the same keys also go
 * through parseCsr's own key import. "valid" must verify,
 * "invalid" must be refused, "acceptable" vectors are pinned in ACCEPTABLE below with the reason.
 */
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseCsr } from '../../src/core/csr.js';
import { bitString, contextTag, nullValue, oid, sequence, smallInteger } from '../../src/core/der/writer.js';
import { keyAlgorithmOf, type KeyAlgorithm } from '../../src/core/keys.js';
import { OID } from '../../src/core/oids.js';
import { verifyAsync, verifySync } from '../../src/core/signature.js';

interface Vector { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }
interface Group { publicKeyDer: string; sha?: string; tests: Vector[] }
interface VectorFile { algorithm: string; numberOfTests: number; testGroups: Group[] }

const DIR = new URL('../vectors/wycheproof/', import.meta.url);

/** Every vendored file, the signature AlgorithmIdentifier OID it exercises and the key class Warden must see. */
const FILES: ReadonlyArray<{ file: string; algorithmOid: string; key: KeyAlgorithm }> = [
  { file: 'ecdsa_secp256r1_sha256_test.json', algorithmOid: OID.ecdsaWithSha256, key: 'ecdsa-p256' },
  { file: 'ecdsa_secp384r1_sha256_test.json', algorithmOid: OID.ecdsaWithSha256, key: 'ecdsa-p384' },
  { file: 'ecdsa_secp384r1_sha384_test.json', algorithmOid: OID.ecdsaWithSha384, key: 'ecdsa-p384' },
  { file: 'ed25519_test.json', algorithmOid: OID.ed25519, key: 'ed25519' },
  { file: 'rsa_signature_2048_sha256_test.json', algorithmOid: OID.sha256WithRsa, key: 'rsa' },
  { file: 'rsa_signature_2048_sha384_test.json', algorithmOid: OID.sha384WithRsa, key: 'rsa' },
  { file: 'rsa_signature_2048_sha512_test.json', algorithmOid: OID.sha512WithRsa, key: 'rsa' },
  { file: 'rsa_signature_3072_sha256_test.json', algorithmOid: OID.sha256WithRsa, key: 'rsa' },
  { file: 'rsa_signature_4096_sha256_test.json', algorithmOid: OID.sha256WithRsa, key: 'rsa' },
];

/**
 * "acceptable" vectors: Wycheproof allows either answer. Pinned here (file:tcId → Warden's answer)
 * so a change in OpenSSL's or Warden's behaviour is noticed, with the reason for the answer.
 */
/**
 * PKCS#1 v1.5 DigestInfo without the NULL parameters: RFC 8017 §9.2 note 2 allows verifiers to
 * accept it; OpenSSL (and so Warden) compares against the one DER encoding with NULL and refuses it.
 */
const MISSING_NULL = { verifies: false, why: 'DigestInfo without NULL: OpenSSL accepts only the encoding with NULL' };

const ACCEPTABLE: Record<string, { verifies: boolean; why: string }> = {
  'rsa_signature_2048_sha256_test.json:8': MISSING_NULL,
  'rsa_signature_2048_sha384_test.json:8': MISSING_NULL,
  'rsa_signature_2048_sha512_test.json:8': MISSING_NULL,
  'rsa_signature_3072_sha256_test.json:8': MISSING_NULL,
  'rsa_signature_4096_sha256_test.json:8': MISSING_NULL,
};

/**
 * A CSR carrying `spki`, to run the key through parseCsr's own import (JWK for EC and Ed25519).
 * Its signature is a placeholder: parsing does not verify it (verifyCsrSignature does).
 */
function csrAround(spki: Buffer, algorithmOid: string): Buffer {
  const info = sequence(smallInteger(0), sequence(), spki, contextTag(0, Buffer.alloc(0), true));
  const algorithm = algorithmOid.startsWith('1.2.840.113549') ? sequence(oid(algorithmOid), nullValue()) : sequence(oid(algorithmOid));
  return sequence(info, algorithm, bitString(Buffer.alloc(8)));
}

function load(file: string): VectorFile {
  return JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as VectorFile;
}

for (const { file, algorithmOid, key } of FILES) {
  describe(`Wycheproof ${file}`, () => {
    const data = load(file);

    it('imports every public key and classifies it under Warden\'s key policy', () => {
      for (const group of data.testGroups) {
        const publicKey = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
        assert.equal(keyAlgorithmOf(publicKey), key, group.publicKeyDer);
      }
    });

    it('imports every public key through the CSR path too, to the same key', () => {
      for (const group of data.testGroups) {
        const spki = Buffer.from(group.publicKeyDer, 'hex');
        const csr = parseCsr(csrAround(spki, algorithmOid));
        assert.equal(csr.keyAlgorithm, key);
        assert.ok(csr.publicKey.export({ format: 'der', type: 'spki' }).equals(createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'der', type: 'spki' })), group.publicKeyDer);
      }
    });

    it('verifies every "valid" vector and refuses every "invalid" one (sync and async paths)', async () => {
      let count = 0;
      const tally = { valid: 0, invalid: 0, acceptable: 0 };
      const wrong: string[] = [];
      const unpinned: string[] = [];
      for (const group of data.testGroups) {
        const publicKey: KeyObject = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
        for (const v of group.tests) {
          count++;
          tally[v.result]++;
          const msg = Buffer.from(v.msg, 'hex');
          const sig = Buffer.from(v.sig, 'hex');
          const sync = verifySync(algorithmOid, msg, publicKey, sig);
          const async = await verifyAsync(algorithmOid, msg, publicKey, sig);
          const label = `${file}#${v.tcId} (${v.result}, ${v.flags.join(',') || 'no flags'}: ${v.comment})`;
          if (sync !== async) wrong.push(`${label}: sync says ${sync}, async says ${async}`);
          if (v.result === 'acceptable') {
            const pinned = ACCEPTABLE[`${file}:${v.tcId}`];
            if (pinned === undefined) unpinned.push(`${label}: verifies=${sync}`);
            else if (pinned.verifies !== sync) wrong.push(`${label}: pinned ${pinned.verifies}, got ${sync}`);
          } else if (sync !== (v.result === 'valid')) {
            wrong.push(`${label}: got ${sync}`);
          }
        }
      }
      assert.equal(count, data.numberOfTests, 'every vector in the file ran');
      assert.ok(tally.valid > 0 && tally.invalid > 0, 'the file has both valid and invalid vectors');
      assert.deepEqual(unpinned, [], 'acceptable vectors must be pinned in ACCEPTABLE');
      assert.deepEqual(wrong, []);
    });

    it('refuses every vector under the wrong algorithm identifier for the key', () => {
      const other = algorithmOid === OID.ed25519 ? OID.ecdsaWithSha256 : OID.ed25519;
      const group = data.testGroups[0] as Group;
      const publicKey = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
      const valid = group.tests.find((v) => v.result === 'valid') as Vector;
      assert.equal(verifySync(algorithmOid, Buffer.from(valid.msg, 'hex'), publicKey, Buffer.from(valid.sig, 'hex')), true);
      assert.equal(verifySync(other, Buffer.from(valid.msg, 'hex'), publicKey, Buffer.from(valid.sig, 'hex')), false);
    });
  });
}
