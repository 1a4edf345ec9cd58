/**
 * Property test of the strict DER parsers: random mutations of real certificates and CSRs, and random
 * bytes, must either parse or fail with a WardenError — never crash with another error, never hang.
 * The generator is seeded so a failure is reproducible (the seed is in the test name).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { parseCertificate } from '../../src/core/certificate.js';
import { FixedClock } from '../../src/core/clock.js';
import { createCsr, parseCsr } from '../../src/core/csr.js';
import { WardenError } from '../../src/core/errors.js';
import { generatePrivateKey } from '../../src/core/keys.js';
import { decodeName } from '../../src/core/names.js';

/** xorshift32: small, seeded, good enough to drive mutations. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

function mutate(input: Buffer, rand: (n: number) => number): Buffer {
  const out = Buffer.from(input);
  switch (rand(5)) {
    case 0: { // flip bits
      for (let i = rand(4) + 1; i > 0; i--) out[rand(out.length)]! ^= 1 << rand(8);
      return out;
    }
    case 1: return out.subarray(0, rand(out.length)); // truncate
    case 2: { // set a byte to a length-ish value
      out[rand(out.length)] = [0x80, 0x81, 0x82, 0x84, 0xff, 0x00, 0x7f][rand(7)]!;
      return out;
    }
    case 3: { // insert random bytes
      const at = rand(out.length);
      const extra = Buffer.from(Array.from({ length: rand(8) + 1 }, () => rand(256)));
      return Buffer.concat([out.subarray(0, at), extra, out.subarray(at)]);
    }
    default: { // duplicate a slice
      const a = rand(out.length);
      const b = Math.min(out.length, a + rand(40));
      return Buffer.concat([out.subarray(0, b), out.subarray(a, b), out.subarray(b)]);
    }
  }
}

function expectWardenErrorOrSuccess(fn: () => unknown, input: Buffer) {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof WardenError)) {
      assert.fail(`non-Warden error ${(err as Error)?.stack} for input ${input.toString('hex')}`);
    }
  }
}

describe('DER parsers never crash or hang on hostile input', () => {
  const { bundle } = generateTrustBundle({ clock: new FixedClock(new Date('2026-01-01T00:00:00Z')), trustDomain: 'fuzz.example', namespace: 'default', keyAlgorithm: 'ecdsa-p256' });
  const seeds = {
    cert: bundle.issuer.der,
    csrP256: createCsr(generatePrivateKey('ecdsa-p256')),
    csrEd25519: createCsr(generatePrivateKey('ed25519')),
    csrRsa: createCsr(generatePrivateKey('rsa')),
  };
  const SEED = 0x5eed;
  const ROUNDS = 3000;

  it(`mutated certificates and CSRs (seed ${SEED}, ${ROUNDS} rounds each)`, () => {
    const rand = rng(SEED);
    const started = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS; i++) {
      const cert = mutate(seeds.cert, rand);
      expectWardenErrorOrSuccess(() => parseCertificate(cert), cert);
      for (const csrSeed of [seeds.csrP256, seeds.csrEd25519, seeds.csrRsa]) {
        const csr = mutate(csrSeed, rand);
        expectWardenErrorOrSuccess(() => parseCsr(csr), csr);
      }
    }
    // A hang would blow far past this; a generous bound keeps the test honest on a loaded machine.
    assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 60);
  });

  it('random bytes, including deep nesting and huge declared lengths', () => {
    const rand = rng(SEED + 1);
    for (let i = 0; i < ROUNDS; i++) {
      const bytes = Buffer.from(Array.from({ length: rand(200) }, () => rand(256)));
      expectWardenErrorOrSuccess(() => parseCertificate(bytes), bytes);
      expectWardenErrorOrSuccess(() => parseCsr(bytes), bytes);
      expectWardenErrorOrSuccess(() => decodeName(bytes), bytes);
    }
    const deep = Buffer.concat([...Array.from({ length: 5000 }, () => Buffer.from([0x30, 0x80]))]);
    expectWardenErrorOrSuccess(() => parseCertificate(deep), deep);
    const huge = Buffer.from('3084ffffffff', 'hex');
    expectWardenErrorOrSuccess(() => parseCertificate(huge), huge);
  });

  it('an unmutated seed still parses (the harness is not rejecting everything)', () => {
    assert.equal(parseCertificate(seeds.cert).serialHex, bundle.issuer.serialHex);
    assert.equal(parseCsr(seeds.csrP256).keyAlgorithm, 'ecdsa-p256');
  });
});
