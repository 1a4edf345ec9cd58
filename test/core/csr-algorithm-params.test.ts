/**
 * Public-key encodings the differential fuzz found parseCsr accepting. A CSR whose public-key
 * AlgorithmIdentifier carries two parameters (the curve OID twice), found by
 * the differential fuzz (an early run, before its seed corpus was fixed): Warden read the second one as "parameters" and
 * accepted the request; @peculiar/x509 silently dropped it. AlgorithmIdentifier has one
 * parameters field, so the request is malformed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCsr, parseCsr } from '../../src/core/csr.js';
import { DerReader, TAG } from '../../src/core/der/reader.js';
import { sequence, tlv } from '../../src/core/der/writer.js';
import { isWardenError } from '../../src/core/errors.js';
import { generatePrivateKey } from '../../src/core/keys.js';

/** Re-encodes `csr` with one more element appended to the SPKI AlgorithmIdentifier (signature left as is: parsing fails first). */
function withExtraAlgorithmElement(csr: Buffer): Buffer {
  const outer = new DerReader(DerReader.single(csr, TAG.SEQUENCE, 'csr').bytes);
  const info = new DerReader(outer.read(TAG.SEQUENCE).bytes);
  const rest = outer.read().raw;
  const sig = outer.read().raw;
  const version = info.read().raw;
  const subject = info.read().raw;
  const spki = new DerReader(info.read(TAG.SEQUENCE).bytes);
  const attributes = info.read().raw;
  const alg = new DerReader(spki.read(TAG.SEQUENCE).bytes);
  const keyOid = alg.read().raw;
  const curve = alg.read().raw;
  const key = spki.read().raw;
  const newSpki = sequence(sequence(keyOid, curve, curve), key);
  return tlv(TAG.SEQUENCE, Buffer.concat([sequence(version, subject, newSpki, attributes), rest, sig]));
}

describe('parseCsr: public-key AlgorithmIdentifier', () => {
  it('refuses a second parameters element after the curve OID', () => {
    const good = createCsr(generatePrivateKey('ecdsa-p384'));
    parseCsr(good);
    assert.throws(() => parseCsr(withExtraAlgorithmElement(good)), (err: unknown) => isWardenError(err, 'ERR_CSR_INVALID') && /trailing data/.test((err as Error).message));
  });

  it('refuses a public key BIT STRING with unused bits (OpenSSL would ignore them for RSA)', () => {
    const good = createCsr(generatePrivateKey('rsa'));
    const header = good.indexOf(Buffer.from('0382010f00', 'hex'));
    assert.ok(header > 0);
    const bad = Buffer.from(good);
    bad[header + 4] = 0x01;
    bad[header + 4 + 270]! &= 0xfe; // the last key byte, so the unused bit is zero as DER requires
    assert.throws(() => parseCsr(bad), (err: unknown) => isWardenError(err, 'ERR_CSR_INVALID') && /unused bits/.test((err as Error).message));
  });
});
