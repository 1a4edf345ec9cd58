/**
 * A small read-through cache with a time-to-live, for the KUBERNETES validator's pod and
 * Configuration GETs. Concurrent misses for one key share one load (a restart storm of replicas of
 * one app costs one GET, not N); failed loads are never cached; a cached value the caller no
 * longer `accept`s (e.g. a pod whose UID differs from the token's) is reloaded at once. Size is
 * bounded: past `maxEntries` the oldest entry goes.
 */
import { performance } from 'node:perf_hooks';

export interface TtlCacheOptions {
  ttlMs: number;
  maxEntries?: number;
  /** Monotonic milliseconds (default `performance.now`): a TTL is elapsed time, not wall time. */
  now?: () => number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** The cached value for `key` if fresh and accepted, else the result of `load` (shared by concurrent callers). */
  async get(key: string, load: () => Promise<V>, accept: (value: V) => boolean = () => true): Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.expiresAt > this.now() && accept(hit.value)) return hit.value;
    if (hit !== undefined) this.entries.delete(key);
    const pending = this.loading.get(key);
    if (pending !== undefined) {
      const value = await pending;
      if (accept(value)) return value;
    }
    return this.load(key, load);
  }

  /** Forgets every entry (e.g. when the API server was replaced). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private async load(key: string, load: () => Promise<V>): Promise<V> {
    const promise = load();
    this.loading.set(key, promise);
    try {
      const value = await promise;
      if (this.ttlMs > 0) {
        this.entries.delete(key);
        this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
        if (this.entries.size > this.maxEntries) {
          const oldest = this.entries.keys().next().value;
          if (oldest !== undefined) this.entries.delete(oldest);
        }
      }
      return value;
    } finally {
      if (this.loading.get(key) === promise) this.loading.delete(key);
    }
  }
}
