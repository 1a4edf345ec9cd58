/**
 * Go duration strings (`time.ParseDuration` / `Duration.String`), the format of every duration flag
 * and of Dapr's `workloadCertTTL` / `allowedClockSkew` settings. Pure.
 */
import { WardenError } from './errors.js';

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const NS_PER_MS = 1_000_000n;
// Go durations are int64 nanoseconds.
const MAX_NS = (1n << 63n) - 1n;

/**
 * Parses a Go duration (`"24h"`, `"1h30m"`, `"1.5s"`, `"-15m"`, `"0"`) into milliseconds; sub-ms
 * units give fractional milliseconds. Rejects what Go rejects (no unit, unknown unit, empty, overflow)
 * with `ERR_DURATION_INVALID`.
 */
export function parseGoDuration(text: string): number {
  const fail = (why: string): never => {
    throw new WardenError(
      'ERR_DURATION_INVALID',
      `invalid duration ${JSON.stringify(text)}: ${why}; use Go syntax such as "24h", "15m" or "1h30m"`,
    );
  };
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') fail('empty');
  let totalNs = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?([^\d.]+)/.exec(s);
    if (m === null) fail('missing unit');
    const [whole, intPart = '', fracPart = '', unit = ''] = m as RegExpExecArray;
    if (intPart === '' && fracPart === '') fail('missing number');
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) fail(`unknown unit ${JSON.stringify(unit)}`);
    totalNs += BigInt(intPart === '' ? '0' : intPart) * (scale as bigint);
    if (fracPart !== '') {
      // Go truncates the fraction to whole nanoseconds.
      totalNs += (BigInt(fracPart) * (scale as bigint)) / 10n ** BigInt(fracPart.length);
    }
    if (totalNs > MAX_NS) fail('overflow');
    s = s.slice(whole.length);
  }
  const ms = Number(totalNs / NS_PER_MS) + Number(totalNs % NS_PER_MS) / 1e6;
  return negative ? -ms : ms;
}

/**
 * Formats milliseconds as Go's `Duration.String` does: `"24h0m0s"`, `"15m0s"`, `"1.5s"`,
 * `"500ms"`, `"0s"`. Precision is whole nanoseconds.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) {
    throw new WardenError('ERR_DURATION_INVALID', `cannot format ${ms} as a duration`);
  }
  let ns = BigInt(Math.round(ms * 1e6));
  const sign = ns < 0n ? '-' : '';
  if (ns < 0n) ns = -ns;
  if (ns === 0n) return '0s';
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${fraction(ns, 1_000n)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${fraction(ns, 1_000_000n)}ms`;
  const hours = ns / 3_600_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const seconds = fraction(ns % 60_000_000_000n, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** `value / unit` as a decimal without trailing zeros. */
function fraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const rest = value % unit;
  if (rest === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}
