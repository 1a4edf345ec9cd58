/**
 * Private and public keys: parsing the three PEM forms Dapr accepts (spec 2.7), generating keys of
 * the supported algorithms, and comparing public halves.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { WardenError } from './errors.js';
import { decodePemBlocks, encodePem } from './pem.js';

export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'rsa';

export const MIN_RSA_BITS = 2048;
/** The largest RSA key Go's crypto/tls accepts from a peer (`maxRSAKeySize`): daprd would refuse a larger one. */
export const MAX_RSA_BITS = 8192;
/** Go's crypto/rsa (before 1.24) refused larger public exponents, and no real key has one. */
const MAX_RSA_EXPONENT = 2n ** 31n - 1n;

const PEM_KEY_TYPES = {
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
  'PRIVATE KEY': 'pkcs8',
} as const;

/** The first private-key block of `text`, in SEC1, PKCS#1 or PKCS#8 form. */
export function parsePrivateKeyPem(text: string | Buffer): KeyObject {
  const blocks = decodePemBlocks(text);
  if (blocks.some((b) => b.type === 'ENCRYPTED PRIVATE KEY')) {
    throw new WardenError('ERR_KEY_UNSUPPORTED', 'encrypted private keys are not supported: decrypt the key (openssl pkey -in KEY -out PLAIN) first');
  }
  const block = blocks.find((b) => b.type in PEM_KEY_TYPES);
  if (!block) {
    throw new WardenError('ERR_KEY_INVALID', 'no private key found: expected a PEM block "EC PRIVATE KEY", "RSA PRIVATE KEY" or "PRIVATE KEY"');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type: PEM_KEY_TYPES[block.type as keyof typeof PEM_KEY_TYPES] });
  } catch (err) {
    throw new WardenError('ERR_KEY_INVALID', `the "${block.type}" block is not a valid key: ${(err as Error).message}`, { cause: err });
  }
  keyAlgorithmOf(key);
  return key;
}

export function privateKeyToPkcs8Pem(key: KeyObject): string {
  return encodePem('PRIVATE KEY', key.export({ format: 'der', type: 'pkcs8' }));
}

/**
 * A new private key. EC keys come from generateKeyPairSync again: Node 20 could deadlock reading
 * `asymmetricKeyDetails` of such a key when a GC ran at that moment, so Warden made them through
 * ECDH + JWK. bench/ec-keygen-deadlock.mjs (20 s runs) deadlocked in 4 of 10 runs on Node 20.20.2,
 * in 0 of 8 on 22.23.5 (~580k keys) and 0 of 8 on 24.22.3 (~770k keys); generateKeyPairSync is
 * also as fast or faster there (P-256: 24.22.3 ~110 µs vs ~290 µs via ECDH + JWK).
 */
export function generatePrivateKey(algorithm: KeyAlgorithm): KeyObject {
  switch (algorithm) {
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }
}

/** Names the algorithm of a supported key; anything else is `ERR_KEY_UNSUPPORTED`. */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256';
    if (curve === 'secp384r1') return 'ecdsa-p384';
    throw new WardenError('ERR_KEY_UNSUPPORTED', `EC curve ${curve ?? 'unknown'} is not supported: use P-256, P-384 or Ed25519`);
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new WardenError('ERR_KEY_UNSUPPORTED', `RSA keys of ${bits} bits are too weak: use at least ${MIN_RSA_BITS} bits`);
    }
    return 'rsa';
  }
  throw new WardenError('ERR_KEY_UNSUPPORTED', `key type ${type ?? 'unknown'} is not supported: use Ed25519, ECDSA P-256/P-384 or RSA ≥ ${MIN_RSA_BITS}`);
}

function publicOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** SubjectPublicKeyInfo DER of a key's public half. */
export function spkiOf(key: KeyObject): Buffer {
  return publicOf(key).export({ format: 'der', type: 'spki' });
}

export function publicKeysEqual(a: KeyObject, b: KeyObject): boolean {
  return spkiOf(a).equals(spkiOf(b));
}

/**
 * Why a public key a client asks Warden to certify is too weak, though its self-signature may
 * verify: a key anybody can sign for proves nothing (issue 12 item 6). Undefined when it is fine.
 * `ed25519Point` is the key's 32-byte encoding (the CSR carries it).
 *
 * - RSA: an exponent under 3 or even (Go's crypto/rsa refuses both, `public exponent is less than
 *   2` / `is even`, so Dapr answers "invalid signature"; with e = 1 any "signature" equal to the
 *   padded digest verifies), or above 2^31 − 1 (older Go refused it).
 * - Ed25519: a point of small order (one of the 8 in the torsion subgroup: with the identity as
 *   public key the signature (R = identity, S = 0) verifies for every message) or an encoding that is
 *   not canonical (y ≥ p, or x = 0 with the sign bit set; RFC 8032 §5.1.3 says decoding fails).
 *   Go's crypto/ed25519 checks neither (it decodes with filippo.io/edwards25519, which accepts
 *   both); libsodium refuses both, and that is what Warden does: such a key has no private half
 *   worth proving.
 */
export function weakPublicKeyReason(key: KeyObject, ed25519Point?: Uint8Array): string | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    const e = key.asymmetricKeyDetails?.publicExponent ?? 0n;
    if (e < 3n) return `RSA public exponent ${e} is less than 3`;
    if (e % 2n === 0n) return `RSA public exponent ${e} is even`;
    if (e > MAX_RSA_EXPONENT) return `RSA public exponent ${e} is larger than 2^31 - 1`;
    return undefined;
  }
  if (key.asymmetricKeyType === 'ed25519' && ed25519Point !== undefined) return ed25519PointWeakness(ed25519Point);
  return undefined;
}

/** RSA keys larger than MAX_RSA_BITS: refused as unsupported (TLS peers would refuse them). */
export function rsaKeyTooLarge(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType !== 'rsa') return undefined;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return bits > MAX_RSA_BITS ? `RSA keys of ${bits} bits are larger than ${MAX_RSA_BITS} bits, the most Go's TLS accepts` : undefined;
}

/**
 * The y coordinates (little-endian, sign bit clear) of Ed25519's small-order points: 0 (order 4,
 * two points), 1 (the identity), p − 1 (order 2) and the two of order 8 (two points each). The
 * test derives them from the curve equation and checks 8·P = identity for each.
 */
const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((hex) => Buffer.from(hex, 'hex'));

function ed25519PointWeakness(point: Uint8Array): string | undefined {
  if (point.length !== 32) return 'Ed25519 public key is not 32 bytes';
  const y = Buffer.from(point);
  y[31]! &= 0x7f;
  if (!isCanonicalFieldElement(y)) return 'Ed25519 public key is not canonically encoded (y ≥ 2^255 - 19)';
  if (SMALL_ORDER_Y.some((small) => small.equals(y))) return 'Ed25519 public key is a point of small order';
  return undefined;
}

/** y < p = 2^255 − 19 for a little-endian y with the top bit clear. */
function isCanonicalFieldElement(y: Buffer): boolean {
  if (y[31] !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (y[i] !== 0xff) return true;
  return y[0]! < 0xed;
}
