/**
 * `npm run bench -- pem`: PEM decoding of crafted input (issue 12 item 1) against benign input of
 * the same size, measured in the same run. The decoder must be linear in its input, so:
 * - each crafted input at the message cap (64 KiB) may cost at most RATIO_CEILING × a valid block
 *   of that size (the floor), and
 * - quadrupling a crafted input's size may multiply its time by at most GROWTH_CEILING (linear ≈ 4,
 *   quadratic 16, cubic 64).
 * The previous, regular-expression decoder took seconds on these inputs at 4-16 KiB (the run of
 * "-----BEGIN " grew cubically, the whitespace body quadratically), minutes at the cap.
 */
import { performance } from 'node:perf_hooks';
import { decodeFirstPemBlock, decodePemBlocks } from '../src/core/pem.js';
import { fixed, formatTable, verdict } from './format.js';
import { ADVERSARIAL_PEM, benignPem, MESSAGE_CAP } from './pem-inputs.js';

export const RATIO_CEILING = 10;
export const GROWTH_CEILING = 10;
const SMALL = MESSAGE_CAP / 4;
const SAMPLE_MS = 20;

export interface PemMeasurement {
  name: string;
  /** µs per decode at the cap (the fastest sample). */
  capUs: number;
  /** µs per decode at a quarter of the cap. */
  quarterUs: number;
  ratio: number;
  growth: number;
  pass: boolean;
}

export interface PemSuiteResult {
  benignUs: number;
  inputs: PemMeasurement[];
  pass: boolean;
}

/** Both entry points once (the sentry uses the first; bundles use all blocks); errors are expected. */
function decodeBoth(text: string): void {
  try {
    decodeFirstPemBlock(text);
  } catch {
    // refused, as intended
  }
  try {
    decodePemBlocks(text);
  } catch {
    // refused, as intended
  }
}

/**
 * µs per decode: the fastest of `runs` samples, each decoding until SAMPLE_MS have passed (after
 * one warm-up sample). The fastest, not the median: other work on a shared machine only ever adds
 * time, and the ratios compare what the decoder itself costs.
 */
function timePerDecode(input: string, runs = 7): number {
  // A flat string, as the sentry's Buffer.toString('latin1') gives (a concatenation is a rope).
  const text = Buffer.from(input, 'latin1').toString('latin1');
  const samples: number[] = [];
  for (let run = -1; run < runs; run++) {
    let iterations = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      decodeBoth(text);
      iterations++;
      elapsed = performance.now() - t0;
    } while (elapsed < SAMPLE_MS);
    if (run >= 0) samples.push((elapsed * 1000) / iterations);
  }
  return Math.min(...samples);
}

export function runPemSuite(log: (line: string) => void): PemSuiteResult {
  log('pem: decoding crafted and benign input…');
  const benignUs = timePerDecode(benignPem(MESSAGE_CAP));
  const inputs = ADVERSARIAL_PEM.map((input): PemMeasurement => {
    const capUs = timePerDecode(input.make(MESSAGE_CAP));
    const quarterUs = timePerDecode(input.make(SMALL));
    const ratio = capUs / benignUs;
    const growth = capUs / quarterUs;
    return { name: input.name, capUs, quarterUs, ratio, growth, pass: ratio <= RATIO_CEILING && growth <= GROWTH_CEILING };
  });
  return { benignUs, inputs, pass: inputs.every((m) => m.pass) };
}

export function formatPemReport(result: PemSuiteResult): string {
  const rows = result.inputs.map((m) => [
    m.name, fixed(m.quarterUs, 0), fixed(m.capUs, 0), `${fixed(m.ratio, 2)}×`, `${fixed(m.growth, 1)}×`, verdict(m.pass),
  ]);
  return [
    `PEM decoding of crafted input (both entry points), µs per decode; floor: a valid ${MESSAGE_CAP / 1024} KiB block, ` +
      `${fixed(result.benignUs, 0)} µs in this run`,
    formatTable(['input', `${SMALL / 1024} KiB µs`, `${MESSAGE_CAP / 1024} KiB µs`, `vs floor (≤ ${RATIO_CEILING}×)`, `×4 size → (≤ ${GROWTH_CEILING}×)`, ''], rows),
    `pem: ${verdict(result.pass)} — every crafted input within ${RATIO_CEILING}× the floor and growing at most ${GROWTH_CEILING}× for 4× the size`,
  ].join('\n');
}
