import assert from 'node:assert/strict';

/**
 * Asserts that a certificate time (whole seconds) is `offsetMs` from some instant inside
 * [fromMs, toMs], the real-time window around the call that produced it. A window, not "within N
 * ms of fromMs": on a loaded machine the signature can come many seconds after the call started,
 * and a wrong TTL or skew is still minutes (or at least a second) off.
 */
export function assertTimeInWindow(label: string, certTime: string | Date, fromMs: number, toMs: number, offsetMs: number): void {
  const at = typeof certTime === 'string' ? Date.parse(certTime) : certTime.getTime();
  const low = Math.floor((fromMs + offsetMs) / 1000) * 1000;
  const high = toMs + offsetMs;
  assert.ok(at >= low && at <= high, `${label} ${new Date(at).toISOString()} is not in [${new Date(low).toISOString()}, ${new Date(high).toISOString()}]`);
}
