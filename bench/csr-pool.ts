/**
 * Pools of distinct CSRs, generated before any timing starts so key generation is never measured.
 * Each entry also carries what the crypto floor needs, extracted once: the key as a JWK (the raw
 * point), the signed bytes and the signature.
 */
import { createECDH, createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createCsr, parseCsr } from '../src/core/csr.js';
import { generatePrivateKey } from '../src/core/keys.js';
import { encodePem } from '../src/core/pem.js';

export type CsrKeyAlgorithm = 'ecdsa-p256' | 'ed25519';

export interface PooledCsr {
  der: Buffer;
  pem: string;
  /** The CSR key as node:crypto's JWK import wants it (`kty`, `crv`, `x`[, `y`]). */
  jwk: JsonWebKey;
  /** certificationRequestInfo: what the CSR signature covers. */
  infoDer: Buffer;
  signature: Buffer;
  /** node:crypto digest for the CSR signature (null for Ed25519). */
  digest: string | null;
}

export const KEY_LABEL: Record<CsrKeyAlgorithm, string> = { 'ecdsa-p256': 'P-256', ed25519: 'Ed25519' };

/**
 * A fresh key. P-256 keys are made with ECDH and imported as JWK rather than by
 * generateKeyPairSync: on Node 20, reading `asymmetricKeyDetails` of a generateKeyPairSync EC key
 * (createCsr does, through keyAlgorithmOf) can deadlock when a GC finalizes the key-generation job
 * at that moment (~KeyPairGenConfig locks the key's mutex, which GetEcKeyDetail holds). Thousands
 * of keys in a row hit it within seconds.
 */
function generateKey(algorithm: CsrKeyAlgorithm): KeyObject {
  if (algorithm === 'ed25519') return generatePrivateKey('ed25519');
  const ecdh = createECDH('prime256v1');
  const point = ecdh.generateKeys();
  const scalar = ecdh.getPrivateKey();
  // getPrivateKey drops leading zero bytes; JWK wants the full 32.
  const d = Buffer.concat([Buffer.alloc(32 - scalar.length), scalar]);
  const jwk = {
    kty: 'EC', crv: 'P-256', d: d.toString('base64url'),
    x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url'),
  };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

/** `count` CSRs with fresh keys, in daprd's shape (empty subject, no attributes). */
export function generateCsrPool(algorithm: CsrKeyAlgorithm, count: number): PooledCsr[] {
  const pool: PooledCsr[] = [];
  for (let i = 0; i < count; i++) {
    const der = createCsr(generateKey(algorithm));
    const parsed = parseCsr(der);
    pool.push({
      der,
      pem: encodePem('CERTIFICATE REQUEST', der),
      jwk: parsed.publicKey.export({ format: 'jwk' }),
      infoDer: parsed.infoDer,
      signature: parsed.signature,
      digest: algorithm === 'ed25519' ? null : 'sha256',
    });
  }
  return pool;
}
