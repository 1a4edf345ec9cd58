/**
 * PKCS#10 certificate signing requests: strict parsing, self-signature verification, and creation of
 * the empty-subject CSR daprd sends (spec 1.7). Only the CSR's public key is used by the signer
 * (spec 1.2): its subject, SANs and attributes never reach a certificate.
 *
 * Key import is the hidden cost of every request (notes §2): EC and Ed25519 keys are imported from
 * their raw points as JWK, which is ~45 µs cheaper than going through the SPKI decoder.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { DerReader, TAG } from './der/reader.js';
import { bitString, contextTag, sequence, smallInteger } from './der/writer.js';
import { WardenError } from './errors.js';
import { keyAlgorithmOf, rsaKeyTooLarge, spkiOf, weakPublicKeyReason, type KeyAlgorithm } from './keys.js';
import { decodeName, EMPTY_NAME, type DistinguishedName } from './names.js';
import { OID } from './oids.js';
import { readAlgorithmOid } from './certificate.js';
import { isSupportedSignatureAlgorithm, signerFor, signSync, verifyAsync } from './signature.js';

/** Larger than any honest CSR (an RSA-4096 CSR is ~1.6 KiB): anything bigger is refused before parsing. */
export const MAX_CSR_BYTES = 16 * 1024;

export interface ParsedCsr {
  der: Buffer;
  infoDer: Buffer;
  spkiDer: Buffer;
  publicKey: KeyObject;
  keyAlgorithm: KeyAlgorithm;
  subject: DistinguishedName;
  signatureAlgorithmOid: string;
  signature: Buffer;
}

const CURVES: Record<string, string> = { [OID.p256]: 'P-256', [OID.p384]: 'P-384' };
const COORDINATE_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48 };

function invalid(message: string, cause?: unknown): never {
  throw new WardenError('ERR_CSR_INVALID', message, { cause });
}

export function parseCsr(input: Uint8Array): ParsedCsr {
  if (input.length > MAX_CSR_BYTES) {
    throw new WardenError('ERR_CSR_TOO_LARGE', `certificate signing request is ${input.length} bytes; the limit is ${MAX_CSR_BYTES}`);
  }
  const der = Buffer.from(input);
  let parsed: Omit<ParsedCsr, 'publicKey' | 'keyAlgorithm'> & { keyAlgorithmOid: string; keyParamOid?: string; point: Buffer };
  try {
    const outer = new DerReader(DerReader.single(der, TAG.SEQUENCE, 'certificate request').bytes);
    const info = outer.read(TAG.SEQUENCE, 'certificationRequestInfo');
    const signatureAlgorithmOid = readAlgorithmOid(outer, 'signatureAlgorithm');
    const sig = outer.readBitString('signature');
    outer.end('certificate request');
    if (sig.unusedBits !== 0) invalid('signature has unused bits');

    const r = new DerReader(info.bytes);
    const version = r.readSmallInteger('version');
    if (version !== 0) invalid(`unsupported CSR version ${version}`);
    const subject = decodeName(r.read(TAG.SEQUENCE, 'subject').raw, 'subject');
    const spki = r.read(TAG.SEQUENCE, 'subjectPKInfo');
    r.read(0xa0, 'attributes');
    r.end('certificationRequestInfo');

    const s = new DerReader(spki.bytes);
    const alg = s.enter(TAG.SEQUENCE, 'public key algorithm');
    const keyAlgorithmOid = alg.readOid('public key algorithm');
    const keyParamOid = alg.peekTag() === TAG.OID ? alg.readOid('curve') : undefined;
    // AlgorithmIdentifier has one parameters field: after a curve OID there must be nothing more.
    if (keyParamOid === undefined && alg.hasMore()) alg.read(undefined, 'algorithm parameters');
    alg.end('public key algorithm');
    const point = s.readBitString('subjectPublicKey');
    if (point.unusedBits !== 0) invalid('subjectPublicKey has unused bits');
    s.end('subjectPKInfo');
    parsed = {
      der, infoDer: info.raw, spkiDer: spki.raw, subject, signatureAlgorithmOid, signature: sig.bytes,
      keyAlgorithmOid, point: point.bytes, ...(keyParamOid ? { keyParamOid } : {}),
    };
  } catch (err) {
    if (err instanceof WardenError && err.code !== 'ERR_DER_INVALID') throw err;
    return invalid((err as Error).message, err);
  }
  if (!isSupportedSignatureAlgorithm(parsed.signatureAlgorithmOid)) {
    throw new WardenError('ERR_CSR_KEY_UNSUPPORTED', `unsupported CSR signature algorithm ${parsed.signatureAlgorithmOid}`);
  }
  const publicKey = importPublicKey(parsed.keyAlgorithmOid, parsed.keyParamOid, parsed.point, parsed.spkiDer);
  let keyAlgorithm: KeyAlgorithm;
  try {
    keyAlgorithm = keyAlgorithmOf(publicKey);
  } catch (err) {
    throw new WardenError('ERR_CSR_KEY_UNSUPPORTED', (err as Error).message, { cause: err });
  }
  const tooLarge = rsaKeyTooLarge(publicKey);
  if (tooLarge !== undefined) throw new WardenError('ERR_CSR_KEY_UNSUPPORTED', tooLarge);
  const { keyAlgorithmOid: _a, keyParamOid: _p, point: _pt, ...fields } = parsed;
  return { ...fields, publicKey, keyAlgorithm };
}

function importPublicKey(algorithmOid: string, paramOid: string | undefined, point: Buffer, spkiDer: Buffer): KeyObject {
  try {
    if (algorithmOid === OID.ecPublicKey) {
      const crv = paramOid ? CURVES[paramOid] : undefined;
      if (!crv) throw new WardenError('ERR_CSR_KEY_UNSUPPORTED', `unsupported EC curve ${paramOid ?? '(none)'}: use P-256, P-384 or Ed25519`);
      const size = COORDINATE_BYTES[crv]!;
      if (point.length === 1 + 2 * size && point[0] === 0x04) {
        const x = point.subarray(1, 1 + size).toString('base64url');
        const y = point.subarray(1 + size).toString('base64url');
        return createPublicKey({ key: { kty: 'EC', crv, x, y }, format: 'jwk' });
      }
    } else if (algorithmOid === OID.ed25519) {
      if (point.length !== 32) invalid('Ed25519 public key must be 32 bytes');
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') }, format: 'jwk' });
    } else if (algorithmOid !== OID.rsaEncryption) {
      throw new WardenError('ERR_CSR_KEY_UNSUPPORTED', `unsupported public key algorithm ${algorithmOid}: use Ed25519, ECDSA P-256/P-384 or RSA ≥ 2048`);
    }
    return createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch (err) {
    if (err instanceof WardenError) throw err;
    return invalid(`invalid public key: ${(err as Error).message}`, err);
  }
}

/**
 * Resolves when the CSR's self-signature verifies; `ERR_CSR_SIGNATURE` otherwise. A key anybody can
 * sign for (keys.ts `weakPublicKeyReason`) proves nothing by its signature: `ERR_CSR_KEY_WEAK`, at
 * this step because that is where Go refuses RSA e < 2 and even e, so Dapr answers "invalid signature".
 */
export async function verifyCsrSignature(csr: ParsedCsr): Promise<void> {
  // An Ed25519 SubjectPublicKeyInfo ends with the 32-byte point (parseCsr checked its length).
  const point = csr.keyAlgorithm === 'ed25519' ? csr.spkiDer.subarray(csr.spkiDer.length - 32) : undefined;
  const weakness = weakPublicKeyReason(csr.publicKey, point);
  if (weakness !== undefined) {
    throw new WardenError('ERR_CSR_KEY_WEAK', `the certificate signing request's key cannot prove possession: ${weakness}`);
  }
  const ok = await verifyAsync(csr.signatureAlgorithmOid, csr.infoDer, csr.publicKey, csr.signature);
  if (!ok) throw new WardenError('ERR_CSR_SIGNATURE', 'the certificate signing request signature does not verify with its public key');
}

/** A DER PKCS#10 request with an empty subject and no attributes, signed by `privateKey` (what daprd sends). */
export function createCsr(privateKey: KeyObject): Buffer {
  const signer = signerFor(privateKey);
  const info = sequence(smallInteger(0), EMPTY_NAME.der, spkiOf(privateKey), contextTag(0, Buffer.alloc(0), true));
  return sequence(info, signer.algorithmIdentifier, bitString(signSync(signer, info)));
}
