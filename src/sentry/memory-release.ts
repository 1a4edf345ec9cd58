/**
 * Giving memory back after a storm (issue 12). A storm of new connections leaves the process with
 * hundreds of MB of freed TLS and HTTP/2 state that glibc keeps in its heaps and V8 keeps in heap
 * pages; Node gives neither back on its own. Once the storm has subsided, this runs one V8 garbage
 * collection (optional) and then glibc's `malloc_trim(0)` on a pool thread (native/malloc-trim.ts).
 *
 * "Subsided": for `quietMs` no check saw a storm, that is `stormConnections` or more connections
 * admitted since the previous check or open at once, or RSS rising by `risingBytes` or more. A
 * release happens only when RSS stands `growthBytes` above its reference (the lowest RSS seen since
 * start or the last release, or what that release left), and at most once per `minGapMs`. So an
 * idle or steadily serving sentry never pays for it, and memory that does not come back is not
 * retried every 30 s. `followUpMs` after a release, if still quiet, one more trim (no GC) returns
 * what V8 freed after the first trim (its concurrent sweeper frees ArrayBuffers and other native
 * memory of the collected objects later).
 *
 * Drained: when the last open connection closes and `stormConnections` or more were admitted since
 * the previous release, a release runs `drainedDelayMs` later (if no connection has opened since and
 * RSS has grown by `growthBytes`) without waiting for the quiet period or `minGapMs`. Storms that come
 * in waves (a rolling restart, nodes coming back one after another) would otherwise each start from
 * what the last one left: measured with three storms 1 s apart, the peak rose 316 → 340 → 388 MiB
 * without it; with it each storm peaked at 232-324 MiB (5 runs; bench/grpc.ts). The pause costs
 * nobody a wait then, since nobody is connected.
 *
 * Driven by `check()` and `checkDrained()`: `start()` calls the first every `intervalMs` and the
 * second after each drain; tests call them with a FixedClock.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { MallocTrimLoad } from './native/malloc-trim.js';

const MiB = 1024 * 1024;

export interface MemoryReleasePolicy {
  intervalMs: number;
  stormConnections: number;
  risingBytes: number;
  quietMs: number;
  growthBytes: number;
  minGapMs: number;
  /** A second trim this long after a release (0: none). */
  followUpMs: number;
  /** Release right after a storm's last connection closed (`checkDrained`), not only after the quiet period. */
  releaseWhenDrained: boolean;
  /** How long after the last connection closed the drained release looks (a new wave may be arriving). */
  drainedDelayMs: number;
  /** Run a full V8 garbage collection before the trim (frees V8 heap pages and native memory held by dead JS objects). */
  collectGarbage: boolean;
}

export const DEFAULT_MEMORY_RELEASE_POLICY: Readonly<MemoryReleasePolicy> = Object.freeze({
  intervalMs: 2_000,
  stormConnections: 64,
  risingBytes: 4 * MiB,
  quietMs: 10_000,
  growthBytes: 32 * MiB,
  // Short enough that a storm right after a release (the end of a load peak) is still given back within a minute.
  minGapMs: 30_000,
  followUpMs: 10_000,
  releaseWhenDrained: true,
  drainedDelayMs: 250,
  collectGarbage: true,
});

export interface MemoryReleaseDeps {
  clock: Clock;
  logger: Logger;
  /** Counts releases and the RSS bytes each gave back (`followUp`: a release's second trim, not a release of its own). */
  record(release: { bytes: number; followUp: boolean }): void;
  /** Resident set size now, in bytes. */
  rss(): number;
  /** Connections admitted since start (monotonic) and open now. */
  connections(): { admitted: number; open: number };
  /** Calls `listener` each time the last open connection closes; returns the unsubscribe function. */
  onAllClosed?: ((listener: () => void) => () => void) | undefined;
  /** glibc's malloc_trim, or why there is none; loaded at the first release. */
  loadTrim(): MallocTrimLoad;
  /** Full V8 garbage collections; resolves with how long the event loop was held (ms). */
  collectGarbage?: (() => Promise<number>) | undefined;
  policy?: Partial<MemoryReleasePolicy> | undefined;
}

export interface ReleaseResult {
  beforeBytes: number;
  afterBytes: number;
  /** The collections, from start to end (the signing threads' included). */
  gcMs: number;
  /** How long the collection held the event loop. */
  gcPauseMs: number;
  trimMs: number;
  trimmed: boolean;
}

export class MemoryRelease {
  private readonly policy: MemoryReleasePolicy;
  private timer: NodeJS.Timeout | undefined;
  private lastAdmitted: number | undefined;
  private lastRss: number | undefined;
  private reference: number | undefined;
  private lastBusyAt: number;
  private lastReleaseAt = Number.NEGATIVE_INFINITY;
  /** `admitted` at the last release: a drained release needs a storm's worth of connections since. */
  private admittedAtRelease = 0;
  private drainedTimer: NodeJS.Timeout | undefined;
  private unsubscribeDrained: (() => void) | undefined;
  private followUpAt: number | undefined;
  private releasing: Promise<ReleaseResult | undefined> | undefined;
  private trim: MallocTrimLoad | undefined;

  constructor(private readonly deps: MemoryReleaseDeps) {
    this.policy = { ...DEFAULT_MEMORY_RELEASE_POLICY, ...deps.policy };
    this.lastBusyAt = deps.clock.now().getTime();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.policy.intervalMs);
    this.timer.unref();
    if (this.policy.releaseWhenDrained) this.unsubscribeDrained = this.deps.onAllClosed?.(() => this.drained());
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribeDrained?.();
    this.unsubscribeDrained = undefined;
    if (this.drainedTimer !== undefined) clearTimeout(this.drainedTimer);
    this.drainedTimer = undefined;
  }

  private drained(): void {
    if (this.drainedTimer !== undefined) return;
    this.drainedTimer = setTimeout(() => {
      this.drainedTimer = undefined;
      void this.checkDrained();
    }, this.policy.drainedDelayMs);
    this.drainedTimer.unref();
  }

  /**
   * The look `drainedDelayMs` after the last connection closed: releases when none is open, a storm's
   * worth of connections came since the last release, and RSS grew. Returns the release, if one started.
   */
  checkDrained(): Promise<ReleaseResult | undefined> | undefined {
    if (this.releasing !== undefined) return undefined;
    const { admitted, open } = this.deps.connections();
    if (open > 0 || admitted - this.admittedAtRelease < this.policy.stormConnections) return undefined;
    const rss = this.deps.rss();
    this.reference = Math.min(this.reference ?? rss, rss);
    if (rss - this.reference < this.policy.growthBytes) return undefined;
    return this.startRelease(rss, admitted);
  }

  /** One look at connections and RSS; starts a release when a storm has subsided. Returns it, if one started. */
  check(): Promise<ReleaseResult | undefined> | undefined {
    const now = this.deps.clock.now().getTime();
    const rss = this.deps.rss();
    const { admitted, open } = this.deps.connections();
    const newConnections = this.lastAdmitted === undefined ? 0 : admitted - this.lastAdmitted;
    const rising = this.lastRss !== undefined && rss - this.lastRss >= this.policy.risingBytes;
    this.lastAdmitted = admitted;
    this.lastRss = rss;
    if (newConnections >= this.policy.stormConnections || open >= this.policy.stormConnections || rising) this.lastBusyAt = now;
    this.reference = Math.min(this.reference ?? rss, rss);
    if (this.releasing !== undefined) return undefined;
    if (this.followUpAt !== undefined && this.lastBusyAt > this.lastReleaseAt) this.followUpAt = undefined;
    if (now - this.lastBusyAt < this.policy.quietMs) return undefined;
    if (this.followUpAt !== undefined && now >= this.followUpAt) {
      this.followUpAt = undefined;
      return this.track(this.followUp(rss));
    }
    if (rss - this.reference < this.policy.growthBytes) return undefined;
    if (now - this.lastReleaseAt < this.policy.minGapMs) return undefined;
    return this.startRelease(rss, admitted);
  }

  private startRelease(rss: number, admitted: number): Promise<ReleaseResult | undefined> {
    this.lastReleaseAt = this.deps.clock.now().getTime();
    this.admittedAtRelease = admitted;
    return this.track(this.release(rss));
  }

  private track(work: Promise<ReleaseResult | undefined>): Promise<ReleaseResult | undefined> {
    const done = work.finally(() => (this.releasing = undefined));
    this.releasing = done;
    return done;
  }

  /** Waits for a release in progress, if any (shutdown, tests). */
  async idle(): Promise<void> {
    await this.releasing;
  }

  private async release(beforeBytes: number): Promise<ReleaseResult | undefined> {
    if (this.trim === undefined) {
      this.trim = this.deps.loadTrim();
      if ('unavailable' in this.trim) this.deps.logger.debug({ reason: this.trim.unavailable }, 'malloc_trim is not available: memory freed by C code stays with the process');
    }
    const trim = 'trim' in this.trim ? this.trim.trim : undefined;
    const gc = this.policy.collectGarbage ? this.deps.collectGarbage : undefined;
    if (trim === undefined && gc === undefined) return undefined;
    try {
      const t0 = performance.now();
      const gcPauseMs = gc === undefined ? 0 : await gc();
      const t1 = performance.now();
      const trimmed = trim === undefined ? false : (await trim()) === 1;
      const t2 = performance.now();
      const afterBytes = this.deps.rss();
      const result: ReleaseResult = { beforeBytes, afterBytes, gcMs: t1 - t0, gcPauseMs, trimMs: t2 - t1, trimmed };
      this.reference = afterBytes;
      if (trim !== undefined && this.policy.followUpMs > 0) this.followUpAt = this.deps.clock.now().getTime() + this.policy.followUpMs;
      this.deps.record({ bytes: Math.max(0, beforeBytes - afterBytes), followUp: false });
      this.deps.logger.info(
        { rssBeforeMiB: Math.round(beforeBytes / MiB), rssAfterMiB: Math.round(afterBytes / MiB), gcMs: Math.round(result.gcMs), gcPauseMs: Math.round(gcPauseMs), trimMs: Math.round(result.trimMs) },
        'Released memory after a connection storm',
      );
      return result;
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Releasing memory after a connection storm failed');
      return undefined;
    }
  }

  /** The second trim of a release (the trim is known to be there). */
  private async followUp(beforeBytes: number): Promise<ReleaseResult | undefined> {
    const trim = this.trim !== undefined && 'trim' in this.trim ? this.trim.trim : undefined;
    if (trim === undefined) return undefined;
    try {
      const t0 = performance.now();
      const trimmed = (await trim()) === 1;
      const afterBytes = this.deps.rss();
      const result: ReleaseResult = { beforeBytes, afterBytes, gcMs: 0, gcPauseMs: 0, trimMs: performance.now() - t0, trimmed };
      this.reference = Math.min(this.reference ?? afterBytes, afterBytes);
      this.deps.record({ bytes: Math.max(0, beforeBytes - afterBytes), followUp: true });
      this.deps.logger.debug({ rssBeforeMiB: Math.round(beforeBytes / MiB), rssAfterMiB: Math.round(afterBytes / MiB), trimMs: Math.round(result.trimMs) }, 'Released memory freed since the last release');
      return result;
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Releasing memory after a connection storm failed');
      return undefined;
    }
  }
}
