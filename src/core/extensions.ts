/** Encoders for the X.509 extensions Dapr's certificates carry, byte-compatible with Go's crypto/x509 (spec 2.6). */
import { createHash } from 'node:crypto';
import { DerReader, TAG } from './der/reader.js';
import { bitString, boolean, contextTag, octetString, oid, sequence } from './der/writer.js';
import { KEY_USAGE_BITS, type KeyUsageName } from './certificate.js';
import { OID } from './oids.js';

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(extensionOid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(extensionOid), boolean(true), octetString(value)) : sequence(oid(extensionOid), octetString(value));
}

/** KeyUsage, critical, encoded as Go's marshalKeyUsage does: trailing zero bits dropped. */
export function keyUsageExtension(usages: ReadonlyArray<KeyUsageName>): Buffer {
  let bits = 0;
  for (const usage of usages) bits |= 1 << KEY_USAGE_BITS.indexOf(usage);
  const bytes = [0, 0];
  for (let i = 0; i < 16; i++) if (bits & (1 << i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  const length = bytes[1] ? 2 : 1;
  const highestBit = 31 - Math.clz32(bits);
  const unused = length * 8 - (highestBit + 1);
  return extension(OID.keyUsage, true, bitString(Buffer.from(bytes.slice(0, length)), unused));
}

export function extKeyUsageExtension(purposes: ReadonlyArray<string>): Buffer {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map((p) => oid(p))));
}

/** BasicConstraints CA:TRUE, critical, with no pathLen constraint (Go omits it when MaxPathLen is unset). */
export function caBasicConstraintsExtension(): Buffer {
  return extension(OID.basicConstraints, true, sequence(boolean(true)));
}

/**
 * Subject key identifier as Go ≥ 1.25 generates it for CA certificates: the first 160 bits of the
 * SHA-256 of the subjectPublicKey bits (golang/go#71746). Spec 2.6: treat it as opaque.
 */
export function subjectKeyIdFor(spkiDer: Buffer): Buffer {
  const spki = new DerReader(DerReader.single(spkiDer, TAG.SEQUENCE, 'subjectPublicKeyInfo').bytes);
  spki.read(TAG.SEQUENCE, 'algorithm');
  const key = spki.readBitString('subjectPublicKey');
  return createHash('sha256').update(key.bytes).digest().subarray(0, 20);
}

export function subjectKeyIdExtension(keyId: Buffer): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdExtension(keyId: Buffer): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(contextTag(0, keyId, false)));
}

/**
 * SubjectAltName with DNS names then URIs (Go's marshalSANs order). Critical when the subject is
 * empty (RFC 5280 §4.2.1.6), which makes it critical on every Dapr workload certificate.
 */
export function subjectAltNameExtension(dnsNames: ReadonlyArray<string>, uris: ReadonlyArray<string>, critical: boolean): Buffer {
  const names = [
    ...dnsNames.map((d) => contextTag(2, Buffer.from(d, 'latin1'), false)),
    ...uris.map((u) => contextTag(6, Buffer.from(u, 'latin1'), false)),
  ];
  return extension(OID.subjectAltName, critical, sequence(...names));
}
