/**
 * Time decoding edge cases found by the published-vector work (issue 12): RFC 5280 §4.1.2.5 says a
 * GeneralizedTime carries its four-digit year as written, and only UTCTime maps YY >= 50 to 19YY.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DerReader, TAG } from '../../src/core/der/reader.js';
import * as w from '../../src/core/der/writer.js';
import { isWardenError } from '../../src/core/errors.js';

const read = (tag: number, text: string) => new DerReader(w.tlv(tag, Buffer.from(text, 'latin1'))).readTime().toISOString();

describe('DER time decoding', () => {
  it('reads GeneralizedTime years 0000-0099 literally (not as 19YY)', () => {
    assert.equal(read(TAG.GENERALIZED_TIME, '00500101000000Z'), '0050-01-01T00:00:00.000Z');
    assert.equal(read(TAG.GENERALIZED_TIME, '00000101000000Z'), '0000-01-01T00:00:00.000Z');
    assert.equal(read(TAG.GENERALIZED_TIME, '00991231235959Z'), '0099-12-31T23:59:59.000Z');
  });

  it('applies the proleptic Gregorian leap rules to those years', () => {
    assert.equal(read(TAG.GENERALIZED_TIME, '00040229120000Z'), '0004-02-29T12:00:00.000Z');
    assert.throws(() => read(TAG.GENERALIZED_TIME, '01000229120000Z'), (err: unknown) => isWardenError(err, 'ERR_DER_INVALID'));
  });

  it('maps UTCTime YY >= 50 to 19YY and YY < 50 to 20YY', () => {
    assert.equal(read(TAG.UTC_TIME, '500101000000Z'), '1950-01-01T00:00:00.000Z');
    assert.equal(read(TAG.UTC_TIME, '491231235959Z'), '2049-12-31T23:59:59.000Z');
    assert.equal(read(TAG.UTC_TIME, '000101000000Z'), '2000-01-01T00:00:00.000Z');
  });

  it('round-trips dates outside UTCTime range through the writer', () => {
    for (const iso of ['0050-06-15T01:02:03.000Z', '1949-12-31T23:59:59.000Z', '9999-12-31T23:59:59.000Z']) {
      const der = w.time(new Date(iso));
      assert.equal(der[0], TAG.GENERALIZED_TIME, iso);
      assert.equal(new DerReader(der).readTime().toISOString(), iso);
    }
  });
});
