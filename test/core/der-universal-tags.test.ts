/**
 * Universal tags in the wrong form, found by the differential fuzz (issue 12): a Name attribute
 * value tagged 0x11 (SET, primitive) was accepted as an opaque value while @peculiar/x509 and
 * openssl both refuse the certificate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCertificate } from '../../src/core/certificate.js';
import { DerReader } from '../../src/core/der/reader.js';
import { isWardenError } from '../../src/core/errors.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const derInvalid = (pattern: RegExp) => (err: unknown) => isWardenError(err, 'ERR_DER_INVALID') && pattern.test((err as Error).message);

/** From an early differential-fuzz run (seed 1233407, case 1605): issuer O= value re-tagged 0x0c → 0x11. */
const FUZZ_CASE_1605 =
  '308201af30820156a003020102021100e3ed184a21337d026558f9cb6c007d62300a06082a8648ce3d040302301731153013060355040a110c66757a7a2e6578616d706c65301e170d3235313233313233343530305a170d3237303130313030303030305a303731353033060355040a132c7370696666653a2f2f66757a7a2e6578616d706c652f6e732f64656661756c742f646170722d73656e7472793059301306072a8648ce3d020106082a8648ce3d0301070342000463e1a0cef0fb39515c8074fb89996f508dee53f5340a1ccc0e72401eea00e5d5792ed8355aa33c60876fcd88ea1cf946bc1c79f0d80a77898c84dc2b77c9b623a3633061300e0603551d0f0101ff0404030201a6300f0603551d130101ff040530030101ff301d0603551d0e0416041489980e4a75217087daf751574a70ae7d9259b64c301f0603551d2304183016801444d076442ea63292e6ea39f912d33debeb540433300a06082a8648ce3d040302034700304402204c4ee3f33d2a704912cc8680153151a1285e9f2b3be757a5a1a52942280918ad022076cf9aeffe04fbc953b0297819ad35732579137b9cd89aa6eec95e0654a006f5';

describe('DER reader: universal tag forms', () => {
  it('refuses SEQUENCE and SET in primitive form', () => {
    assert.throws(() => new DerReader(hex('1000')).read(), derInvalid(/type 16 must use the constructed form/));
    assert.throws(() => new DerReader(hex('110161')).read(), derInvalid(/type 17 must use the constructed form/));
  });

  it('refuses constructed strings, integers and times (DER forbids them)', () => {
    for (const tag of ['22', '23', '24', '2c', '33', '37', '38']) {
      assert.throws(() => new DerReader(hex(`${tag}00`)).read(), derInvalid(/must use the primitive form/), tag);
    }
  });

  it('refuses tag 0 (end-of-contents) as a value', () => {
    assert.throws(() => new DerReader(hex('0000')).read(), derInvalid(/end-of-contents/));
  });

  it('still reads context-specific and application tags in either form', () => {
    assert.equal(new DerReader(hex('800101')).read().tag, 0x80);
    assert.equal(new DerReader(hex('a0020500')).read().tag, 0xa0);
    assert.equal(new DerReader(hex('6000')).read().tag, 0x60);
  });

  it('refuses the certificate the differential fuzz found', () => {
    assert.throws(() => parseCertificate(hex(FUZZ_CASE_1605)), (err: unknown) => isWardenError(err, 'ERR_CERT_INVALID') && /type 17 must use the constructed form/.test((err as Error).message));
  });
});
