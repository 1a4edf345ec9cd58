/**
 * The root and issuer expiry log (spec 5.1, restored and extended to the issuer), with an injected
 * clock: texts, levels, the window and the repeat interval.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Certificate } from '../../src/core/certificate.js';
import { FixedClock } from '../../src/core/clock.js';
import { expiryLogEntry } from '../../src/sentry/expiry-watch.js';
import { buildBundle, withExpiresIn } from '../support/bundles.js';
import { LEVEL, startTestSentry, type LogRecord } from '../support/sentry-harness.js';
import { waitUntil } from '../support/wait-until.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const WINDOW = 30 * DAY;

function cert(notBefore: number, notAfter: number): Certificate {
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) } as Certificate;
}

describe('expiryLogEntry', () => {
  const now = Date.UTC(2026, 0, 1);
  it('warns inside the window with Dapr\'s text, days and hours truncated', () => {
    assert.deepEqual(expiryLogEntry('root', cert(now - DAY, now + 29 * DAY + 5 * HOUR + 59 * 60_000), new Date(now), WINDOW), {
      level: 'warn', msg: 'Dapr root certificate expiration warning: certificate expires in 29 days and 5 hours',
    });
    assert.deepEqual(expiryLogEntry('issuer', cert(now - DAY, now + 30 * 60_000), new Date(now), WINDOW), {
      level: 'warn', msg: 'Dapr issuer certificate expiration warning: certificate expires in 0 days and 0 hours',
    });
  });

  it('is an error once expired, and before NotBefore', () => {
    assert.deepEqual(expiryLogEntry('root', cert(now - 2 * DAY, now - 1), new Date(now), WINDOW), {
      level: 'error', msg: 'Dapr root certificate expiration warning: certificate has expired.',
    });
    const early = expiryLogEntry('issuer', cert(now + HOUR, now + 2 * DAY), new Date(now), WINDOW);
    assert.equal(early.level, 'error');
    assert.match(early.msg, /^Dapr issuer certificate is not valid yet: valid from 2026-01-01T01:00:00.000Z$/);
  });

  it('is debug outside the window; exactly the window left is still outside', () => {
    assert.deepEqual(expiryLogEntry('root', cert(now - DAY, now + WINDOW), new Date(now), WINDOW), {
      level: 'debug', msg: 'Dapr root certificate is still valid for 720h0m0s',
    });
    assert.equal(expiryLogEntry('root', cert(now - DAY, now + WINDOW - 1000), new Date(now), WINDOW).level, 'warn');
    assert.equal(expiryLogEntry('root', cert(now - DAY, now + 10 * DAY), new Date(now), 5 * DAY).level, 'debug');
  });
});

describe('expiry watch in a running Sentry', () => {
  it('logs root and issuer warnings at start and every interval; errors once the clock passes NotAfter', async () => {
    const clock = new FixedClock(new Date());
    const built = await buildBundle({ now: clock.now() }, withExpiresIn(10 * DAY + 3 * HOUR + 60_000, 'root'), withExpiresIn(4 * DAY + 60_000, 'issuer'));
    const t = await startTestSentry({ texts: built.texts, options: { clock, expiryWarningIntervalMs: 40 } });
    try {
      const warnings = (logs: LogRecord[], level: number): string[] =>
        logs.filter((l) => l.level === level && /^Dapr (root|issuer) certificate/.test(l.msg)).map((l) => l.msg);
      const atStart = warnings(t.logs, LEVEL.warn);
      assert.ok(atStart.includes('Dapr root certificate expiration warning: certificate expires in 10 days and 3 hours'), atStart.join('\n'));
      assert.ok(atStart.includes('Dapr issuer certificate expiration warning: certificate expires in 4 days and 0 hours'), atStart.join('\n'));

      // The interval repeats it, reading the clock each time.
      clock.advance(2 * DAY);
      await waitUntil('the next interval\'s warning', () => warnings(t.logs, LEVEL.warn).includes('Dapr root certificate expiration warning: certificate expires in 8 days and 3 hours'));

      clock.advance(9 * DAY);
      await waitUntil('the expired errors', () => warnings(t.logs, LEVEL.error).length >= 2);
      const errors = warnings(t.logs, LEVEL.error);
      assert.ok(errors.includes('Dapr root certificate expiration warning: certificate has expired.'), errors.join('\n'));
      assert.ok(errors.includes('Dapr issuer certificate expiration warning: certificate has expired.'), errors.join('\n'));
    } finally {
      await t.close();
    }
  });

  it('the window is configurable: 5 days → no warning for 10 days left', async () => {
    const clock = new FixedClock(new Date());
    const built = await buildBundle({ now: clock.now() }, withExpiresIn(10 * DAY, 'root'), withExpiresIn(10 * DAY, 'issuer'));
    const t = await startTestSentry({ texts: built.texts, options: { clock, expiryWarningWindowMs: 5 * DAY } });
    try {
      assert.ok(!t.logs.some((l) => /expiration warning/.test(l.msg)));
      assert.ok(t.logs.some((l) => l.level === LEVEL.debug && /^Dapr root certificate is still valid for 239h/.test(l.msg)));
    } finally {
      await t.close();
    }
  });

  it('with --auto-renew the warning says when the automatic renewal runs', async () => {
    const clock = new FixedClock(new Date());
    const built = await buildBundle({ now: clock.now() }, withExpiresIn(10 * DAY, 'root'), withExpiresIn(10 * DAY, 'issuer'));
    // A renewer that only waits (its sleeps end when the sentry stops): the note comes from its schedule.
    const idle = { sleep: (_ms: number, signal?: AbortSignal) => new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true })) };
    const t = await startTestSentry({
      texts: built.texts,
      options: { clock, expiryWarningIntervalMs: 50, autoRenew: true, renewAt: 0.999, renewBeforeMs: DAY, autoRenewSleeper: idle },
    });
    try {
      const deadline = Date.now() + 30_000;
      let noted: string | undefined;
      while (noted === undefined && Date.now() < deadline) {
        noted = t.logs.find((l) => l.level === LEVEL.warn && /^Dapr root certificate expiration warning: .*; the sentry renews it automatically at /.test(l.msg))?.msg;
        if (noted === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(noted, t.logs.map((l) => l.msg).join('\n'));
      const at = /automatically at (\S+)$/.exec(noted)?.[1] as string;
      // 1 day before NotAfter comes before 99.9 % of the lifetime.
      assert.equal(new Date(at).getTime(), built.bundle.root.notAfter.getTime() - DAY);
    } finally {
      await t.close();
    }
  });
});
