/** Certificate serial numbers: 128 random bits, as Sentry draws them (spec 2.1/2.3); injectable for tests. */
import { randomFillSync } from 'node:crypto';

/** Returns the magnitude bytes of a positive serial number. */
export type SerialSource = () => Buffer;

const SERIAL_BYTES = 16;
const POOL_SERIALS = 256;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * 128 random bits per serial, drawn from a pool refilled 256 serials at a time: one
 * randomBytes(16) call per certificate cost ~10 µs on the signing path (bench/issue.ts profile).
 */
export const randomSerials: SerialSource = () => {
  if (offset + SERIAL_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(SERIAL_BYTES * POOL_SERIALS));
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + SERIAL_BYTES));
  offset += SERIAL_BYTES;
  // A zero serial is not allowed by RFC 5280; 2^-128 odds, but cheap to rule out.
  if (bytes.every((b) => b === 0)) bytes[15] = 1;
  return bytes;
};

/** A deterministic source for golden tests: 1, 2, 3, … */
export function sequentialSerials(start = 1): SerialSource {
  let next = start;
  return () => {
    const bytes = Buffer.alloc(16);
    bytes.writeUIntBE(next++, 10, 6);
    return bytes;
  };
}
