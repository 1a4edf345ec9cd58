/** X.501 distinguished names: encoding the few Dapr uses, and rendering any name as text. */
import { DerReader, TAG, type Tlv } from './der/reader.js';
import { WardenError } from './errors.js';
import { oid, printableString, sequence, set, utf8String } from './der/writer.js';
import { OID } from './oids.js';

export interface DistinguishedName {
  /** The exact encoding, used for issuer/subject comparison (RFC 5280 binary comparison suffices for our own certs). */
  der: Buffer;
  /** e.g. `O=cluster.local`; empty string for an empty name. */
  text: string;
}

const SHORT_NAMES: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.countryName]: 'C',
  [OID.localityName]: 'L',
  [OID.stateOrProvinceName]: 'ST',
  [OID.organizationName]: 'O',
  [OID.organizationalUnitName]: 'OU',
};

/** Go's `isPrintable` (crypto/x509 via encoding/asn1): PrintableString plus the '*' and '&' it tolerates. */
function isPrintable(text: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?*&]*$/.test(text);
}

/** Encodes a name from (attribute OID, value) pairs, one RDN each, as Go's pkix.Name does. */
export function encodeName(attributes: Array<[string, string]>): DistinguishedName {
  const rdns = attributes.map(([type, value]) =>
    set(sequence(oid(type), isPrintable(value) ? printableString(value) : utf8String(value))),
  );
  return { der: sequence(...rdns), text: attributes.map(([t, v]) => `${SHORT_NAMES[t] ?? t}=${v}`).join(', ') };
}

export const EMPTY_NAME: DistinguishedName = { der: sequence(), text: '' };

const STRING_TAGS = new Set<number>([TAG.UTF8_STRING, TAG.PRINTABLE_STRING, TAG.IA5_STRING, TAG.T61_STRING, TAG.BMP_STRING]);

function attributeText(value: Tlv, what: string): string {
  if (!STRING_TAGS.has(value.tag)) return `#${value.raw.toString('hex')}`;
  if (value.tag === TAG.BMP_STRING) {
    if (value.bytes.length % 2 !== 0) throw new WardenError('ERR_DER_INVALID', `malformed DER: ${what}: BMPString has an odd length`);
    // swap16 works in place: copy first so the certificate's own bytes are never changed.
    return Buffer.from(value.bytes).swap16().toString('utf16le');
  }
  return value.bytes.toString(value.tag === TAG.UTF8_STRING ? 'utf8' : 'latin1');
}

/** Decodes a Name from its full encoding (tag included). */
export function decodeName(raw: Buffer, what = 'name'): DistinguishedName {
  const parts: string[] = [];
  const rdns = DerReader.single(raw, TAG.SEQUENCE, what);
  const reader = new DerReader(rdns.bytes);
  while (reader.hasMore()) {
    const rdn = reader.enter(TAG.SET, `${what} RDN`);
    while (rdn.hasMore()) {
      const atv = rdn.enter(TAG.SEQUENCE, `${what} attribute`);
      const type = atv.readOid(`${what} attribute type`);
      const value = atv.read(undefined, `${what} attribute value`);
      atv.end(`${what} attribute`);
      // The attributes named here are DirectoryStrings (C a PrintableString): any other type is malformed (openssl refuses it too).
      if (type in SHORT_NAMES && !STRING_TAGS.has(value.tag)) {
        throw new WardenError('ERR_DER_INVALID', `malformed DER: ${what}: ${SHORT_NAMES[type]} must be a string, found tag 0x${value.tag.toString(16)}`);
      }
      DerReader.checkContent(value, `${what} attribute value`);
      parts.push(`${SHORT_NAMES[type] ?? type}=${attributeText(value, what)}`);
    }
  }
  return { der: rdns.raw, text: parts.join(', ') };
}
