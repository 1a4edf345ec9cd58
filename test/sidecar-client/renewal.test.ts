/**
 * The renewal loop of spec 4.4 / statement 25, driven by a fake clock and fake timers: renewal at
 * exactly NotBefore + 50%, the clock re-read at least once a minute, retries every 10 s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError, WardenError } from '../../src/core/errors.js';
import { RENEWAL_CHECK_INTERVAL_MS, renewalTime, WorkloadIdentity } from '../../src/sidecar-client/identity-manager.js';
import type { IdentityLogger } from '../../src/sidecar-client/logger.js';
import type { IssuedIdentity } from '../../src/sidecar-client/sentry-client.js';
import { StaticTrustAnchorSource } from '../../src/sidecar-client/trust-anchors.js';
import { FakeTime } from './support/fake-time.js';
import { createTestCa, issueIdentity, type TestCa } from './support/pki.js';

const T0 = new Date('2026-03-01T00:00:00.000Z');
const HOUR = 3_600_000;
const TTL = 24 * HOUR;
const SKEW = 15 * 60_000;
const ID = 'spiffe://public/ns/default/app1';

/** Records log lines by level. */
function recordingLogger(): IdentityLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => void lines.push(`debug ${m}`),
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
}

/**
 * A fetchIdentity fake: each call records the (fake) time and takes the next queued outcome. An
 * identity is minted at the call's time, as a sentry would, so its validity follows the clock.
 */
class FakeFetcher {
  readonly calls: Date[] = [];
  private readonly outcomes: Array<'ok' | Error> = [];
  private readonly ready: IssuedIdentity[] = [];

  constructor(private readonly ca: TestCa, private readonly time: FakeTime) {}

  /** Mints identities ahead (signing is async work the fake timers cannot wait for). */
  async prepare(issuedAt: Date[]): Promise<void> {
    for (const at of issuedAt) this.ready.push(await issueIdentity(this.ca, { spiffeId: ID, issuedAt: at, ttlMs: TTL, skewMs: SKEW }));
  }

  queue(...outcomes: Array<'ok' | Error>): void {
    this.outcomes.push(...outcomes);
  }

  readonly fetch = async (): Promise<IssuedIdentity> => {
    this.calls.push(this.time.now());
    const outcome = this.outcomes.shift() ?? 'ok';
    if (outcome instanceof Error) throw outcome;
    const next = this.ready.shift();
    if (!next) throw new Error('test bug: no prepared identity left');
    return next;
  };
}

async function setup(): Promise<{ time: FakeTime; fetcher: FakeFetcher; logger: ReturnType<typeof recordingLogger>; ca: TestCa }> {
  const ca = createTestCa({ at: new Date(T0.getTime() - HOUR) });
  const time = new FakeTime(T0);
  const fetcher = new FakeFetcher(ca, time);
  return { time, fetcher, logger: recordingLogger(), ca };
}

async function startIdentity(s: Awaited<ReturnType<typeof setup>>): Promise<WorkloadIdentity> {
  return WorkloadIdentity.start({
    fetchIdentity: s.fetcher.fetch,
    trustAnchors: new StaticTrustAnchorSource(s.ca.anchorsPem),
    clock: s.time,
    timers: s.time,
    logger: s.logger,
  });
}

describe('renewalTime', () => {
  it('is NotBefore + half the lifetime', () => {
    assert.equal(renewalTime(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z')).toISOString(), '2026-01-01T12:00:00.000Z');
    // Dapr defaults: NotBefore = issue − 15 min, NotAfter = issue + 24 h → issue + 11h52m30s (spec 4.4).
    const issue = T0.getTime();
    assert.equal(renewalTime(new Date(issue - SKEW), new Date(issue + TTL)).getTime(), issue + 11 * HOUR + 52 * 60_000 + 30_000);
  });
});

describe('WorkloadIdentity renewal loop', () => {
  it('renews at exactly NotBefore + 50% and never sleeps more than a minute (statement 25)', async () => {
    const s = await setup();
    await s.fetcher.prepare([T0, new Date(T0.getTime() + 11 * HOUR + 52 * 60_000 + 30_000)]);
    const identity = await startIdentity(s);
    try {
      const first = identity.current();
      const expectedRenewal = first.notBefore.getTime() + (first.notAfter.getTime() - first.notBefore.getTime()) / 2;
      assert.equal(identity.renewalTime().getTime(), expectedRenewal);

      // Up to one millisecond before the renewal time: no renewal yet.
      await s.time.advance(expectedRenewal - T0.getTime() - 1);
      assert.equal(s.fetcher.calls.length, 1, 'only the initial fetch so far');
      assert.equal(identity.renewals, 0);

      await s.time.advance(1);
      assert.equal(s.fetcher.calls.length, 2);
      assert.equal(s.fetcher.calls[1]?.getTime(), expectedRenewal, 'the renewal fetch happens exactly at the renewal time');
      assert.equal(identity.renewals, 1);
      assert.notEqual(identity.current().notAfter.getTime(), first.notAfter.getTime(), 'the new certificate is in use');

      assert.ok(s.time.sleeps.length > 700, `checked the clock every minute (${s.time.sleeps.length} sleeps)`);
      assert.ok(s.time.sleeps.every((ms) => ms > 0 && ms <= RENEWAL_CHECK_INTERVAL_MS), 'every sleep is at most one minute');

      assert.deepEqual(s.logger.lines.slice(0, 3), [
        'info Fetching initial identity',
        'info Security is initialized successfully',
        `info Starting workload identity expiry watcher; cert expires on: ${goTime(first.notAfter)}, renewal at: ${goTime(new Date(expectedRenewal))}`,
      ]);
      const next = identity.current();
      assert.deepEqual(s.logger.lines.slice(3), [
        `info Renewing workload identity; cert expires on: ${goTime(first.notAfter)}`,
        `info Successfully renewed workload identity; cert expires on: ${goTime(next.notAfter)}, renewal at: ${goTime(identity.renewalTime())}`,
      ]);
    } finally {
      await identity.close();
    }
  });

  it('emits renewed with the new identity and keeps renewing on each new certificate', async () => {
    const s = await setup();
    const r1 = T0.getTime() + 11 * HOUR + 52 * 60_000 + 30_000;
    await s.fetcher.prepare([T0, new Date(r1), new Date(r1 + 11 * HOUR + 52 * 60_000 + 30_000)]);
    const identity = await startIdentity(s);
    const seen: string[] = [];
    identity.on('renewed', (snapshot: { notAfter: Date }) => seen.push(snapshot.notAfter.toISOString()));
    try {
      await s.time.advance(24 * HOUR);
      assert.equal(identity.renewals, 2);
      assert.equal(seen.length, 2);
      assert.equal(s.fetcher.calls[2]?.getTime(), r1 + 11 * HOUR + 52 * 60_000 + 30_000);
    } finally {
      await identity.close();
    }
  });

  it('notices a wall-clock jump within one minute', async () => {
    const s = await setup();
    await s.fetcher.prepare([T0, new Date(T0.getTime() + 13 * HOUR)]);
    const identity = await startIdentity(s);
    try {
      await s.time.advance(HOUR);
      // The machine slept through the renewal time (the timers did not run meanwhile).
      s.time.jumpWallClock(12 * HOUR);
      await s.time.advance(0);
      assert.equal(identity.renewals, 0, 'nothing happens before the current sleep ends');
      await s.time.advance(RENEWAL_CHECK_INTERVAL_MS);
      assert.equal(identity.renewals, 1, 'renewed within one minute of timer time');
      assert.ok((s.fetcher.calls[1]?.getTime() ?? 0) <= T0.getTime() + 13 * HOUR + RENEWAL_CHECK_INTERVAL_MS);
    } finally {
      await identity.close();
    }
  });

  it('retries every 10 seconds after a failed renewal, logging Dapr’s line', async () => {
    const s = await setup();
    const renewal = T0.getTime() + 11 * HOUR + 52 * 60_000 + 30_000;
    await s.fetcher.prepare([T0, new Date(renewal + 30_000)]);
    const failure = new WardenError('ERR_SENTRY_UNAVAILABLE', 'sentry at x is not reachable');
    s.fetcher.queue('ok', failure, failure, failure, 'ok');
    const identity = await startIdentity(s);
    const failures: unknown[] = [];
    identity.on('renewalFailed', (e) => failures.push(e));
    try {
      await s.time.advance(renewal - T0.getTime() + 29_999);
      assert.deepEqual(s.fetcher.calls.slice(1).map((d) => d.getTime() - renewal), [0, 10_000, 20_000]);
      assert.equal(identity.renewals, 0);
      await s.time.advance(1);
      assert.deepEqual(s.fetcher.calls.slice(1).map((d) => d.getTime() - renewal), [0, 10_000, 20_000, 30_000]);
      assert.equal(identity.renewals, 1);
      assert.equal(failures.length, 3);
      const errors = s.logger.lines.filter((l) => l.startsWith('error '));
      assert.deepEqual(errors, Array(3).fill('error Error renewing identity, trying again in 10 seconds: sentry at x is not reachable'));
    } finally {
      await identity.close();
    }
  });

  it('keeps serving the old certificate while renewals fail', async () => {
    const s = await setup();
    await s.fetcher.prepare([T0]);
    s.fetcher.queue('ok', ...Array<Error>(100).fill(new Error('down')));
    const identity = await startIdentity(s);
    try {
      const before = identity.current().certChainPem;
      await s.time.advance(13 * HOUR);
      assert.ok(s.fetcher.calls.length > 60, 'kept retrying');
      assert.equal(identity.current().certChainPem, before);
    } finally {
      await identity.close();
    }
  });

  it('fails start with "failed to retrieve the initial identity: ..." and keeps the cause code', async () => {
    const s = await setup();
    s.fetcher.queue(new WardenError('ERR_SENTRY_REJECTED', 'sentry rejected the request: PERMISSION_DENIED: invalid request: namespace is required'));
    await assert.rejects(startIdentity(s), (error: unknown) => {
      assert.ok(isWardenError(error, 'ERR_SENTRY_REJECTED'));
      assert.equal(error.message, 'failed to retrieve the initial identity: sentry rejected the request: PERMISSION_DENIED: invalid request: namespace is required');
      return true;
    });
    assert.equal(s.time.pending, 0, 'no loop was started');
  });

  it('close() stops the loop: no fetch afterwards', async () => {
    const s = await setup();
    await s.fetcher.prepare([T0]);
    const identity = await startIdentity(s);
    await s.time.advance(HOUR);
    await identity.close();
    assert.equal(s.time.pending, 0);
    await s.time.advance(48 * HOUR);
    assert.equal(s.fetcher.calls.length, 1);
  });
});

function goTime(d: Date): string {
  // Go's time.String() for UTC with whole seconds, as the kit logs it.
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} +0000 UTC`;
}
