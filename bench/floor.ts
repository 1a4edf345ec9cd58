/**
 * The crypto floor: what one issuance costs with node:crypto alone. The same inputs Warden gets,
 * with everything that is not crypto done beforehand: the CSR key as a ready JWK (raw point), the
 * CSR's signed bytes and signature, and a prebuilt TBS. Per request the floor pays exactly the key
 * import, the CSR verify and the leaf signature; Warden / floor is therefore Warden's overhead.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { PooledCsr } from './csr-pool.js';
import type { Operation } from './measure.js';

export interface FloorInputs {
  pool: readonly PooledCsr[];
  /** A TBSCertificate of the size Warden signs (taken from a real leaf). */
  tbs: Buffer;
  issuerKey: KeyObject;
  /** null for an Ed25519 issuer. */
  issuerDigest: string | null;
}

function verifyAsync(digest: string | null, data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => verify(digest, data, key, signature, (err, ok) => (err ? reject(err) : resolve(ok))));
}

function signAsync(digest: string | null, data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => sign(digest, data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

function failedVerify(): never {
  throw new Error('crypto floor: a pooled CSR signature did not verify');
}

/** Import + verify + sign with the callback forms (libuv threadpool), as Warden runs them. */
export function asyncFloorOperation(inputs: FloorInputs): Operation {
  const { pool, tbs, issuerKey, issuerDigest } = inputs;
  return async (i) => {
    const entry = pool[i % pool.length]!;
    const key = createPublicKey({ key: entry.jwk, format: 'jwk' });
    if (!(await verifyAsync(entry.digest, entry.infoDer, key, entry.signature))) failedVerify();
    await signAsync(issuerDigest, tbs, issuerKey);
  };
}

/** The same work with the synchronous forms: the single-thread floor without threadpool hops. */
export function syncFloorOperation(inputs: FloorInputs): Operation {
  const { pool, tbs, issuerKey, issuerDigest } = inputs;
  return (i) => {
    const entry = pool[i % pool.length]!;
    const key = createPublicKey({ key: entry.jwk, format: 'jwk' });
    if (!verify(entry.digest, entry.infoDer, key, entry.signature)) failedVerify();
    sign(issuerDigest, tbs, issuerKey);
  };
}
