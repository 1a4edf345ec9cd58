/**
 * Signature algorithms: which AlgorithmIdentifier a signing key produces (spec 2.3: Ed25519 →
 * PureEd25519, P-256 → ecdsa-with-SHA256, P-384 → ecdsa-with-SHA384, RSA → sha256WithRSA), and
 * signing/verifying with node:crypto. The async forms run on libuv's threadpool, so one process
 * uses both cores (design §3).
 */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { nullValue, oid, sequence } from './der/writer.js';
import { keyAlgorithmOf, type KeyAlgorithm } from './keys.js';
import { OID } from './oids.js';

interface AlgorithmSpec {
  /** node:crypto digest name, or null for Ed25519. */
  digest: string | null;
  /** Key algorithms this signature algorithm is valid for. */
  keys: ReadonlyArray<KeyAlgorithm>;
}

const SIGNATURE_ALGORITHMS: Record<string, AlgorithmSpec> = {
  [OID.ed25519]: { digest: null, keys: ['ed25519'] },
  [OID.ecdsaWithSha256]: { digest: 'sha256', keys: ['ecdsa-p256', 'ecdsa-p384'] },
  [OID.ecdsaWithSha384]: { digest: 'sha384', keys: ['ecdsa-p256', 'ecdsa-p384'] },
  [OID.ecdsaWithSha512]: { digest: 'sha512', keys: ['ecdsa-p256', 'ecdsa-p384'] },
  [OID.sha256WithRsa]: { digest: 'sha256', keys: ['rsa'] },
  [OID.sha384WithRsa]: { digest: 'sha384', keys: ['rsa'] },
  [OID.sha512WithRsa]: { digest: 'sha512', keys: ['rsa'] },
};

export function isSupportedSignatureAlgorithm(algorithmOid: string): boolean {
  return algorithmOid in SIGNATURE_ALGORITHMS;
}

/** How a key signs: the AlgorithmIdentifier DER it puts in certificates and the digest it uses. */
export interface Signer {
  key: KeyObject;
  algorithmOid: string;
  algorithmIdentifier: Buffer;
  digest: string | null;
}

export function signerFor(key: KeyObject): Signer {
  const algorithm = keyAlgorithmOf(key);
  switch (algorithm) {
    case 'ed25519':
      return { key, algorithmOid: OID.ed25519, algorithmIdentifier: sequence(oid(OID.ed25519)), digest: null };
    case 'ecdsa-p256':
      return { key, algorithmOid: OID.ecdsaWithSha256, algorithmIdentifier: sequence(oid(OID.ecdsaWithSha256)), digest: 'sha256' };
    case 'ecdsa-p384':
      return { key, algorithmOid: OID.ecdsaWithSha384, algorithmIdentifier: sequence(oid(OID.ecdsaWithSha384)), digest: 'sha384' };
    case 'rsa':
      return { key, algorithmOid: OID.sha256WithRsa, algorithmIdentifier: sequence(oid(OID.sha256WithRsa), nullValue()), digest: 'sha256' };
  }
}

export function signSync(signer: Signer, data: Buffer): Buffer {
  return cryptoSign(signer.digest, data, signer.key);
}

export function signAsync(signer: Signer, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    cryptoSign(signer.digest, data, signer.key, (err, signature) => (err ? reject(err) : resolve(signature)));
  });
}

function verifyPlan(algorithmOid: string, publicKey: KeyObject): AlgorithmSpec | undefined {
  const spec = SIGNATURE_ALGORITHMS[algorithmOid];
  if (!spec) return undefined;
  let keyAlgorithm: KeyAlgorithm;
  try {
    keyAlgorithm = keyAlgorithmOf(publicKey);
  } catch {
    return undefined;
  }
  return spec.keys.includes(keyAlgorithm) ? spec : undefined;
}

/** True when `signature` over `data` verifies with `publicKey` under `algorithmOid`; false otherwise, never throws. */
export function verifySync(algorithmOid: string, data: Buffer, publicKey: KeyObject, signature: Buffer): boolean {
  const spec = verifyPlan(algorithmOid, publicKey);
  if (!spec) return false;
  try {
    return cryptoVerify(spec.digest, data, publicKey, signature);
  } catch {
    return false;
  }
}

export function verifyAsync(algorithmOid: string, data: Buffer, publicKey: KeyObject, signature: Buffer): Promise<boolean> {
  const spec = verifyPlan(algorithmOid, publicKey);
  if (!spec) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(spec.digest, data, publicKey, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}
