/**
 * Issue 12, item 3 ("give memory back"): the release policy, driven by a FixedClock and a fake
 * RSS and connection counts, and the malloc_trim adapter for real on this Linux. Whether RSS
 * actually comes down is measured by `npm run bench -- grpc` (a ratio, not a test threshold).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { FixedClock } from '../../src/core/clock.js';
import { DEFAULT_MEMORY_RELEASE_POLICY, MemoryRelease, type MemoryReleaseDeps } from '../../src/sentry/memory-release.js';
import { loadMallocTrim, type MallocTrimLoad } from '../../src/sentry/native/malloc-trim.js';
import { buildBundle } from '../support/bundles.js';
import { captureLogger, startTestSentry, type LogRecord } from '../support/sentry-harness.js';
import { waitUntil } from '../support/wait-until.js';

const MiB = 1024 * 1024;
const IDLE = 90 * MiB;

/** A sentry's memory and connections as the test says, with counts of what the release ran. */
function harness(over: { trim?: MallocTrimLoad; collectGarbage?: boolean; policy?: MemoryReleaseDeps['policy'] } = {}) {
  const clock = new FixedClock(Date.UTC(2026, 11, 4));
  const logs: LogRecord[] = [];
  const state = { rss: IDLE, admitted: 0, open: 0, trims: 0, gcs: 0, loads: 0, recorded: [] as number[], followUps: [] as number[], drainListeners: new Set<() => void>() };
  let onRecord: (() => void) | undefined;
  const trim: MallocTrimLoad = over.trim ?? {
    trim: async () => {
      state.trims++;
      state.rss = IDLE + 10 * MiB; // what a trim leaves
      return 1;
    },
  };
  const release = new MemoryRelease({
    clock,
    logger: captureLogger(logs),
    record: ({ bytes, followUp }) => {
      (followUp ? state.followUps : state.recorded).push(bytes);
      onRecord?.();
    },
    rss: () => state.rss,
    connections: () => ({ admitted: state.admitted, open: state.open }),
    onAllClosed: (listener) => {
      state.drainListeners.add(listener);
      return () => state.drainListeners.delete(listener);
    },
    loadTrim: () => {
      state.loads++;
      return trim;
    },
    collectGarbage: async () => {
      state.gcs++;
      return 1;
    },
    policy: { collectGarbage: over.collectGarbage ?? true, ...over.policy },
  });
  /** One check interval (2 s) later, with `connections` new ones (`open` of them still open). */
  const tick = async (connections = 0, open = 0): Promise<boolean> => {
    clock.advance(2_000);
    state.admitted += connections;
    state.open = open;
    const started = release.check();
    return (await started) !== undefined;
  };
  /** Resolves at the next recorded release. */
  const nextRecord = (): Promise<void> => new Promise((resolve) => (onRecord = resolve));
  return { clock, logs, state, release, tick, nextRecord };
}

/** A storm: 2,000 connections over 10 s while RSS climbs to 400 MiB. */
async function storm(h: ReturnType<typeof harness>): Promise<void> {
  for (let i = 0; i < 5; i++) {
    h.state.rss = IDLE + (i + 1) * 62 * MiB;
    assert.equal(await h.tick(400, 300), false, 'no release during the storm');
  }
}

describe('memory release policy', () => {
  it('releases once after a storm has subsided for the quiet period: GC, then trim; counts the bytes', async () => {
    const h = harness();
    await h.tick();
    await storm(h);
    const peak = h.state.rss;
    // Quiet for 8 s (the last storm check counts as busy): not yet.
    for (let i = 0; i < 4; i++) assert.equal(await h.tick(3, 1), false, `quiet check ${i}`);
    assert.equal(await h.tick(3, 1), true, '10 s after the storm');
    assert.deepEqual([h.state.gcs, h.state.trims], [1, 1]);
    assert.deepEqual(h.state.recorded, [peak - (IDLE + 10 * MiB)]);
    assert.ok(h.logs.some((l) => l.msg === 'Released memory after a connection storm'));
    // 10 s later one more trim (what V8 freed after the first); then nothing more, ever, while quiet.
    h.state.rss += 15 * MiB;
    for (let i = 0; i < 4; i++) assert.equal(await h.tick(), false, `before the follow-up ${i}`);
    assert.equal(await h.tick(), true, 'the follow-up trim');
    assert.deepEqual([h.state.gcs, h.state.trims], [1, 2], 'no GC in the follow-up');
    assert.deepEqual(h.state.followUps, [15 * MiB]);
    for (let i = 0; i < 60; i++) assert.equal(await h.tick(), false);
    assert.deepEqual([h.state.gcs, h.state.trims, h.state.recorded.length], [1, 2, 1]);
  });

  it('a new storm before the follow-up trim cancels it (the next release covers it)', async () => {
    const h = harness();
    await h.tick();
    await storm(h);
    for (let i = 0; i < 5; i++) await h.tick();
    assert.equal(h.state.trims, 1);
    await h.tick(500, 100);
    for (let i = 0; i < 10; i++) assert.equal(await h.tick(), false, `quiet again ${i}`);
    assert.equal(h.state.trims, 1);
  });

  it('never during a storm: a long storm keeps it waiting, however high RSS is', async () => {
    const h = harness();
    await h.tick();
    h.state.rss = 600 * MiB;
    for (let i = 0; i < 100; i++) assert.equal(await h.tick(64), false, `storm check ${i}`); // 64 new connections per 2 s
    for (let i = 0; i < 100; i++) assert.equal(await h.tick(0, 64), false, `open check ${i}`); // 64 held open
    assert.equal(h.state.trims, 0);
  });

  it('rising RSS on few connections counts as busy too; a quiet, grown process is released', async () => {
    const h = harness();
    await h.tick();
    for (let i = 0; i < 10; i++) {
      h.state.rss += 8 * MiB;
      assert.equal(await h.tick(1, 1), false, `rising ${i}`);
    }
    for (let i = 0; i < 4; i++) assert.equal(await h.tick(), false);
    assert.equal(await h.tick(), true);
  });

  it('no release when RSS grew less than growthBytes above the lowest seen', async () => {
    const h = harness();
    await h.tick();
    h.state.rss = IDLE + 20 * MiB;
    await h.tick(500, 10);
    for (let i = 0; i < 30; i++) assert.equal(await h.tick(), false);
    assert.equal(h.state.loads, 0);
  });

  it('rate limit: a second storm within minGapMs (30 s) of a release is released only when the gap is over', async () => {
    const h = harness();
    await h.tick();
    await storm(h);
    for (let i = 0; i < 5; i++) await h.tick();
    assert.equal(h.state.trims, 1);
    const firstAt = h.clock.now().getTime();
    await storm(h);
    let released = false;
    while (!released && h.clock.now().getTime() - firstAt < 120_000) {
      released = await h.tick();
      if (!released) continue;
      assert.ok(h.clock.now().getTime() - firstAt >= DEFAULT_MEMORY_RELEASE_POLICY.minGapMs, 'not before the gap is over');
    }
    assert.equal(released, true);
    assert.equal(h.state.gcs, 2);
  });

  it('memory that does not come back is not retried after the gap', async () => {
    const h = harness({
      trim: { trim: async () => 0 }, // trims nothing: RSS stays at the peak
    });
    await h.tick();
    await storm(h);
    for (let i = 0; i < 200; i++) await h.tick();
    assert.equal(h.state.gcs, 1, 'one release, then the peak is the new reference');
  });

  it('malloc_trim missing (musl, macOS, koffi not loadable): logged once at debug, GC still runs, no crash', async () => {
    const h = harness({ trim: { unavailable: 'no glibc on darwin' } });
    await h.tick();
    await storm(h);
    for (let i = 0; i < 5; i++) await h.tick();
    h.state.rss = 1000 * MiB; // a second storm, after the rate limit
    await h.tick(500, 100);
    for (let i = 0; i < 40; i++) await h.tick();
    assert.equal(h.state.gcs, 2);
    assert.equal(h.state.loads, 1, 'loaded once');
    const notes = h.logs.filter((l) => /malloc_trim is not available/.test(l.msg));
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.level, 20, 'debug');
  });

  it('nothing at all to run (no malloc_trim, GC turned off): no release, nothing recorded', async () => {
    const h = harness({ trim: { unavailable: 'no glibc' }, collectGarbage: false });
    await h.tick();
    await storm(h);
    for (let i = 0; i < 10; i++) assert.equal(await h.tick(), false);
    assert.deepEqual(h.state.recorded, []);
  });

  it('a failing trim is logged as a warning and does not stop later releases', async () => {
    let calls = 0;
    const h = harness({ trim: { trim: async () => { calls++; throw new Error('boom'); } } });
    await h.tick();
    await storm(h);
    for (let i = 0; i < 5; i++) await h.tick();
    assert.equal(calls, 1);
    assert.ok(h.logs.some((l) => l.level === 40 && /failed/.test(l.msg)));
    h.state.rss += 100 * MiB;
    await h.tick(500, 100);
    for (let i = 0; i < 40 && calls < 2; i++) await h.tick();
    assert.equal(calls, 2);
  });
});

describe('memory release when a storm has drained', () => {
  it('releases once the last connection has closed, without the quiet period; not while one is open', async () => {
    const h = harness();
    await h.tick();
    await storm(h);
    h.state.open = 1;
    assert.equal(h.release.checkDrained(), undefined, 'a connection is still open');
    h.state.open = 0;
    const started = h.release.checkDrained();
    assert.ok(started, 'drained: released at once');
    assert.ok(await started);
    assert.deepEqual([h.state.gcs, h.state.trims], [1, 1]);
    // The periodic checks do not release again (only the follow-up trim, 10 s after this release).
    for (let i = 0; i < 30; i++) await h.tick();
    assert.deepEqual([h.state.gcs, h.state.trims, h.state.recorded.length, h.state.followUps.length], [1, 2, 1, 1]);
  });

  it('storms in waves are each released: a storm\'s worth of connections since the last release is what counts, not minGapMs', async () => {
    const h = harness();
    await h.tick();
    for (let wave = 1; wave <= 3; wave++) {
      h.state.admitted += 2_000;
      h.state.rss = 400 * MiB;
      assert.ok(await h.release.checkDrained(), `wave ${wave} released`);
      h.clock.advance(1_000); // the next wave 1 s later: well within minGapMs
      h.state.admitted += DEFAULT_MEMORY_RELEASE_POLICY.stormConnections - 1;
      h.state.rss = 400 * MiB;
      assert.equal(h.release.checkDrained(), undefined, `wave ${wave}: fewer than a storm's connections since: not again`);
    }
    assert.equal(h.state.gcs, 3);
  });

  it('no release when RSS grew less than growthBytes', () => {
    const h = harness();
    h.state.admitted = 2_000;
    h.state.rss = IDLE + 20 * MiB;
    assert.equal(h.release.checkDrained(), undefined);
    assert.equal(h.state.loads, 0);
  });

  it('start() listens for drains and releases drainedDelayMs after one; stop() stops listening', async () => {
    const h = harness({ policy: { drainedDelayMs: 0 } });
    h.release.start();
    try {
      assert.equal(h.state.drainListeners.size, 1);
      h.state.admitted = 2_000;
      h.state.rss = 400 * MiB;
      const recorded = h.nextRecord();
      for (const listener of h.state.drainListeners) listener();
      await recorded;
      assert.deepEqual([h.state.gcs, h.state.trims], [1, 1]);
    } finally {
      h.release.stop();
    }
    assert.equal(h.state.drainListeners.size, 0, 'unsubscribed');
  });

  it('releaseWhenDrained false: start() does not listen for drains', () => {
    const h = harness({ policy: { releaseWhenDrained: false } });
    h.release.start();
    h.release.stop();
    assert.equal(h.state.drainListeners.size, 0);
  });
});

describe('malloc_trim adapter', () => {
  it('calls glibc malloc_trim(0) on a pool thread on this Linux: 0 or 1', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
    const loaded = loadMallocTrim();
    assert.ok('trim' in loaded, 'unavailable' in loaded ? loaded.unavailable : '');
    const result = await loaded.trim();
    assert.ok(result === 0 || result === 1, `malloc_trim returned ${result}`);
  });

  it('koffi that cannot load says why instead of throwing', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
    const loaded = loadMallocTrim(() => {
      throw new Error("Cannot find module 'koffi'");
    });
    assert.ok('unavailable' in loaded);
    assert.match(loaded.unavailable, /cannot load malloc_trim through koffi: Cannot find module 'koffi'/);
  });
});

describe('memory release in a running sentry', () => {
  it('releases as soon as a storm of connections has closed (the drain signal from the gRPC listener)', async () => {
    const a = await buildBundle({ now: new Date() });
    // The periodic path never fires here (hour-long interval and quiet period): only the drain can release.
    const t = await startTestSentry({
      texts: a.texts,
      logLevel: 'info',
      options: {
        memoryReleasePolicy: { intervalMs: 3_600_000, quietMs: 3_600_000, stormConnections: 5, growthBytes: 0, drainedDelayMs: 0, followUpMs: 0 },
      },
    });
    try {
      const released = (): LogRecord | undefined => t.logs.find((l) => l.msg === 'Released memory after a connection storm');
      // A finished TLS handshake means the server accepted (and so admitted) the connection.
      const sockets = await Promise.all(Array.from({ length: 5 }, () => new Promise<TLSSocket>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: t.sentry.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => resolve(socket));
        socket.once('error', reject);
      })));
      assert.equal(released(), undefined, 'nothing while they are open');
      for (const socket of sockets) socket.destroy();
      await waitUntil('a memory release to be logged', () => released(), 60_000);
      assert.equal((await t.sentry.metrics.memoryReleases.get()).values[0]?.value, 1);
    } finally {
      await t.close();
    }
  });

  it('runs GC in the main and signing threads and malloc_trim, counts it in the metrics and logs it', async () => {
    const a = await buildBundle({ now: new Date() });
    // Thresholds at zero: the first check releases (the policy itself is tested above).
    const t = await startTestSentry({
      texts: a.texts,
      logLevel: 'info',
      options: { signThreads: 1, memoryReleasePolicy: { intervalMs: 20, quietMs: 0, growthBytes: 0, minGapMs: 3_600_000, followUpMs: 0 } },
    });
    try {
      const released = (): LogRecord | undefined => t.logs.find((l) => l.msg === 'Released memory after a connection storm');
      // The bound is for a hang (a check runs every 20 ms; 500 polls were ~10 s, short under load).
      await waitUntil('a memory release to be logged', () => released(), 120_000, 20).catch(() => undefined);
      const line = released() as (LogRecord & { rssBeforeMiB?: number; rssAfterMiB?: number; gcPauseMs?: number }) | undefined;
      assert.ok(line, 'a release was logged');
      assert.equal(typeof line.rssBeforeMiB, 'number');
      assert.equal(typeof line.gcPauseMs, 'number');
      assert.equal((await t.sentry.metrics.memoryReleases.get()).values[0]?.value, 1);
      assert.ok(!t.logs.some((l) => /malloc_trim is not available/.test(l.msg)), 'malloc_trim loaded on this Linux');
    } finally {
      await t.close();
    }
  });
});
