/**
 * CSRs whose self-signature verifies although nobody holds a private key (issue 12 item 6): built
 * here byte by byte, because no key generator makes such keys. Each verifies with node:crypto
 * (OpenSSL), which is why the sentry certified them before it refused weak keys.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { bitString, contextTag, nullValue, oid, sequence, smallInteger } from '../../src/core/der/writer.js';
import { EMPTY_NAME } from '../../src/core/names.js';
import { OID } from '../../src/core/oids.js';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The Ed25519 identity point (y = 1, x = 0): of order 1, so [k]A vanishes from the verify equation. */
export const ED25519_IDENTITY = Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]);

function csrWith(spki: Buffer, algorithmIdentifier: Buffer, sign: (info: Buffer) => Buffer): Buffer {
  const info = sequence(smallInteger(0), EMPTY_NAME.der, spki, contextTag(0, Buffer.alloc(0), true));
  return sequence(info, algorithmIdentifier, bitString(sign(info)));
}

/**
 * An Ed25519 CSR for the identity point with the signature (R = identity, S = 0): [S]B = R + [k]A
 * holds for every message, since both sides are the identity.
 */
export function smallOrderEd25519Csr(): Buffer {
  return csrWith(Buffer.concat([ED25519_SPKI_PREFIX, ED25519_IDENTITY]), sequence(oid(OID.ed25519)), () =>
    Buffer.concat([ED25519_IDENTITY, Buffer.alloc(32)]));
}

/** An RSA public key with a real 2048-bit modulus and exponent `e` (base64url, e.g. 'AQ' for 1). */
export function rsaPublicKeyWithExponent(e: string): ReturnType<typeof createPublicKey> {
  const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  return createPublicKey({ key: { kty: 'RSA', n: n!, e }, format: 'jwk' });
}

/**
 * An RSA CSR with e = 1: the "signature" is the PKCS#1 v1.5 encoding of the digest itself
 * (s^1 = s), computed without any private key.
 */
export function exponentOneRsaCsr(): Buffer {
  const key = rsaPublicKeyWithExponent('AQ');
  const spki = key.export({ format: 'der', type: 'spki' });
  const bytes = (key.asymmetricKeyDetails?.modulusLength ?? 2048) / 8;
  return csrWith(spki, sequence(oid(OID.sha256WithRsa), nullValue()), (info) => {
    const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(info).digest()]);
    return Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(bytes - 3 - digestInfo.length, 0xff), Buffer.from([0]), digestInfo]);
  });
}
