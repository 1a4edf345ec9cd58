/**
 * Random choices in tests (kill points, jitter) come from a seeded PRNG, so a failure can be run
 * again exactly. The seed is fixed per use (derived from its label) unless WARDEN_TEST_SEED sets
 * it: a number replays that seed, `random` explores a fresh one. Tests print the seed (test
 * diagnostic and failure messages) so any run can be replayed with
 * `WARDEN_TEST_SEED=<seed> node --import tsx --test <file>`.
 */
import { createHash, randomInt } from 'node:crypto';

export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/** mulberry32: small, fast, good enough to pick kill points. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed: seed >>> 0, next, int: (n) => Math.floor(next() * n) };
}

/** The seed for `label`: WARDEN_TEST_SEED if set (`random` for a fresh one), else a fixed one derived from the label. */
export function testSeed(label: string, env: NodeJS.ProcessEnv = process.env): number {
  const given = env.WARDEN_TEST_SEED?.trim();
  if (given === 'random') return randomInt(2 ** 32);
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`WARDEN_TEST_SEED must be an integer in [0, 2^32) or 'random', got '${given}'`);
    return n;
  }
  return createHash('sha256').update(label).digest().readUInt32BE(0);
}

/** A PRNG for `label`, its seed reported through `t.diagnostic` (shown with the test's result). */
export function randomFor(t: { diagnostic(message: string): void }, label: string): SeededRandom {
  const random = seededRandom(testSeed(label));
  t.diagnostic(`random seed ${random.seed} (replay: WARDEN_TEST_SEED=${random.seed})`);
  return random;
}
