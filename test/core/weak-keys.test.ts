/**
 * Weak public keys in CSRs (issue 12 item 6): keys anybody can sign for pass a signature check, so
 * they are refused before it. The Ed25519 small-order list is checked against the curve itself:
 * each listed y decodes to points P with 8·P = identity, and together they are all 8 such points.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseCsr, verifyCsrSignature, createCsr } from '../../src/core/csr.js';
import { isWardenError } from '../../src/core/errors.js';
import { weakPublicKeyReason, rsaKeyTooLarge } from '../../src/core/keys.js';
import { exponentOneRsaCsr, rsaPublicKeyWithExponent, smallOrderEd25519Csr } from '../support/forged-csrs.js';

// Ed25519 over BigInt, only for the test (RFC 8032 §5.1).
const P = 2n ** 255n - 19n;
const mod = (a: bigint): bigint => ((a % P) + P) % P;
function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = mod(result * b);
    b = mod(b * b);
  }
  return result;
}
const inv = (a: bigint): bigint => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);
type Point = { x: bigint; y: bigint };

/** RFC 8032 §5.1.3 decoding (lenient about y ≥ p, as the encodings under test may be); undefined if not on the curve. */
function decode(bytes: Buffer): Point | undefined {
  const sign = bytes[31]! >> 7;
  const yBytes = Buffer.from(bytes);
  yBytes[31]! &= 0x7f;
  const y = mod(BigInt(`0x${Buffer.from(yBytes).reverse().toString('hex')}`));
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  if (mod(v * x * x) !== u) {
    if (mod(v * x * x) !== mod(-u)) return undefined;
    x = mod(x * SQRT_M1);
  }
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = mod(-x);
  return { x, y };
}
function add(a: Point, b: Point): Point {
  const t = mod(D * a.x * b.x * a.y * b.y);
  return { x: mod((a.x * b.y + a.y * b.x) * inv(1n + t)), y: mod((a.y * b.y + a.x * b.x) * inv(1n - t)) };
}
const times8 = (p: Point): Point => add(add(add(p, p), add(p, p)), add(add(p, p), add(p, p)));

const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
];

describe('Ed25519: small-order points and non-canonical encodings', () => {
  it('the listed encodings, with either sign bit, are all 8 points of order dividing 8', () => {
    const points = new Set<string>();
    for (const hex of SMALL_ORDER_Y) {
      for (const signBit of [0, 0x80]) {
        const bytes = Buffer.from(hex, 'hex');
        bytes[31]! |= signBit;
        const point = decode(bytes);
        if (point === undefined) continue; // x = 0 with the sign bit set does not decode
        assert.deepEqual(times8(point), { x: 0n, y: 1n }, `8·P is the identity for ${bytes.toString('hex')}`);
        points.add(`${point.x},${point.y}`);
      }
    }
    assert.equal(points.size, 8, 'the torsion subgroup has 8 points: the list misses none');
  });

  it('every encoding of a small-order point is refused, with either sign bit', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    for (const hex of SMALL_ORDER_Y) {
      for (const signBit of [0, 0x80]) {
        const bytes = Buffer.from(hex, 'hex');
        bytes[31]! |= signBit;
        assert.match(weakPublicKeyReason(publicKey, bytes) ?? '', /small order|not canonically/, bytes.toString('hex'));
      }
    }
  });

  it('y ≥ p (non-canonical) is refused; p − 20 and random real keys are accepted', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pPlus = (k: number): Buffer => {
      const b = Buffer.alloc(32, 0xff);
      b[31] = 0x7f;
      b[0] = 0xed + k;
      return b;
    };
    for (const k of [0, 2, 3, 18]) assert.match(weakPublicKeyReason(publicKey, pPlus(k)) ?? '', /not canonically encoded/);
    assert.equal(weakPublicKeyReason(publicKey, pPlus(-20)), undefined);
    for (let i = 0; i < 50; i++) {
      const real = generateKeyPairSync('ed25519').publicKey;
      const point = real.export({ format: 'der', type: 'spki' }).subarray(12);
      assert.equal(weakPublicKeyReason(real, point), undefined);
    }
  });
});

describe('RSA exponents and sizes', () => {
  it('e = 1 and even e are refused, e over 2^31 − 1 too; 3 and 65537 are fine', () => {
    assert.equal(weakPublicKeyReason(rsaPublicKeyWithExponent('AQ')), 'RSA public exponent 1 is less than 3');
    assert.equal(weakPublicKeyReason(rsaPublicKeyWithExponent('AQAA')), 'RSA public exponent 65536 is even');
    assert.equal(weakPublicKeyReason(rsaPublicKeyWithExponent('AQAAAAE')), 'RSA public exponent 4294967297 is larger than 2^31 - 1');
    assert.equal(weakPublicKeyReason(rsaPublicKeyWithExponent('Aw')), undefined);
    assert.equal(weakPublicKeyReason(rsaPublicKeyWithExponent('AQAB')), undefined);
    assert.equal(rsaKeyTooLarge(rsaPublicKeyWithExponent('AQAB')), undefined);
  });
});

describe('CSRs with weak keys: the signature verifies, the key is refused (ERR_CSR_KEY_WEAK)', () => {
  for (const [name, make] of [['Ed25519 identity point', smallOrderEd25519Csr], ['RSA e = 1', exponentOneRsaCsr]] as const) {
    it(name, async (t) => {
      const csr = parseCsr(make());
      // The forgery is real where this Node's OpenSSL accepts the signature (3.0 does; newer
      // releases refuse the Ed25519 small-order point themselves): Warden refuses it either way.
      const opensslAccepts = verify(csr.keyAlgorithm === 'rsa' ? 'sha256' : null, csr.infoDer, csr.publicKey, csr.signature);
      t.diagnostic(`OpenSSL ${process.versions.openssl} accepts the forged signature: ${opensslAccepts}`);
      if (csr.keyAlgorithm === 'rsa' || process.versions.openssl.startsWith('3.0.')) assert.equal(opensslAccepts, true);
      await assert.rejects(verifyCsrSignature(csr), (err: unknown) => isWardenError(err, 'ERR_CSR_KEY_WEAK'));
    });
  }

  it('honest CSRs still verify', async () => {
    for (const type of ['ed25519', 'rsa'] as const) {
      const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      await verifyCsrSignature(parseCsr(createCsr(privateKey)));
    }
  });
});
