/**
 * Trust anchors for the identity client: the root certificates a workload trusts, from a static PEM
 * text (daprd's `DAPR_TRUST_ANCHORS`) or from a file that is watched and reloaded (Dapr's kit
 * `crypto/spiffe/trustanchors/file`, spec 3.5). Unlike daprd, every consumer here can use the
 * reloading source, so a root rotation needs no restart (spec 8).
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { certificatesToPem, parseCertificatesPem, type Certificate } from '../core/certificate.js';
import { WardenError } from '../core/errors.js';
import { errorText, silentLogger, type IdentityLogger } from './logger.js';
import { systemTimers, type Timers } from './timers.js';

/** A set of trust anchors, in file order; `pem` is re-encoded without comments. */
export interface TrustAnchors {
  readonly certificates: readonly Certificate[];
  readonly pem: string;
}

/**
 * Where anchors come from. `current()` is the latest good set; `'changed'` fires with the new set
 * whenever it differs from the previous one.
 */
export interface TrustAnchorSource {
  /** The current anchors; `ERR_TRUST_ANCHORS_INVALID` when none have been loaded yet. */
  current(): TrustAnchors;
  /** Resolves with the first anchors loaded; rejects when they cannot be loaded. */
  ready(): Promise<TrustAnchors>;
  on(event: 'changed', listener: (anchors: TrustAnchors) => void): this;
  off(event: 'changed', listener: (anchors: TrustAnchors) => void): this;
  /** Stops watching; `current()` keeps returning the last set. */
  close(): void;
}

/** Parses PEM anchors (all `CERTIFICATE` blocks); `source` names the origin in the error. */
export function parseTrustAnchors(text: string | Buffer, source: string): TrustAnchors {
  let certificates: Certificate[];
  try {
    certificates = parseCertificatesPem(text);
  } catch (error) {
    throw new WardenError(
      'ERR_TRUST_ANCHORS_INVALID',
      `trust anchors from ${source} are not valid: ${errorText(error)}; provide the PEM root certificate(s) (ca.crt of the trust bundle)`,
      { cause: error },
    );
  }
  return { certificates, pem: certificatesToPem(certificates) };
}

/** Reads and parses an anchors file once (the CLI's way); a missing file is `ERR_TRUST_ANCHORS_INVALID`. */
export async function readTrustAnchorsFile(path: string): Promise<TrustAnchors> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new WardenError(
      'ERR_TRUST_ANCHORS_INVALID',
      `cannot read trust anchors file '${path}': ${errorText(error)}; pass the trust bundle's ca.crt`,
      { cause: error },
    );
  }
  return parseTrustAnchors(text, `'${path}'`);
}

/** Anchors fixed at start (like daprd's `DAPR_TRUST_ANCHORS`): never changes. */
export class StaticTrustAnchorSource extends EventEmitter implements TrustAnchorSource {
  private readonly anchors: TrustAnchors;

  /** Throws `ERR_TRUST_ANCHORS_INVALID` when `pem` holds no valid certificate. */
  constructor(pem: string | Buffer, source = 'the static trust anchors') {
    super();
    this.anchors = parseTrustAnchors(pem, source);
  }

  current(): TrustAnchors {
    return this.anchors;
  }

  ready(): Promise<TrustAnchors> {
    return Promise.resolve(this.anchors);
  }

  close(): void {}
}

export interface FileTrustAnchorOptions {
  path: string;
  logger?: IdentityLogger;
  timers?: Timers;
  /** How often to look for a file that does not exist yet (Dapr: 1 s). */
  waitIntervalMs?: number;
  /** Polling fallback for file systems where fs.watch misses events (default 2 s). */
  pollIntervalMs?: number;
  /** Events within this window are handled as one reload (default 100 ms). */
  debounceMs?: number;
  /** Set false to rely on polling only (file systems without inotify; tests of the fallback). */
  useFsWatch?: boolean;
}

/**
 * Anchors read from a file, watched through its directory (so atomic renames and Kubernetes'
 * `..data` symlink swaps are seen) with a polling fallback. Waits for a missing file, logging
 * Dapr's `not found, waiting...` line each second. A change that does not parse is logged and the
 * previous anchors are kept (Dapr's kit exits instead). An unparseable file at start makes
 * `ready()` reject, as in Dapr.
 */
export class FileTrustAnchorSource extends EventEmitter implements TrustAnchorSource {
  readonly path: string;
  private readonly logger: IdentityLogger;
  private readonly timers: Timers;
  private readonly waitIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly debounceMs: number;
  private readonly useFsWatch: boolean;
  private readonly abort = new AbortController();
  private readonly started: Promise<TrustAnchors>;
  private anchors: TrustAnchors | undefined;
  private lastBytes: Buffer | undefined;
  private missingLogged = false;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private checkAgain = false;

  /** Starts waiting for and watching `options.path` immediately. */
  constructor(options: FileTrustAnchorOptions) {
    super();
    this.path = options.path;
    this.logger = options.logger ?? silentLogger;
    this.timers = options.timers ?? systemTimers;
    this.waitIntervalMs = options.waitIntervalMs ?? 1000;
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.debounceMs = options.debounceMs ?? 100;
    this.useFsWatch = options.useFsWatch ?? true;
    this.started = this.start();
    // Callers observe failures through ready(); do not also crash the process here.
    this.started.catch(() => undefined);
  }

  current(): TrustAnchors {
    if (this.anchors === undefined) {
      throw new WardenError('ERR_TRUST_ANCHORS_INVALID', `trust anchors file '${this.path}' has not been loaded yet; wait for ready()`);
    }
    return this.anchors;
  }

  ready(): Promise<TrustAnchors> {
    return this.started;
  }

  close(): void {
    this.abort.abort();
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
  }

  private async start(): Promise<TrustAnchors> {
    const bytes = await this.waitForFile();
    this.logger.info(`Trust anchors file '${this.path}' found`);
    this.anchors = parseTrustAnchors(bytes, `'${this.path}'`);
    this.lastBytes = bytes;
    this.startWatching();
    this.logger.info(`Watching trust anchors file '${this.path}' for changes`);
    return this.anchors;
  }

  private async waitForFile(): Promise<Buffer> {
    for (;;) {
      if (this.abort.signal.aborted) {
        throw new WardenError('ERR_TRUST_ANCHORS_INVALID', `stopped waiting for trust anchors file '${this.path}'`);
      }
      try {
        return await readFile(this.path);
      } catch (error) {
        if (!isMissing(error)) {
          throw new WardenError('ERR_TRUST_ANCHORS_INVALID', `cannot read trust anchors file '${this.path}': ${errorText(error)}`, { cause: error });
        }
      }
      await this.timers.sleep(this.waitIntervalMs, this.abort.signal);
      if (!this.abort.signal.aborted) this.logger.warn(`Trust anchors file '${this.path}' not found, waiting...`);
    }
  }

  private startWatching(): void {
    if (this.abort.signal.aborted) return;
    if (this.useFsWatch) this.watchDirectory();
    this.pollTimer = setInterval(() => void this.check(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private watchDirectory(): void {
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, () => this.scheduleCheck());
      this.watcher.on('error', (error) => {
        this.logger.warn(`Watching '${dirname(this.path)}' failed (${errorText(error)}); polling '${basename(this.path)}' instead`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.logger.warn(`Cannot watch '${dirname(this.path)}' (${errorText(error)}); polling '${basename(this.path)}' instead`);
    }
  }

  private scheduleCheck(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.check(), this.debounceMs);
    this.debounceTimer.unref();
  }

  /** Re-reads the file; reloads only when its bytes changed. Never throws. */
  private async check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.checkAgain = false;
        await this.reloadIfChanged();
      } while (this.checkAgain && !this.abort.signal.aborted);
    } finally {
      this.checking = false;
    }
  }

  private async reloadIfChanged(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if (!this.missingLogged) {
        this.logger.warn(`Trust anchors file '${this.path}' cannot be read (${errorText(error)}); keeping the current trust anchors`);
        this.missingLogged = true;
      }
      return;
    }
    this.missingLogged = false;
    if (this.abort.signal.aborted || (this.lastBytes !== undefined && bytes.equals(this.lastBytes))) return;
    this.lastBytes = bytes;
    this.logger.info('Trust anchors file changed, reloading trust anchors');
    let next: TrustAnchors;
    try {
      next = parseTrustAnchors(bytes, `'${this.path}'`);
    } catch (error) {
      this.logger.error(`Failed to reload trust anchors, keeping the previous ones: ${errorText(error)}`);
      return;
    }
    if (next.pem === this.anchors?.pem) return;
    this.anchors = next;
    this.emit('changed', next);
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
