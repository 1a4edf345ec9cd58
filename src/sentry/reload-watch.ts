/**
 * Watching a credentials directory so that no change is lost when the directory itself is
 * replaced. A plain fs.watch(dir) follows the inode it was given: after `rm -rf DIR` and a fresh
 * write, a `mv` swap of the whole directory, or a re-pointed symlink (`ln -sfn`), it watches a
 * directory nobody uses any more and reports nothing, forever. So each directory is watched
 * together with its parent (which sees the directory's own entry being removed, created, renamed
 * or re-pointed), and the directory watch is re-established whenever that entry changes or the
 * path resolves to another inode. The reloader's periodic content check (reload.ts) is the
 * safety net for what no watch can see (a file system without inotify, a link target elsewhere).
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

export interface RobustDirWatchOptions {
  /** The directory to watch (may be a symlink; may be missing for now). */
  dir: string;
  /** Called for every event that may be a credential change (the caller filters bookkeeping names). */
  onEvent(name: string | null): void;
  logger: Logger;
  /** Called whenever a watch on the directory itself has been (re-)established (tests, debug). */
  onWatching?: (() => void) | undefined;
}

export class RobustDirWatch {
  private dirWatcher: FSWatcher | undefined;
  private parentWatcher: FSWatcher | undefined;
  private dirIdentity: string | undefined;
  private parentIdentity: string | undefined;
  private closed = false;

  constructor(private readonly opts: RobustDirWatchOptions) {}

  start(): void {
    this.refresh(true);
  }

  /**
   * Re-establishes the watches whose path now names another directory (or that are missing);
   * `force` re-establishes the directory watch in any case.
   */
  refresh(force = false): void {
    if (this.closed) return;
    const parent = dirname(this.opts.dir);
    const parentId = identityOf(parent);
    if (parentId !== this.parentIdentity || this.parentWatcher === undefined) {
      this.parentWatcher?.close();
      this.parentWatcher = parentId === undefined ? undefined : this.watchPath(parent, (name) => this.onParentEvent(name));
      this.parentIdentity = this.parentWatcher === undefined ? undefined : parentId;
    }
    const dirId = identityOf(this.opts.dir);
    if (force || dirId !== this.dirIdentity || this.dirWatcher === undefined) {
      this.dirWatcher?.close();
      this.dirWatcher = dirId === undefined ? undefined : this.watchPath(this.opts.dir, (name) => this.onDirEvent(name));
      this.dirIdentity = this.dirWatcher === undefined ? undefined : dirId;
      if (this.dirWatcher !== undefined) this.opts.onWatching?.();
    }
  }

  close(): void {
    this.closed = true;
    this.dirWatcher?.close();
    this.parentWatcher?.close();
    this.dirWatcher = undefined;
    this.parentWatcher = undefined;
  }

  private onDirEvent(name: string | null): void {
    // inotify names the directory itself when it is deleted or moved away.
    if (name === basename(this.opts.dir)) this.refresh();
    this.opts.onEvent(name);
  }

  private onParentEvent(name: string | null): void {
    // Only the directory's own entry matters; siblings (~/.dapr/config.yaml …) do not.
    if (name !== null && name !== basename(this.opts.dir)) return;
    // Without a birth time a recreated directory may look the same (a reused inode number):
    // then re-establish the watch in any case.
    this.refresh(this.dirIdentity !== undefined && !this.dirIdentity.endsWith(':with-birth'));
    this.opts.onEvent(name);
  }

  private watchPath(path: string, onName: (name: string | null) => void): FSWatcher | undefined {
    try {
      const watcher = watch(path, { persistent: false }, (_event, name) => onName(name === null ? null : name.toString()));
      watcher.on('error', (err) => {
        // The watch broke: drop it; the next parent event or content check re-establishes it
        // (not right here, so that a watch that keeps failing cannot spin).
        this.opts.logger.warn({ dir: path, err: err.message }, 'Watch on a credentials directory failed; re-establishing it at the next check');
        watcher.close();
        if (this.dirWatcher === watcher) this.dirWatcher = undefined;
        if (this.parentWatcher === watcher) this.parentWatcher = undefined;
      });
      return watcher;
    } catch (err) {
      this.opts.logger.debug({ dir: path, err: (err as Error).message }, 'Cannot watch a credentials directory now; will retry');
      return undefined;
    }
  }
}

/**
 * Which directory `path` resolves to now (undefined when none): device, inode and, where the file
 * system records it, birth time, so that a directory recreated under a reused inode number still
 * differs. Re-watching only on a real change matters: a needless re-watch drops the events
 * queued for the watch it replaces.
 */
function identityOf(path: string): string | undefined {
  try {
    const info = statSync(path, { bigint: true });
    if (!info.isDirectory()) return undefined;
    return info.birthtimeNs > 0n ? `${info.dev}:${info.ino}:${info.birthtimeNs}:with-birth` : `${info.dev}:${info.ino}`;
  } catch {
    return undefined;
  }
}
