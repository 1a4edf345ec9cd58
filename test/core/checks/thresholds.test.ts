import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DAY_MS, DEFAULT_WARN_WITHIN_MS, HOUR_MS, daprCliExpiryBanner, daysAndHoursLeft, expiryState, goTimeString, rfc1123,
  timeLeftMs,
} from '../../../src/core/thresholds.js';

const notBefore = new Date(Date.UTC(2030, 0, 1, 0, 0, 0));
const notAfter = new Date(Date.UTC(2031, 0, 1, 0, 0, 0));
const cert = { notBefore, notAfter };
const at = (offsetFromNotAfterMs: number): Date => new Date(notAfter.getTime() + offsetFromNotAfterMs);

describe('timeLeftMs / expiryState', () => {
  it('counts down to NotAfter and goes negative after it', () => {
    assert.equal(timeLeftMs(cert, at(-5000)), 5000);
    assert.equal(timeLeftMs(cert, at(7)), -7);
  });

  it('uses a 30-day default window', () => {
    assert.equal(DEFAULT_WARN_WITHIN_MS, 30 * DAY_MS);
  });

  it('warns strictly inside the window: 30 d + 1 ms and exactly 30 d are valid, 30 d − 1 ms is expiring', () => {
    assert.equal(expiryState(cert, at(-(30 * DAY_MS + 1))), 'valid');
    assert.equal(expiryState(cert, at(-30 * DAY_MS)), 'valid');
    assert.equal(expiryState(cert, at(-(30 * DAY_MS - 1))), 'expiring');
  });

  it('treats NotAfter itself as still valid (Go) and expires 1 ms later', () => {
    assert.equal(expiryState(cert, at(0)), 'expiring');
    assert.equal(expiryState(cert, at(1)), 'expired');
  });

  it('is not yet valid until NotBefore', () => {
    assert.equal(expiryState(cert, new Date(notBefore.getTime() - 1)), 'not-yet-valid');
    assert.equal(expiryState(cert, notBefore), 'valid');
  });

  it('honours a custom window', () => {
    assert.equal(expiryState(cert, at(-2 * HOUR_MS), HOUR_MS), 'valid');
    assert.equal(expiryState(cert, at(-HOUR_MS + 1), HOUR_MS), 'expiring');
  });
});

describe('daysAndHoursLeft', () => {
  it('truncates like Go int(d.Hours()) then /24 and %24', () => {
    assert.deepEqual(daysAndHoursLeft(29 * DAY_MS + 23 * HOUR_MS + 59 * 60_000), { days: 29, hours: 23 });
    assert.deepEqual(daysAndHoursLeft(DAY_MS), { days: 1, hours: 0 });
    assert.deepEqual(daysAndHoursLeft(HOUR_MS - 1), { days: 0, hours: 0 });
    assert.deepEqual(daysAndHoursLeft(0), { days: 0, hours: 0 });
  });

  it('truncates toward zero for negative durations, never giving -0', () => {
    assert.deepEqual(daysAndHoursLeft(-25 * HOUR_MS), { days: -1, hours: -1 });
    const small = daysAndHoursLeft(-HOUR_MS + 1);
    assert.ok(Object.is(small.days, 0) && Object.is(small.hours, 0));
  });
});

describe('daprCliExpiryBanner (spec 6.5)', () => {
  const now = new Date(Date.UTC(2030, 5, 1, 12, 0, 0));
  const inDays = (days: number): Date => new Date(now.getTime() + days * DAY_MS);
  const root = 'Dapr root certificate of your Kubernetes cluster';

  it('prints nothing at 30 days or more', () => {
    assert.equal(daprCliExpiryBanner(inDays(30), now), null);
    assert.equal(daprCliExpiryBanner(inDays(400), now), null);
  });

  it('counts whole days, truncated', () => {
    assert.equal(daprCliExpiryBanner(new Date(inDays(30).getTime() - 1), now), `${root} expires in 29 days.`);
    assert.equal(daprCliExpiryBanner(inDays(29), now), `${root} expires in 29 days.`);
    assert.equal(daprCliExpiryBanner(inDays(1), now), `${root} expires in 1 days.`);
  });

  it('says "expires today" for 0 days, including the first day after expiry', () => {
    assert.equal(daprCliExpiryBanner(inDays(0), now), `${root} expires today.`);
    assert.equal(daprCliExpiryBanner(inDays(0.5), now), `${root} expires today.`);
    assert.equal(daprCliExpiryBanner(inDays(-0.5), now), `${root} expires today.`);
  });

  it('says "has expired" from one full day after expiry', () => {
    assert.equal(daprCliExpiryBanner(inDays(-1), now), `${root} has expired.`);
    assert.equal(daprCliExpiryBanner(inDays(-1.5), now), `${root} has expired.`);
  });

  it('takes the threshold and the wording as parameters', () => {
    assert.equal(daprCliExpiryBanner(inDays(45), now), null);
    assert.equal(daprCliExpiryBanner(inDays(45), now, 60), `${root} expires in 45 days.`);
    assert.equal(
      daprCliExpiryBanner(inDays(5), now, 30, { certificate: 'issuer', scope: '' }),
      'Dapr issuer certificate expires in 5 days.',
    );
    assert.equal(
      daprCliExpiryBanner(inDays(-2), now, 30, { scope: 'in /var/lib/dapr' }),
      'Dapr root certificate in /var/lib/dapr has expired.',
    );
  });
});

describe('goTimeString / rfc1123', () => {
  it('formats like Go time.String() in UTC, seconds only when whole', () => {
    assert.equal(goTimeString(new Date(Date.UTC(2025, 11, 6, 18, 14, 20))), '2025-12-06 18:14:20 +0000 UTC');
    assert.equal(goTimeString(new Date(Date.UTC(2030, 0, 2, 3, 4, 5))), '2030-01-02 03:04:05 +0000 UTC');
  });

  it('prints fractional seconds with trailing zeros trimmed', () => {
    assert.equal(goTimeString(new Date(Date.UTC(2025, 11, 6, 18, 14, 20, 123))), '2025-12-06 18:14:20.123 +0000 UTC');
    assert.equal(goTimeString(new Date(Date.UTC(2025, 11, 6, 18, 14, 20, 500))), '2025-12-06 18:14:20.5 +0000 UTC');
    assert.equal(goTimeString(new Date(Date.UTC(2025, 11, 6, 18, 14, 20, 120))), '2025-12-06 18:14:20.12 +0000 UTC');
    assert.equal(goTimeString(new Date(Date.UTC(2025, 11, 6, 18, 14, 20, 7))), '2025-12-06 18:14:20.007 +0000 UTC');
  });

  it('pads the year to four digits as Go does', () => {
    assert.equal(goTimeString(new Date('0999-03-04T05:06:07Z')), '0999-03-04 05:06:07 +0000 UTC');
  });

  it('formats RFC1123 with the UTC zone name (the date in Dapr docs\' banner example)', () => {
    assert.equal(rfc1123(new Date(Date.UTC(2022, 3, 4, 15, 1, 3))), 'Mon, 04 Apr 2022 15:01:03 UTC');
    assert.equal(rfc1123(new Date(Date.UTC(2006, 0, 2, 15, 4, 5, 999))), 'Mon, 02 Jan 2006 15:04:05 UTC');
    assert.equal(rfc1123(new Date(Date.UTC(2031, 11, 31, 23, 59, 59))), 'Wed, 31 Dec 2031 23:59:59 UTC');
  });
});
