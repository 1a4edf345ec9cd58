/**
 * `google.protobuf.Timestamp` checks, as Go's `timestamppb.CheckValid` does them (daprd rejects a
 * response whose `valid_until` fails it; spec 1.7, failure reason `invalid_ts`).
 */
import { WardenError } from '../core/errors.js';

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in Unix seconds (Go's valid range, end exclusive). */
const MIN_SECONDS = -62135596800;
const MAX_SECONDS = 253402300800;

/** A Timestamp as proto-loader delivers it (int64 as a decimal string), or null when absent. */
export interface TimestampMessage {
  seconds: string | number;
  nanos: number;
}

/** The instant of a valid `valid_until`; `ERR_SENTRY_RESPONSE_INVALID` when missing or out of range. */
export function validUntilOf(ts: TimestampMessage | null | undefined): Date {
  if (ts === null || ts === undefined) throw invalid('valid_until is missing');
  const seconds = Number(ts.seconds);
  if (!Number.isSafeInteger(seconds) || seconds < MIN_SECONDS || seconds >= MAX_SECONDS) {
    throw invalid(`valid_until seconds ${String(ts.seconds)} is out of range`);
  }
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos >= 1e9) {
    throw invalid(`valid_until nanos ${ts.nanos} is out of range`);
  }
  return new Date(seconds * 1000 + Math.floor(ts.nanos / 1e6));
}

function invalid(message: string): WardenError {
  return new WardenError('ERR_SENTRY_RESPONSE_INVALID', `invalid response from sentry: ${message}`);
}
