import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DerReader, TAG } from '../../src/core/der/reader.js';
import { decodeOid, encodeOidContent } from '../../src/core/der/oid.js';
import * as w from '../../src/core/der/writer.js';
import { isWardenError } from '../../src/core/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const rejects = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => isWardenError(err, 'ERR_DER_INVALID') && pattern.test((err as Error).message));

describe('DER reader is strict', () => {
  it('reads nested sequences and primitive values', () => {
    const der = w.sequence(w.smallInteger(5), w.oid('1.2.840.10045.4.3.2'), w.boolean(true), w.octetString(Buffer.from('hi')));
    const r = new DerReader(DerReader.single(der, TAG.SEQUENCE, 'x').bytes);
    assert.equal(r.readSmallInteger(), 5);
    assert.equal(r.readOid(), '1.2.840.10045.4.3.2');
    assert.equal(r.readBoolean(), true);
    assert.equal(r.read(TAG.OCTET_STRING).bytes.toString(), 'hi');
    r.end();
  });

  it('handles long-form lengths written by the writer', () => {
    const big = w.octetString(Buffer.alloc(300, 7));
    assert.equal(big.subarray(0, 4).toString('hex'), '0482012c');
    assert.equal(DerReader.single(big, TAG.OCTET_STRING, 'x').bytes.length, 300);
  });

  it('rejects indefinite, non-minimal, oversized and truncated lengths', () => {
    rejects(() => DerReader.single(hex('3080 0000'), TAG.SEQUENCE, 'x'), /indefinite/);
    rejects(() => DerReader.single(hex('04 8105 0102030405'), TAG.OCTET_STRING, 'x'), /minimally/);
    rejects(() => DerReader.single(hex('04 820005 0102030405'), TAG.OCTET_STRING, 'x'), /minimally/);
    rejects(() => DerReader.single(hex('04 85ffffffffff'), TAG.OCTET_STRING, 'x'), /too large/);
    rejects(() => DerReader.single(hex('04 05 0102'), TAG.OCTET_STRING, 'x'), /past the end/);
    rejects(() => DerReader.single(hex('04'), TAG.OCTET_STRING, 'x'), /missing length/);
    rejects(() => DerReader.single(hex(''), TAG.OCTET_STRING, 'x'), /end of data/);
  });

  it('rejects trailing data, wrong tags and high tag numbers', () => {
    rejects(() => DerReader.single(hex('0500 00'), TAG.NULL, 'x'), /trailing/);
    rejects(() => DerReader.single(hex('0500'), TAG.SEQUENCE, 'x'), /expected tag/);
    rejects(() => DerReader.single(hex('1f8101 00'), 0x1f, 'x'), /high-tag/);
  });

  it('rejects non-DER booleans, integers and bit strings', () => {
    rejects(() => new DerReader(hex('010101')).readBoolean(), /0x00 or 0xff/);
    rejects(() => new DerReader(hex('0102ffff')).readBoolean(), /one byte/);
    rejects(() => new DerReader(hex('02020001')).readIntegerBytes(), /minimally/);
    rejects(() => new DerReader(hex('0202ff80')).readIntegerBytes(), /minimally/);
    rejects(() => new DerReader(hex('0200')).readIntegerBytes(), /empty/);
    rejects(() => new DerReader(hex('020180')).readSmallInteger(), /negative/);
    rejects(() => new DerReader(hex('030208ff')).readBitString(), /unused-bits/);
    rejects(() => new DerReader(hex('030201ff')).readBitString(), /unused bits not zero/);
    rejects(() => new DerReader(hex('0300')).readBitString(), /missing/);
  });

  it('reads both time forms and rejects malformed or impossible dates', () => {
    assert.equal(new DerReader(w.time(new Date('2026-02-03T04:05:06Z'))).readTime().toISOString(), '2026-02-03T04:05:06.000Z');
    assert.equal(new DerReader(w.time(new Date('2051-02-03T04:05:06Z'))).readTime().toISOString(), '2051-02-03T04:05:06.000Z');
    assert.equal(w.time(new Date('2049-12-31T23:59:59Z'))[0], TAG.UTC_TIME);
    assert.equal(w.time(new Date('2050-01-01T00:00:00Z'))[0], TAG.GENERALIZED_TIME);
    rejects(() => new DerReader(w.tlv(TAG.UTC_TIME, Buffer.from('260203040506+0100'))).readTime(), /YYMMDDHHMMSSZ/);
    rejects(() => new DerReader(w.tlv(TAG.UTC_TIME, Buffer.from('260230040506Z'))).readTime(), /calendar/);
    rejects(() => new DerReader(w.tlv(TAG.GENERALIZED_TIME, Buffer.from('20260203040506.5Z'))).readTime(), /GeneralizedTime/);
    rejects(() => new DerReader(w.smallInteger(1)).readTime(), /UTCTime or GeneralizedTime/);
  });

  it('encodes and decodes OIDs, rejecting malformed ones', () => {
    for (const oid of ['1.2.840.113549.1.1.11', '2.5.29.17', '1.3.101.112', '2.999.3', '1.3.6.1.4.1.57683.100.1']) {
      assert.equal(decodeOid(encodeOidContent(oid)), oid);
    }
    assert.equal(encodeOidContent('1.2.840.10045.2.1').toString('hex'), '2a8648ce3d0201');
    rejects(() => decodeOid(hex('2a86')), /truncated/);
    rejects(() => decodeOid(hex('2a8001')), /not minimal/);
    rejects(() => decodeOid(Buffer.alloc(0)), /empty/);
    assert.throws(() => encodeOidContent('1'), /invalid OID/);
    assert.throws(() => encodeOidContent('1.40'), /invalid OID/);
  });

  it('writes minimal unsigned integers', () => {
    assert.equal(w.unsignedInteger(hex('0000ff')).toString('hex'), '020200ff');
    assert.equal(w.unsignedInteger(hex('7f')).toString('hex'), '02017f');
    assert.equal(w.unsignedInteger(hex('0000')).toString('hex'), '020100');
    assert.equal(w.smallInteger(0x1234).toString('hex'), '02021234');
  });
});

describe('names', () => {
  it('decodes BMPString attributes without touching the input, and rejects odd lengths', async () => {
    const { decodeName } = await import('../../src/core/names.js');
    const bmp = Buffer.from('0041 0042'.replace(/\s/g, ''), 'hex');
    const name = w.sequence(w.set(w.sequence(w.oid('2.5.4.3'), w.tlv(TAG.BMP_STRING, bmp))));
    const copy = Buffer.from(name);
    assert.equal(decodeName(name).text, 'CN=AB');
    assert.deepEqual(name, copy);
    const odd = w.sequence(w.set(w.sequence(w.oid('2.5.4.3'), w.tlv(TAG.BMP_STRING, Buffer.from([0, 0x41, 0])))));
    rejects(() => decodeName(odd), /odd length/);
  });
});
