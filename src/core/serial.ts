/** Certificate serial numbers: 128 random bits, as Sentry draws them (spec 2.1/2.3); injectable for tests. */
import { randomBytes } from 'node:crypto';

/** Returns the magnitude bytes of a positive serial number. */
export type SerialSource = () => Buffer;

export const randomSerials: SerialSource = () => {
  const bytes = randomBytes(16);
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
