/** The seeded PRNG behind every random choice in the tests: replayable, overridable, refusing nonsense. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, testSeed } from './seeded-random.js';

describe('seeded test randomness', () => {
  it('the same seed gives the same sequence; another seed another one; values in range', () => {
    const take = (seed: number) => Array.from({ length: 20 }, (() => { const r = seededRandom(seed); return () => r.int(1000); })());
    assert.deepEqual(take(42), take(42));
    assert.notDeepEqual(take(42), take(43));
    const r = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      const n = r.int(40);
      assert.ok(Number.isInteger(n) && n >= 0 && n < 40);
    }
  });

  it('a fixed seed per label unless WARDEN_TEST_SEED replays one or asks for a fresh one', () => {
    assert.equal(testSeed('a', {}), testSeed('a', {}));
    assert.notEqual(testSeed('a', {}), testSeed('b', {}));
    assert.equal(testSeed('a', { WARDEN_TEST_SEED: '12345' }), 12345);
    const fresh = testSeed('a', { WARDEN_TEST_SEED: 'random' });
    assert.ok(Number.isInteger(fresh) && fresh >= 0 && fresh < 2 ** 32);
    assert.throws(() => testSeed('a', { WARDEN_TEST_SEED: 'x1' }), /WARDEN_TEST_SEED must be an integer/);
    assert.throws(() => testSeed('a', { WARDEN_TEST_SEED: '-1' }), /WARDEN_TEST_SEED must be an integer/);
  });
});
