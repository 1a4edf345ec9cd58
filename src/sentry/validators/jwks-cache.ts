/**
 * The JWKS validator's key cache (Dapr's `dapr/kit` `jwkscache`): the current key set, whether it
 * is ready (the first load succeeded), and how it stays current:
 * - URL: re-fetched every `minRefreshInterval`, or the source's Cache-Control max-age when longer
 *   (as jwx's cache does); and, beyond Dapr, at once when a token names a `kid` the set lacks,
 *   at most once per `minRefreshInterval` (so a key rotated in at the source works before the
 *   next scheduled fetch, and unknown kids cannot make the sentry hammer the source);
 * - file: re-read when its directory changes (and, like a URL, on an unknown kid);
 * - inline: fixed.
 * A failed refresh keeps the keys it had (and logs a warning), as Dapr does.
 *
 * Warden differs from Dapr on a failed first load: Dapr's Sentry exits ("failed to init cache");
 * Warden stays up, not ready (health 503, `jwks validator not ready` to callers), and retries with
 * a doubling delay (`retryMs` up to `maxRetryMs`), so a source that comes up late needs no restart.
 */
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { LOG_SCOPE } from '../log-scopes.js';
import { RobustDirWatch } from '../reload-watch.js';
import { fetchJwks, locateJwks, readJwksFile, type FetchedJwks, type JwkSet, type JwksLocation } from './jwks-source.js';

export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 10 * 60 * 1000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30 * 1000;

export interface JwksCacheOptions {
  source: string;
  caCertificate?: string | undefined;
  /** Used only above 1 s, as Dapr does (default 10 min). */
  minRefreshIntervalMs?: number | undefined;
  /** Used only above 1 ms, as Dapr does (default 30 s). */
  requestTimeoutMs?: number | undefined;
  clock: Clock;
  logger: Logger;
  /** First wait after a failed first load; doubles up to `maxRetryMs` (defaults 1 s, 30 s). */
  retryMs?: number | undefined;
  maxRetryMs?: number | undefined;
}

/** Longest wait between two scheduled fetches, whatever max-age the source sends. */
export const MAX_REFRESH_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * When to fetch a URL source again: its max-age, but not sooner than `minRefreshInterval` and not
 * later than a day (a timer over 2^31 ms would fire at once: a hostile max-age must not make the
 * sentry fetch in a loop).
 */
export function refreshIntervalMs(minRefreshIntervalMs: number, maxAgeMs: number | undefined): number {
  return Math.min(MAX_REFRESH_INTERVAL_MS, Math.max(minRefreshIntervalMs, maxAgeMs ?? 0));
}

export class JwksCache {
  readonly minRefreshIntervalMs: number;
  readonly requestTimeoutMs: number;
  private location: JwksLocation | undefined;
  private set: JwkSet | undefined;
  private lastLoadAt = -Infinity;
  private loading: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watch: RobustDirWatch | undefined;
  private stopped = false;
  private retryMs: number;
  private readonly listeners = new Set<() => void>();
  private lastError: string | undefined;
  private again = false;

  constructor(private readonly options: JwksCacheOptions) {
    const min = options.minRefreshIntervalMs ?? 0;
    this.minRefreshIntervalMs = min > 1000 ? min : DEFAULT_MIN_REFRESH_INTERVAL_MS;
    const timeout = options.requestTimeoutMs ?? 0;
    this.requestTimeoutMs = timeout > 1 ? timeout : DEFAULT_REQUEST_TIMEOUT_MS;
    this.retryMs = options.retryMs ?? 1000;
  }

  /** True once a key set has been loaded. */
  get ready(): boolean {
    return this.set !== undefined;
  }

  /** Why the first load has not succeeded yet (for health and logs). */
  get notReadyReason(): string | undefined {
    if (this.ready) return undefined;
    return this.lastError === undefined ? 'loading the JWKS' : `the JWKS could not be loaded: ${this.lastError}`;
  }

  /** The current keys; undefined until ready. */
  get keys(): JwkSet | undefined {
    return this.set;
  }

  /** Calls `listener` after every successful load (tests and health wait on it instead of sleeping). */
  onLoad(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the first load (retried until it succeeds) and the refresh or watch. */
  start(): void {
    void this.loadFirst();
  }

  /**
   * Waits for a first load that is in flight (bounded by the request timeout); resolves true when
   * ready. Dapr blocks a request until the cache is ready or the call's deadline passes.
   */
  async whenReady(): Promise<boolean> {
    if (this.ready) return true;
    if (this.loading === undefined) return false;
    return this.loading;
  }

  /**
   * A token named `kid` and the set lacks it: reload now unless the last load is younger than
   * `minRefreshInterval`. Resolves true when a reload ran and succeeded.
   */
  async refreshForUnknownKid(): Promise<boolean> {
    if (this.location === undefined || this.location.kind === 'inline') return false;
    if (this.loading !== undefined) return this.loading;
    if (this.options.clock.now().getTime() - this.lastLoadAt < this.minRefreshIntervalMs) return false;
    return this.reload('unknown kid');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.watch?.close();
    this.watch = undefined;
  }

  private async loadFirst(): Promise<void> {
    while (!this.stopped && !this.ready) {
      const ok = await this.reload('initial');
      if (ok || this.stopped) break;
      await new Promise<void>((resolve) => {
        this.timer = setTimeout(resolve, this.retryMs);
        this.timer.unref();
      });
      this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 30_000);
    }
    if (this.stopped || this.location === undefined) return;
    if (this.location.kind === 'file') this.watchFile(this.location.path);
  }

  /**
   * One load at a time; never throws. A request during a load runs once more after it, since the
   * load in flight may have read the source before the change that prompted the request.
   */
  private reload(why: string): Promise<boolean> {
    if (this.loading !== undefined) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.loadOnce(why).finally(() => {
      this.loading = undefined;
      if (this.again && !this.stopped && this.ready) {
        this.again = false;
        void this.reload(why);
      }
    });
    return this.loading;
  }

  private async loadOnce(why: string): Promise<boolean> {
    const { logger, clock } = this.options;
    try {
      this.location ??= await locateJwks(this.options.source);
      const fetched = await this.read(this.location);
      if (this.stopped) return false;
      const first = this.set === undefined;
      this.set = fetched.set;
      this.lastLoadAt = clock.now().getTime();
      this.lastError = undefined;
      logger.debug({ keys: fetched.set.keys.length, why }, first ? 'Loaded the JWKS' : 'Reloaded the JWKS');
      if (this.location.kind === 'url') this.scheduleRefresh(fetched.maxAgeMs);
      for (const listener of this.listeners) listener();
      return true;
    } catch (err) {
      this.lastError = (err as Error).message;
      if (this.set === undefined) {
        logger.error({ scope: LOG_SCOPE.jwks, code: 'ERR_JWKS_UNAVAILABLE', err: this.lastError, retryMs: this.retryMs },
          `JWKS validator not ready: ${this.lastError}; retrying in ${this.retryMs} ms`);
      } else {
        // Dapr's (jwkscache) warning; the keys already loaded stay in use.
        logger.warn({ scope: LOG_SCOPE.jwks, code: 'ERR_JWKS_UNAVAILABLE', why }, `Error while refreshing JWKS cache: ${this.lastError}`);
        if (this.location?.kind === 'url') this.scheduleRefresh(undefined);
      }
      return false;
    }
  }

  private async read(location: JwksLocation): Promise<FetchedJwks> {
    switch (location.kind) {
      case 'inline':
        return { set: location.set };
      case 'file':
        return { set: await readJwksFile(location.path) };
      case 'url':
        if (location.insecure && this.set === undefined && this.lastError === undefined) {
          this.options.logger.warn({ scope: LOG_SCOPE.jwks }, 'Loading JWK from an HTTP endpoint without TLS: this is not recommended on production environments.');
        }
        return fetchJwks(location.url, { caCertificate: this.options.caCertificate, timeoutMs: this.requestTimeoutMs });
    }
  }

  private scheduleRefresh(maxAgeMs: number | undefined): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('scheduled'), refreshIntervalMs(this.minRefreshIntervalMs, maxAgeMs));
    this.timer.unref();
  }

  private watchFile(path: string): void {
    this.watch = new RobustDirWatch({
      dir: dirname(path),
      logger: this.options.logger,
      onEvent: () => void this.reload('file changed'),
    });
    this.watch.start();
  }
}
