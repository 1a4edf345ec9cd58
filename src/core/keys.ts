/**
 * Private and public keys: parsing the three PEM forms Dapr accepts (spec 2.7), generating keys of
 * the supported algorithms, and comparing public halves.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { WardenError } from './errors.js';
import { decodePemBlocks, encodePem } from './pem.js';

export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'rsa';

export const MIN_RSA_BITS = 2048;

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
