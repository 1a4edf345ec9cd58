/**
 * Name attribute values of the wrong type, found by the differential fuzz (issue 12): an O= value
 * tagged GeneralizedTime, a CN= value tagged BIT STRING or [3] was accepted as an opaque value
 * while @peculiar/x509 and openssl both refuse the certificate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tlv, oid, sequence, set, utf8String, printableString } from '../../src/core/der/writer.js';
import { isWardenError } from '../../src/core/errors.js';
import { decodeName } from '../../src/core/names.js';
import { OID } from '../../src/core/oids.js';

const nameWith = (type: string, value: Buffer) => sequence(set(sequence(oid(type), value)));

describe('decodeName: attribute value types', () => {
  it('refuses a non-string value for the DirectoryString attributes it names', () => {
    const cases: Array<[string, Buffer]> = [
      [OID.organizationName, tlv(0x18, Buffer.from('spiffe://x'))], // GeneralizedTime
      [OID.commonName, tlv(0x03, Buffer.from([0x00, 0x41]))], // BIT STRING
      [OID.commonName, tlv(0xa3, utf8String('x'))], // [3]
      [OID.countryName, tlv(0x02, Buffer.from([1]))], // INTEGER
    ];
    for (const [type, value] of cases) {
      assert.throws(() => decodeName(nameWith(type, value)), (err: unknown) => isWardenError(err, 'ERR_DER_INVALID') && /must be a string/.test((err as Error).message), value.toString('hex'));
    }
  });

  it('checks the content of a typed value under an unknown attribute type (found by fuzz seed 22, case 4655)', () => {
    const bad: Buffer[] = [
      tlv(0x18, Buffer.from('fuzz.example')), // GeneralizedTime that is no time
      tlv(0x17, Buffer.from('260230000000Z')), // UTCTime on 30 February
      tlv(0x01, Buffer.from([0x01])), // BOOLEAN neither 00 nor ff
      tlv(0x02, Buffer.from([0x00, 0x01])), // non-minimal INTEGER
      tlv(0x05, Buffer.from([0x00])), // NULL with content
      tlv(0x06, Buffer.from([0x80])), // OID with a non-minimal arc
      tlv(0x03, Buffer.from([0x08, 0x00])), // BIT STRING with 8 unused bits
    ];
    for (const value of bad) {
      assert.throws(() => decodeName(nameWith('1.2.840.10045.4.3.2', value)), (err: unknown) => isWardenError(err, 'ERR_DER_INVALID'), value.toString('hex'));
    }
    assert.equal(decodeName(nameWith('1.2.3.4', tlv(0x18, Buffer.from('20260101000000Z')))).text, '1.2.3.4=#180f32303236303130313030303030305a');
  });

  it('still reads string values, and renders unknown attribute types of any type as #hex', () => {
    assert.equal(decodeName(nameWith(OID.organizationName, utf8String('cluster.local'))).text, 'O=cluster.local');
    assert.equal(decodeName(nameWith(OID.countryName, printableString('DE'))).text, 'C=DE');
    assert.equal(decodeName(nameWith('1.2.3.4', tlv(0x02, Buffer.from([5])))).text, '1.2.3.4=#020105');
  });
});
