/**
 * Hot reload of the trust bundle (spec 4.1, improved). Watches the credential directories; every
 * event counts `dapr_sentry_issuercert_changed_total`; events within the debounce window (2 s) are
 * one reload, logged `Issuer credentials changed; reloading` at warn. The store is re-read and
 * checked; a bundle that fails (absent, partial, unreadable, any error finding) is refused: the old
 * CA keeps serving, an error is logged and `warden_sentry_reload_failures_total` counts it. A good
 * bundle is swapped in atomically and `onReloaded` re-issues the serving certificate. Nothing is
 * torn down: the gRPC, health and metrics listeners stay open throughout.
 *
 * The watches survive the directory being deleted and recreated, swapped with `mv`, or re-pointed
 * as a symlink (reload-watch.ts), and a periodic content check (every 30 s by default) compares
 * what the store holds with what was last read: a change no event reported reloads all the same.
 */
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { checkBundleTexts, type CheckPolicy, type CheckedBundle } from './bundle-check.js';
import type { CaStateHolder } from './ca-state.js';
import type { SentryMetrics } from './metrics.js';
import type { BundleStore } from './startup-bundle.js';
import { RobustDirWatch } from './reload-watch.js';
import { DATA_LINK_NAME } from '../stores/fs-layout.js';

export interface ReloaderDeps {
  store: BundleStore;
  where: string;
  caState: CaStateHolder;
  clock: Clock;
  logger: Logger;
  metrics: SentryMetrics;
  policy: CheckPolicy;
  debounceMs: number;
  /** How often the content check runs (default 30 s; 0 turns it off). File-system mode only. */
  pollIntervalMs?: number | undefined;
  /**
   * Change notifications instead of file-system watches (Kubernetes mode: API watches). Called by
   * `start()` with the event callback; returns what stops them.
   */
  subscribe?: ((onEvent: () => void) => () => void) | undefined;
  /** Builds and installs the new CA state; called only for a bundle that passed the checks. */
  install(checked: CheckedBundle, version: unknown): Promise<void>;
}

export type ReloadOutcome = 'reloaded' | 'unchanged' | 'refused';

export class BundleReloader {
  private watchers: RobustDirWatch[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  /** What the last read found (see `fingerprintOf`), so the content check sees only real changes. */
  private lastSeen: string | undefined;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReloadOutcome> | undefined;
  private rerun = false;
  private stopped = false;

  constructor(private readonly deps: ReloaderDeps) {}

  /** Starts watching the directories that hold the store's files (or `subscribe`s). */
  start(): void {
    if (this.deps.subscribe !== undefined) {
      this.unsubscribe = this.deps.subscribe(() => this.onEvent());
      return;
    }
    const dirs = watchDirectories(this.deps.store.watchPaths());
    this.deps.logger.info({ dirs }, `Starting watch on filesystem directories: [${dirs.join(' ')}]`);
    const files = this.deps.store.watchFiles?.();
    for (const dir of dirs) {
      const isChange = files === undefined ? (name: string | null) => !isStoreBookkeeping(name) : credentialEventFilter(dir, files);
      const watcher = new RobustDirWatch({
        dir,
        logger: this.deps.logger,
        onEvent: (name) => {
          if (isChange(name)) this.onEvent();
        },
      });
      watcher.start();
      this.watchers.push(watcher);
    }
    this.lastSeen ??= fingerprintOf({ state: 'complete', version: this.deps.caState.current.version });
    const every = this.deps.pollIntervalMs ?? 30_000;
    if (every > 0) {
      this.pollTimer = setInterval(() => void this.pollOnce(), every);
      this.pollTimer.unref();
    }
  }

  /**
   * The safety net: re-establishes watches whose directory was replaced, and reloads when the
   * store's content differs from what was last read although no event said so.
   */
  async pollOnce(): Promise<void> {
    if (this.stopped) return;
    for (const watcher of this.watchers) watcher.refresh();
    let seen: string;
    try {
      seen = fingerprintOf(await this.deps.store.read());
    } catch (err) {
      seen = fingerprintOf(err);
    }
    if (seen === this.lastSeen || this.stopped) return;
    this.deps.logger.info('The trust bundle changed without a file event; reloading');
    this.onEvent();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Waits for a reload in progress, if any (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private onEvent(): void {
    if (this.stopped) return;
    this.deps.metrics.issuerCertChanged.inc();
    this.deps.logger.debug('Received issuer credentials changed signal');
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.trigger();
    }, this.deps.debounceMs);
    this.timer.unref();
  }

  private async trigger(): Promise<void> {
    if (this.running !== undefined) {
      // A reload is in progress: run once more afterwards so no change is missed.
      this.rerun = true;
      return;
    }
    this.deps.logger.warn('Issuer credentials changed; reloading');
    this.running = this.reloadOnce();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    if (this.rerun && !this.stopped) {
      this.rerun = false;
      await this.trigger();
    }
  }

  /** Re-reads, checks and, when good and changed, installs the bundle. Never throws. */
  async reloadOnce(): Promise<ReloadOutcome> {
    try {
      const read = await this.deps.store.read().catch((err: unknown) => {
        this.lastSeen = fingerprintOf(err);
        throw err;
      });
      this.lastSeen = fingerprintOf(read);
      if (read.state !== 'complete') {
        const what = read.state === 'absent'
          ? 'none of ca.crt, issuer.crt, issuer.key is present'
          : `found ${read.present.join(', ')} but ${read.missing.join(', ')} missing`;
        return this.refuse(`the trust bundle in ${this.deps.where} is incomplete (${what})`, 'ERR_BUNDLE_PARTIAL');
      }
      if (read.version === this.deps.caState.current.version) {
        this.deps.logger.info('Issuer credentials unchanged; keeping the current CA');
        return 'unchanged';
      }
      const checked = checkBundleTexts(read.texts, this.deps.clock.now(), this.deps.policy, this.deps.where);
      await this.deps.install(checked, read.version);
      this.deps.logger.info(
        { issuerNotAfter: checked.bundle.issuer.notAfter.toISOString(), anchors: checked.bundle.anchors.length },
        'Trust bundle reloaded; signing with the new issuer',
      );
      return 'reloaded';
    } catch (err) {
      const code = (err as { code?: string }).code;
      return this.refuse((err as Error).message, code);
    }
  }

  private refuse(message: string, code: string | undefined): ReloadOutcome {
    this.deps.metrics.reloadFailures.inc();
    this.deps.logger.error({ code }, `Refusing to reload the trust bundle; still signing with the previous CA: ${message}`);
    return 'refused';
  }
}

/** A short summary of a read (or of the error reading), equal for equal store contents. */
function fingerprintOf(read: { state: string; version?: unknown; present?: readonly string[] } | unknown): string {
  if (typeof read === 'object' && read !== null && 'state' in read) {
    const r = read as { state: string; version?: unknown; present?: readonly string[] };
    if (r.state === 'complete') return `complete:${String(r.version)}`;
    if (r.state === 'partial') return `partial:${(r.present ?? []).join(',')}`;
    return r.state;
  }
  const err = read as { code?: string; message?: string };
  return `error:${err.code ?? ''}:${err.message ?? String(read)}`;
}

/**
 * The fs store's own lock, transaction records, staged files, version directories (`..warden-*`)
 * and backups, and the rotation journal (`.rotation/`), live next to the bundle; their events are
 * not credential changes (the final rename onto the bundle file, or of `..data`, still is one).
 */
export function isStoreBookkeeping(name: string | Buffer | null): boolean {
  if (name === null) return false;
  const file = name.toString();
  return file.startsWith('.warden-') || file.startsWith('..warden-') || file.endsWith('.warden-new') || file === '.backup' || file === '.rotation';
}

/**
 * Which event names in `dir` are credential changes when the bundle is `files`: an unnamed event
 * (the watch cannot tell), the directory's own entry (replaced, moved, re-pointed), the kubelet's
 * and the versioned layout's `..data` link, and the bundle files of this directory. Everything
 * else (scratch files a tool keeps next to the bundle, the `..<timestamp>` directories and
 * `..data_tmp` link that precede the `..data` rename, Warden's own bookkeeping) is not: it
 * would make the sentry re-read an unchanged bundle every debounce window.
 */
export function credentialEventFilter(dir: string, files: readonly string[]): (name: string | null) => boolean {
  const names = new Set(files.filter((f) => dirname(f) === dir).map((f) => basename(f)));
  names.add(basename(dir));
  names.add(DATA_LINK_NAME);
  return (name) => name === null || names.has(name);
}

/** The directories to watch: each path itself if it is a directory, else the directory holding it. */
export function watchDirectories(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const path of paths) {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      isDir = false;
    }
    dirs.add(isDir ? path : dirname(path));
  }
  return [...dirs];
}
