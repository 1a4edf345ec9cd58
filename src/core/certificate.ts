/**
 * X.509 v3 certificate parsing (RFC 5280), strict, into the fields Warden's checks and signer use.
 * Parsing is done once per certificate load (bundle load, CLI), never on the per-request signing path.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { DerReader, TAG } from './der/reader.js';
import { WardenError } from './errors.js';
import { decodeName, type DistinguishedName } from './names.js';
import { OID } from './oids.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { verifySync } from './signature.js';

export { OID };
export type { DistinguishedName };

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/** KeyUsage bit names in bit order (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_BITS: readonly KeyUsageName[] = [
  'digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement',
  'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly',
];

export interface Extension {
  oid: string;
  critical: boolean;
  value: Buffer;
}

export interface Certificate {
  der: Buffer;
  tbsDer: Buffer;
  serialHex: string;
  signatureAlgorithmOid: string;
  signature: Buffer;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  publicKey: KeyObject;
  basicConstraints?: { ca: boolean; pathLen?: number; critical: boolean };
  keyUsage?: ReadonlySet<KeyUsageName>;
  extKeyUsage?: string[];
  uriSans: string[];
  dnsSans: string[];
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  extensions: Extension[];
}

function invalid(message: string, cause?: unknown): never {
  throw new WardenError('ERR_CERT_INVALID', `invalid certificate: ${message}`, { cause });
}

/** Reads an AlgorithmIdentifier and returns its OID (parameters are not needed by any algorithm we accept). */
export function readAlgorithmOid(reader: DerReader, what: string): string {
  const alg = reader.enter(TAG.SEQUENCE, what);
  const algorithm = alg.readOid(what);
  if (alg.hasMore()) alg.read(undefined, `${what} parameters`);
  alg.end(what);
  return algorithm;
}

export function parseCertificate(input: Uint8Array): Certificate {
  const der = Buffer.from(input);
  try {
    return parseStrict(der);
  } catch (err) {
    if (err instanceof WardenError && err.code === 'ERR_CERT_INVALID') throw err;
    return invalid((err as Error).message, err);
  }
}

function parseStrict(der: Buffer): Certificate {
  const outer = new DerReader(DerReader.single(der, TAG.SEQUENCE, 'certificate').bytes);
  const tbs = outer.read(TAG.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithmOid = readAlgorithmOid(outer, 'signatureAlgorithm');
  const signatureBits = outer.readBitString('signature');
  outer.end('certificate');
  if (signatureBits.unusedBits !== 0) invalid('signature has unused bits');

  const t = new DerReader(tbs.bytes);
  const versionTag = t.optional(0xa0, 'version');
  const version = versionTag ? readVersion(versionTag.bytes) : 0;
  if (version !== 2) invalid(`only X.509 v3 certificates are supported (found v${version + 1})`);
  const serial = t.readIntegerBytes('serialNumber');
  const innerAlgorithm = readAlgorithmOid(t, 'signature');
  if (innerAlgorithm !== signatureAlgorithmOid) invalid('signature algorithm differs between tbsCertificate and certificate');
  const issuer = decodeName(t.read(TAG.SEQUENCE, 'issuer').raw, 'issuer');
  const validity = t.enter(TAG.SEQUENCE, 'validity');
  const notBefore = validity.readTime('notBefore');
  const notAfter = validity.readTime('notAfter');
  validity.end('validity');
  const subject = decodeName(t.read(TAG.SEQUENCE, 'subject').raw, 'subject');
  const spki = t.read(TAG.SEQUENCE, 'subjectPublicKeyInfo');
  t.optional(0x81, 'issuerUniqueID');
  t.optional(0x82, 'subjectUniqueID');
  const extensionsTag = t.optional(0xa3, 'extensions');
  t.end('tbsCertificate');

  checkSpki(spki.bytes);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: spki.raw, format: 'der', type: 'spki' });
  } catch (err) {
    return invalid(`unreadable public key: ${(err as Error).message}`, err);
  }

  const cert: Certificate = {
    der,
    tbsDer: tbs.raw,
    serialHex: serial.toString('hex'),
    signatureAlgorithmOid,
    signature: signatureBits.bytes,
    issuer,
    subject,
    notBefore,
    notAfter,
    spkiDer: spki.raw,
    publicKey,
    uriSans: [],
    dnsSans: [],
    extensions: [],
  };
  if (extensionsTag) readExtensions(extensionsTag.bytes, cert);
  return cert;
}

/**
 * The SubjectPublicKeyInfo rules node:crypto (OpenSSL) lets through: an EC key must name its curve
 * (RFC 5480 §2.1.1: implicitCurve and specifiedCurve MUST NOT be used; OpenSSL quietly maps explicit
 * parameters onto a named curve), and the key BIT STRING holds whole bytes (OpenSSL ignores its
 * unused-bits count).
 */
function checkSpki(spkiContent: Buffer): void {
  const spki = new DerReader(spkiContent);
  const algorithm = spki.enter(TAG.SEQUENCE, 'subjectPublicKeyInfo algorithm');
  if (algorithm.readOid('public key algorithm') === OID.ecPublicKey && algorithm.peekTag() !== TAG.OID) {
    invalid('an EC public key must name its curve (explicit or implicit curve parameters are not allowed)');
  }
  if (spki.readBitString('subjectPublicKey').unusedBits !== 0) invalid('subjectPublicKey has unused bits');
  spki.end('subjectPublicKeyInfo');
}

function readVersion(explicitContent: Buffer): number {
  const reader = new DerReader(explicitContent);
  const value = reader.readSmallInteger('version');
  reader.end('version');
  return value;
}

function readExtensions(explicitContent: Buffer, cert: Certificate): void {
  const wrapper = new DerReader(explicitContent);
  const list = wrapper.enter(TAG.SEQUENCE, 'extensions');
  wrapper.end('extensions');
  const seen = new Set<string>();
  while (list.hasMore()) {
    const ext = list.enter(TAG.SEQUENCE, 'extension');
    const extOid = ext.readOid('extension id');
    const critical = ext.peekTag() === TAG.BOOLEAN ? ext.readBoolean('critical') : false;
    const value = ext.read(TAG.OCTET_STRING, 'extension value').bytes;
    ext.end('extension');
    if (seen.has(extOid)) invalid(`extension ${extOid} appears twice`);
    seen.add(extOid);
    cert.extensions.push({ oid: extOid, critical, value });
    applyExtension(cert, extOid, critical, value);
  }
}

function applyExtension(cert: Certificate, extOid: string, critical: boolean, value: Buffer): void {
  switch (extOid) {
    case OID.basicConstraints: {
      const r = new DerReader(DerReader.single(value, TAG.SEQUENCE, 'basicConstraints').bytes);
      const ca = r.peekTag() === TAG.BOOLEAN ? r.readBoolean('cA') : false;
      const pathLen = r.hasMore() ? r.readSmallInteger('pathLenConstraint') : undefined;
      r.end('basicConstraints');
      cert.basicConstraints = pathLen === undefined ? { ca, critical } : { ca, pathLen, critical };
      return;
    }
    case OID.keyUsage: {
      const r = new DerReader(value);
      const bits = r.readBitString('keyUsage');
      r.end('keyUsage');
      const usages = new Set<KeyUsageName>();
      KEY_USAGE_BITS.forEach((name, i) => {
        const byte = bits.bytes[i >> 3];
        if (byte !== undefined && byte & (0x80 >> (i & 7))) usages.add(name);
      });
      cert.keyUsage = usages;
      return;
    }
    case OID.extKeyUsage: {
      const r = new DerReader(DerReader.single(value, TAG.SEQUENCE, 'extKeyUsage').bytes);
      const oids: string[] = [];
      while (r.hasMore()) oids.push(r.readOid('extKeyUsage purpose'));
      // SIZE (1..MAX): an empty list would read as "no EKU", i.e. any usage.
      if (oids.length === 0) invalid('extKeyUsage lists no purpose');
      cert.extKeyUsage = oids;
      return;
    }
    case OID.subjectAltName: {
      const r = new DerReader(DerReader.single(value, TAG.SEQUENCE, 'subjectAltName').bytes);
      if (!r.hasMore()) invalid('subjectAltName lists no name'); // GeneralNames is SIZE (1..MAX)
      while (r.hasMore()) {
        const name = r.read(undefined, 'GeneralName');
        if (name.tag === 0x82) cert.dnsSans.push(name.bytes.toString('latin1'));
        else if (name.tag === 0x86) cert.uriSans.push(name.bytes.toString('latin1'));
      }
      return;
    }
    case OID.subjectKeyIdentifier:
      cert.subjectKeyId = DerReader.single(value, TAG.OCTET_STRING, 'subjectKeyIdentifier').bytes;
      return;
    case OID.authorityKeyIdentifier: {
      const r = new DerReader(DerReader.single(value, TAG.SEQUENCE, 'authorityKeyIdentifier').bytes);
      const keyId = r.optional(0x80, 'keyIdentifier');
      if (keyId) cert.authorityKeyId = keyId.bytes;
      return;
    }
    default:
      if (critical) invalid(`unknown critical extension ${extOid}`);
  }
}

/**
 * The `CERTIFICATE` blocks of a PEM text, stopping at the first block of another type, as Dapr's kit
 * does (spec 2.7). No certificate at all is an error.
 */
export function parseCertificatesPem(text: string | Buffer): Certificate[] {
  const certs: Certificate[] = [];
  for (const block of decodePemBlocks(text)) {
    if (block.type !== 'CERTIFICATE') break;
    certs.push(parseCertificate(block.der));
  }
  if (certs.length === 0) invalid('no PEM "CERTIFICATE" block found');
  return certs;
}

export function certificateToPem(cert: Pick<Certificate, 'der'>): string {
  return encodePem('CERTIFICATE', cert.der);
}

export function certificatesToPem(certs: ReadonlyArray<Pick<Certificate, 'der'>>): string {
  return certs.map(certificateToPem).join('');
}

/** True when `child` names `parent` as issuer and its signature verifies with the parent's key. */
export function isIssuedBy(child: Certificate, parent: Certificate): boolean {
  return child.issuer.der.equals(parent.subject.der) && verifySync(child.signatureAlgorithmOid, child.tbsDer, parent.publicKey, child.signature);
}

export function isSelfSigned(cert: Certificate): boolean {
  return isIssuedBy(cert, cert);
}

/** Whether `cert` is valid at `now` (inclusive bounds, as Go's x509 checks). */
export function isValidAt(cert: Pick<Certificate, 'notBefore' | 'notAfter'>, now: Date): boolean {
  return now.getTime() >= cert.notBefore.getTime() && now.getTime() <= cert.notAfter.getTime();
}
