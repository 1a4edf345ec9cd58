/**
 * JWT oracles for tests, independent of `jose` (what the sentry signs with): a compact JWS split
 * and decoded by hand, its signature checked with `openssl dgst -verify` (RSA) or node:crypto's
 * one-shot verify (ECDSA in JWS's r||s form, RSA-PSS, Ed25519).
 */
import { constants, createPublicKey, KeyObject, verify, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The header and claims JSON exactly as signed (to check member order). */
  headerJson: string;
  claimsJson: string;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`not a compact JWS: ${parts.length} parts`);
  const [h, c, s] = parts as [string, string, string];
  const headerJson = Buffer.from(h, 'base64url').toString('utf8');
  const claimsJson = Buffer.from(c, 'base64url').toString('utf8');
  return {
    header: JSON.parse(headerJson) as Record<string, unknown>,
    claims: JSON.parse(claimsJson) as Record<string, unknown>,
    headerJson, claimsJson,
    signingInput: `${h}.${c}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** Verifies the token's signature with `key` for its header's `alg`; RS*: by the openssl binary. */
export function verifyJwtSignature(token: string, key: KeyObject | JsonWebKey): boolean {
  const jwt = decodeJwt(token);
  const publicKey = key instanceof KeyObject ? createPublicKey(key) : createPublicKey({ key, format: 'jwk' });
  const alg = String(jwt.header.alg);
  if (alg === 'RS256') return opensslDgstVerify(jwt.signingInput, jwt.signature, publicKey);
  if (alg === 'ES256' || alg === 'ES384') {
    return verify(alg === 'ES256' ? 'sha256' : 'sha384', Buffer.from(jwt.signingInput), { key: publicKey, dsaEncoding: 'ieee-p1363' }, jwt.signature);
  }
  if (alg === 'PS256') {
    return verify('sha256', Buffer.from(jwt.signingInput), { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, jwt.signature);
  }
  if (alg === 'EdDSA') return verify(null, Buffer.from(jwt.signingInput), publicKey, jwt.signature);
  throw new Error(`no oracle for alg ${alg}`);
}

/** `openssl dgst -sha256 -verify pub.pem -signature sig` over the JWS signing input. */
function opensslDgstVerify(signingInput: string, signature: Buffer, publicKey: KeyObject): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'warden-jws-'));
  try {
    writeFileSync(join(dir, 'pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(dir, 'sig'), signature);
    const r = spawnSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig')], { input: signingInput, encoding: 'utf8' });
    if (r.status === 0 && /Verified OK/.test(r.stdout)) return true;
    if (r.status === 1 && /Verification failure/i.test(r.stdout + r.stderr)) return false;
    throw new Error(`openssl dgst failed: ${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
