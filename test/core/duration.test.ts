import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration, parseGoDuration } from '../../src/core/duration.js';
import { isWardenError } from '../../src/core/errors.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('parseGoDuration (Go time.ParseDuration)', () => {
  it('parses Dapr settings and Go examples', () => {
    const cases: [string, number][] = [
      ['24h', 24 * H], ['15m', 15 * M], ['1h30m', 90 * M], ['1h15m30.5s', H + 15 * M + 30.5 * S],
      ['0', 0], ['0s', 0], ['-15m', -15 * M], ['+5s', 5 * S], ['1.5h', 1.5 * H], ['.5s', 500], ['1.s', S],
      ['300ms', 300], ['2us', 0.002], ['2µs', 0.002], ['2μs', 0.002], ['1500ns', 0.0015], ['8760h', 8760 * H],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
  });

  it('rejects what Go rejects, with ERR_DURATION_INVALID', () => {
    for (const bad of ['', '5', '1d', 'h', '.s', '1h 30m', '-', '1.2.3s', 'abc', '24H', '9999999999h']) {
      assert.throws(() => parseGoDuration(bad), (err: unknown) => {
        assert.ok(isWardenError(err, 'ERR_DURATION_INVALID'), `${bad}: ${String(err)}`);
        assert.match((err as Error).message, /use Go syntax/);
        return true;
      }, bad);
    }
  });
});

describe('formatGoDuration (Go Duration.String)', () => {
  it('formats like Go', () => {
    const cases: [number, string][] = [
      [0, '0s'], [24 * H, '24h0m0s'], [15 * M, '15m0s'], [90 * M, '1h30m0s'], [1.5 * S, '1.5s'], [500, '500ms'],
      [0.002, '2µs'], [0.0015, '1.5µs'], [0.000_5, '500ns'], [-15 * M, '-15m0s'], [H + 0.5 * S, '1h0m0.5s'], [61 * S, '1m1s'],
      [365 * 24 * H, '8760h0m0s'],
    ];
    for (const [ms, text] of cases) assert.equal(formatGoDuration(ms), text, String(ms));
  });

  it('round-trips through the parser', () => {
    for (const ms of [1, 999, S, 59 * S, 3 * H + 7 * M + 9 * S, 0.25]) assert.equal(parseGoDuration(formatGoDuration(ms)), ms);
  });

  it('refuses non-finite values', () => {
    assert.throws(() => formatGoDuration(Number.NaN), (err: unknown) => isWardenError(err, 'ERR_DURATION_INVALID'));
  });
});
