/**
 * A strict DER reader (X.690 distinguished encoding rules), the parsing half of the signing fast path
 * (design §3). Strict means: definite, minimally encoded lengths; no indefinite forms; no content
 * running past its parent; low-tag-number form only (X.509 needs nothing else). Any violation throws
 * `WardenError('ERR_DER_INVALID')`, never a RangeError, and every loop is bounded by the input length,
 * so no input can crash or hang it (test/core/der-fuzz.test.ts).
 */
import { WardenError } from '../errors.js';
import { decodeOid } from './oid.js';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One decoded TLV: `bytes` is the content; `raw` the whole encoding (tag + length + content). */
export interface Tlv {
  tag: number;
  bytes: Buffer;
  raw: Buffer;
}

function fail(message: string): never {
  throw new WardenError('ERR_DER_INVALID', `malformed DER: ${message}`);
}

/** Universal types that are always constructed: SEQUENCE, SET, EXTERNAL, EMBEDDED PDV, CHARACTER STRING. */
const CONSTRUCTED_TYPES = new Set([16, 17, 8, 11, 29]);

/**
 * X.690: universal tag 0 is end-of-contents (never a value in DER); SEQUENCE and SET are always
 * constructed; every other universal type is primitive in DER (§10.2 forbids constructed strings).
 * AttributeValue and other ANY fields otherwise let a mis-formed tag through unnoticed.
 */
function checkUniversalForm(tag: number, what: string): void {
  const number = tag & 0x1f;
  if (number === 0) fail(`${what}: tag 0 (end-of-contents) is not a DER value`);
  const constructed = (tag & 0x20) !== 0;
  if (CONSTRUCTED_TYPES.has(number) && !constructed) fail(`${what}: universal type ${number} must use the constructed form`);
  if (!CONSTRUCTED_TYPES.has(number) && constructed) fail(`${what}: universal type ${number} must use the primitive form in DER`);
}

/** A cursor over the contents of one constructed value (or a whole top-level buffer). */
export class DerReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  /** Parses exactly one top-level element that fills `input`: trailing bytes are an error. */
  static single(input: Uint8Array, expectedTag: number, what: string): Tlv {
    const reader = new DerReader(Buffer.isBuffer(input) ? input : Buffer.from(input));
    const tlv = reader.read(expectedTag, what);
    reader.end(what);
    return tlv;
  }

  hasMore(): boolean {
    return this.offset < this.buf.length;
  }

  peekTag(): number | undefined {
    return this.offset < this.buf.length ? this.buf[this.offset] : undefined;
  }

  /** Reads the next element, optionally insisting on its tag. */
  read(expectedTag?: number, what = 'value'): Tlv {
    const buf = this.buf;
    const start = this.offset;
    if (start >= buf.length) fail(`${what}: unexpected end of data`);
    const tag = buf[start]!;
    if ((tag & 0x1f) === 0x1f) fail(`${what}: high-tag-number form is not supported`);
    if ((tag & 0xc0) === 0) checkUniversalForm(tag, what);
    if (expectedTag !== undefined && tag !== expectedTag) {
      fail(`${what}: expected tag 0x${expectedTag.toString(16)}, found 0x${tag.toString(16)}`);
    }
    if (start + 1 >= buf.length) fail(`${what}: missing length`);
    let length = buf[start + 1]!;
    let headerLength = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0) fail(`${what}: indefinite length is not DER`);
      if (count > 4) fail(`${what}: length too large`);
      if (start + 2 + count > buf.length) fail(`${what}: truncated length`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + buf[start + 2 + i]!;
      if (buf[start + 2] === 0) fail(`${what}: length not minimally encoded`);
      if (length < 0x80) fail(`${what}: length not minimally encoded`);
      headerLength += count;
    }
    const contentStart = start + headerLength;
    const end = contentStart + length;
    if (end > buf.length) fail(`${what}: content runs past the end of its container`);
    this.offset = end;
    return { tag, bytes: buf.subarray(contentStart, end), raw: buf.subarray(start, end) };
  }

  /** Reads a constructed element (SEQUENCE by default) and returns a reader over its contents. */
  enter(tag: number = TAG.SEQUENCE, what = 'sequence'): DerReader {
    return new DerReader(this.read(tag, what).bytes);
  }

  /** Reads the element only if the next tag matches. */
  optional(tag: number, what = 'value'): Tlv | undefined {
    return this.peekTag() === tag ? this.read(tag, what) : undefined;
  }

  /** Asserts that every byte was consumed. */
  end(what = 'value'): void {
    if (this.offset !== this.buf.length) fail(`${what}: unexpected trailing data`);
  }

  /** INTEGER content bytes, checked for minimal two's-complement form. */
  readIntegerBytes(what = 'integer'): Buffer {
    const { bytes } = this.read(TAG.INTEGER, what);
    if (bytes.length === 0) fail(`${what}: empty integer`);
    if (bytes.length > 1 && ((bytes[0] === 0 && !(bytes[1]! & 0x80)) || (bytes[0] === 0xff && bytes[1]! & 0x80))) {
      fail(`${what}: integer not minimally encoded`);
    }
    return bytes;
  }

  /** A small non-negative INTEGER as a number. */
  readSmallInteger(what = 'integer'): number {
    const bytes = this.readIntegerBytes(what);
    if (bytes[0]! & 0x80) fail(`${what}: negative integer`);
    if (bytes.length > 6) fail(`${what}: integer too large`);
    return bytes.readUIntBE(0, bytes.length);
  }

  readOid(what = 'object identifier'): string {
    return decodeOid(this.read(TAG.OID, what).bytes, what);
  }

  readBoolean(what = 'boolean'): boolean {
    const { bytes } = this.read(TAG.BOOLEAN, what);
    if (bytes.length !== 1) fail(`${what}: boolean must be one byte`);
    if (bytes[0] === 0xff) return true;
    if (bytes[0] === 0x00) return false;
    return fail(`${what}: boolean must be 0x00 or 0xff in DER`);
  }

  /** BIT STRING content, with the unused-bit count checked (and unused bits required to be zero). */
  readBitString(what = 'bit string'): { unusedBits: number; bytes: Buffer } {
    const { bytes } = this.read(TAG.BIT_STRING, what);
    if (bytes.length === 0) fail(`${what}: missing unused-bits byte`);
    const unusedBits = bytes[0]!;
    if (unusedBits > 7 || (bytes.length === 1 && unusedBits !== 0)) fail(`${what}: bad unused-bits count`);
    if (unusedBits > 0 && bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) fail(`${what}: unused bits not zero`);
    return { unusedBits, bytes: bytes.subarray(1) };
  }

  /**
   * Checks the content of a value read as ANY (a Name attribute value, say) when its universal
   * type has a DER content rule this reader knows: BOOLEAN, INTEGER, BIT STRING, NULL, OID, times.
   */
  static checkContent(value: Tlv, what = 'value'): void {
    const reader = new DerReader(value.raw);
    switch (value.tag) {
      case TAG.BOOLEAN: reader.readBoolean(what); break;
      case TAG.INTEGER: reader.readIntegerBytes(what); break;
      case TAG.BIT_STRING: reader.readBitString(what); break;
      case TAG.NULL: if (value.bytes.length !== 0) fail(`${what}: NULL must be empty`); break;
      case TAG.OID: reader.readOid(what); break;
      case TAG.UTC_TIME:
      case TAG.GENERALIZED_TIME: reader.readTime(what); break;
      default: return;
    }
  }

  /** UTCTime or GeneralizedTime, in the exact forms RFC 5280 §4.1.2.5 requires. */
  readTime(what = 'time'): Date {
    const tlv = this.read(undefined, what);
    const text = tlv.bytes.toString('latin1');
    let match: RegExpExecArray | null;
    let year: number;
    if (tlv.tag === TAG.UTC_TIME) {
      match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
      if (!match) fail(`${what}: UTCTime must be YYMMDDHHMMSSZ`);
      const yy = Number(match[1]);
      year = yy >= 50 ? 1900 + yy : 2000 + yy;
    } else if (tlv.tag === TAG.GENERALIZED_TIME) {
      match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
      if (!match) fail(`${what}: GeneralizedTime must be YYYYMMDDHHMMSSZ`);
      year = Number(match[1]);
    } else {
      return fail(`${what}: expected UTCTime or GeneralizedTime`);
    }
    const [month, day, hour, minute, second] = match.slice(2).map(Number) as [number, number, number, number, number];
    // Not Date.UTC: it maps years 0-99 to 1900-1999, so GeneralizedTime 0050… would read as 1950.
    const check = new Date(0);
    check.setUTCFullYear(year, month - 1, day);
    check.setUTCHours(hour, minute, second, 0);
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      fail(`${what}: invalid calendar date`);
    }
    return check;
  }
}
