/**
 * JWTs and JWKS for tests, made with node:crypto only (an oracle independent of the `jose` library
 * the sentry verifies with): keys, their public JWK with a `kid`, and compact JWS tokens signed
 * by hand (RS*, PS256, ES256, EdDSA, and HS256 for algorithm-confusion attempts).
 */
import { createHmac, generateKeyPairSync, sign, constants, type JsonWebKey, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestSigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public JWK as a JWKS lists it (`kid`, `use: sig`, and `alg` unless left out). */
  jwk: JsonWebKey;
}

export function rsaKey(kid: string, alg: string | undefined = 'RS256'): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(alg ? { alg } : {}) } };
}

export function ecKey(kid: string): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

export function edKey(kid: string): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

export function jwksOf(...keys: TestSigningKey[]): { keys: JsonWebKey[] } {
  return { keys: keys.map((k) => k.jwk) };
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** A compact JWS of `payload`; `header` overrides (e.g. another `alg`, no `kid`). */
export function signJwt(key: TestSigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const alg = (header['alg'] as string | undefined) ?? 'RS256';
  const protectedHeader = { alg, kid: key.kid, typ: 'JWT', ...header };
  const input = `${b64url(JSON.stringify(protectedHeader))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(signatureOf(alg, key.privateKey, Buffer.from(input)))}`;
}

function signatureOf(alg: string, key: KeyObject, data: Buffer): Buffer {
  switch (alg) {
    case 'RS256': return sign('sha256', data, key);
    case 'RS384': return sign('sha384', data, key);
    case 'PS256': return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'ES256': return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA': return sign(null, data, key);
    default: throw new Error(`no signer for ${alg}`);
  }
}

/** An HS256 token whose secret is `secret` (the classic RSA-public-key-as-HMAC-secret attack). */
export function hmacJwt(kid: string, secret: Buffer, payload: Record<string, unknown>): string {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', kid, typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`;
}

/** Claims of a token daprd's JWKS flow would send: sub = the app's SPIFFE ID, aud = Sentry's. */
export function claimsFor(nowS: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'spiffe://public/ns/default/myapp',
    aud: ['spiffe://localhost/ns/default/dapr-sentry'],
    iat: nowS,
    nbf: nowS,
    exp: nowS + 3600,
    ...over,
  };
}

/**
 * A self-signed P-256 certificate for 127.0.0.1 and localhost, by openssl, written as
 * `<name>.crt` and `<name>.key` in `dir`; it is its own CA (clients pin it).
 */
export function selfSignedTlsFiles(dir: string, name = 'tls'): { certFile: string; keyFile: string; certPem: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-keyout', keyFile, '-out', certFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const certPem = execFileSync('openssl', ['x509', '-in', certFile], { encoding: 'utf8' });
  writeFileSync(certFile, certPem);
  return { certFile, keyFile, certPem };
}
