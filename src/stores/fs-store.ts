/**
 * The self-hosted trust-bundle store: `ca.crt`, `issuer.crt` and `issuer.key` in a credentials
 * directory, laid out as Dapr's Sentry reads them (spec 3.1).
 *
 * Differences from Sentry, on purpose:
 * - A partial bundle is reported as such and never overwritten silently (Sentry regenerates).
 * - The three files are replaced atomically as a set. When they sit directly in the directory
 *   (the default) through the versioned layout (fs-versions.ts: `..data` symlink swap, as the
 *   kubelet publishes Secrets), so *every* reader, Dapr's Sentry included, sees the old or the new
 *   bundle, never a mix, even after a kill. Files elsewhere (absolute names, subdirectories) use
 *   a redo-log transaction (fs-txn.ts), atomic for Warden's readers, which complete it.
 * - The directory is created (0700) when missing; Sentry requires it to exist.
 * - What is replaced is backed up first (fs-backup.ts).
 * - Bundle files must be regular files of at most 1 MiB (fs-file-read.ts). A bundle file that is
 *   a symlink Warden did not make is read through, but never silently replaced by a plain file.
 *
 * Concurrency: writers take `<dir>/.warden-lock` (fs-lock.ts), so the `expectedVersion` check and
 * the commit are one step. Readers take no lock and never need to write: they read a consistent
 * snapshot (fs-snapshot.ts) and, where they can, tidy what killed writers left (best effort: a
 * full or read-only disk does not fail a read).
 */
import { basename, dirname } from 'node:path';
import { type Clock, systemClock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';
import { computeBundleVersion } from './bundle-version.js';
import { createBackup, findBackupDebris, listBackups, readBackup, removeBackupDebris } from './fs-backup.js';
import { ensurePrivateDir } from './fs-io.js';
import { BUNDLE_PARTS, STORE_PARTS, type FsLayout, type LayoutOptions, listFileDirs, resolveLayout } from './fs-layout.js';
import { acquireLock, findLockDebris, type HeldLock, inspectLock, removeLockDebris, tryAcquireLock } from './fs-lock.js';
import { type FileSnapshot, readSnapshotOnce } from './fs-snapshot.js';
import { findDebris, removeDebris, replaceBundleFiles, rollForwardCommitted } from './fs-txn.js';
import { assertNoForeignLinks, findVersionDebris, removeVersionDebris, writeVersioned } from './fs-versions.js';
import type { BackupRef, BundleReadResult, TrustBundleStore, WriteOptions, WriteResult } from './store.js';

export { defaultCredentialsDir } from './fs-layout.js';

export interface FsStoreOptions extends LayoutOptions {
  /** Credentials directory (default `defaultCredentialsDir()`, i.e. `$HOME/.dapr/certs`). */
  dir?: string;
  /** Names backups (default: the system clock). */
  clock?: Clock;
  /** How long a write waits for another writer to finish (default 10 s). */
  lockTimeoutMs?: number;
}

// A snapshot retried this often without settling means someone rewrites the files non-stop.
const MAX_READ_ATTEMPTS = 200;

export class FsTrustBundleStore implements TrustBundleStore {
  readonly description: string;
  readonly layout: FsLayout;
  private readonly clock: Clock;
  private readonly lockTimeoutMs: number;

  constructor(opts: FsStoreOptions = {}) {
    this.layout = resolveLayout(opts);
    this.clock = opts.clock ?? systemClock;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;
    const outside = BUNDLE_PARTS.map((p) => this.layout.files[p]).filter((f) => dirname(f) !== this.layout.dir);
    this.description = outside.length === 0
      ? `directory ${this.layout.dir}`
      : `directory ${this.layout.dir} (files ${BUNDLE_PARTS.map((p) => this.layout.files[p]).join(', ')})`;
  }

  /** The directories holding the bundle files: watch these to notice changes (spec 4.1). */
  watchPaths(): string[] {
    return listFileDirs(this.layout);
  }

  /**
   * The bundle files themselves (paths as configured; each may be a `..data/<name>` link), the
   * JWT pair included: a change to `jwt.key` or `jwks.json` alone is a credential change too.
   */
  watchFiles(): string[] {
    return STORE_PARTS.map((p) => this.layout.files[p]);
  }

  async read(): Promise<BundleReadResult> {
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      await this.recover().catch(() => undefined); // tidying is a courtesy; the snapshot reports real faults
      const snapshot = await readSnapshotOnce(this.layout);
      if (snapshot !== undefined) return this.toReadResult(snapshot);
    }
    throw new WardenError('ERR_STORE_CONFLICT', `The trust bundle in ${this.description} kept changing while being read. Try again once other writers are done.`);
  }

  async write(texts: BundleTexts, opts: WriteOptions = {}): Promise<WriteResult> {
    for (const dir of new Set([this.layout.dir, ...listFileDirs(this.layout)])) await ensurePrivateDir(dir);
    const lock = await acquireLock(this.layout.lockPath, this.clock.now(), this.lockTimeoutMs);
    try {
      await this.recoverLocked();
      const current = await this.readLocked();
      this.checkPreconditions(this.toReadResult(current), opts);
      await assertNoForeignLinks(this.layout);
      const present = BUNDLE_PARTS.some((p) => current[p] !== undefined);
      const backup = opts.backup !== false && present ? await createBackup(this.layout, current, this.clock) : undefined;
      const full = withStoredJwt(texts, current);
      if (this.layout.versioned) await writeVersioned(this.layout, full, current, this.clock.now());
      else await replaceBundleFiles(this.layout, full);
      const version = computeBundleVersion(full);
      const after = this.toReadResult(await this.readLocked());
      if (after.state !== 'complete' || after.version !== version) {
        throw new WardenError('ERR_STORE_IO', `The trust bundle in ${this.description} did not read back as written: another program changed the files meanwhile. Check the files and write again.`);
      }
      return backup === undefined ? { version } : { version, backup };
    } finally {
      await lock.release();
    }
  }

  listBackups(): Promise<BackupRef[]> {
    return listBackups(this.layout);
  }

  readBackup(name: string): Promise<BundleTexts> {
    return readBackup(this.layout, name);
  }

  /**
   * Finishes committed writes; when no writer is running, removes the debris of killed writes,
   * including a lock left by a dead process (taking the lock breaks it, releasing removes it).
   * When there is nothing to tidy, nothing in the directory is created or changed.
   */
  private async recover(): Promise<void> {
    await rollForwardCommitted(this.layout);
    const debris = [
      ...(await findDebris(this.layout)),
      ...(await findVersionDebris(this.layout)),
      ...(await findBackupDebris(this.layout)),
      ...(await findLockDebris(this.layout.lockPath)),
    ];
    const lockState = await inspectLock(this.layout.lockPath);
    if (lockState === 'live' || (lockState === 'free' && debris.length === 0)) return;
    const lock: HeldLock | null = await tryAcquireLock(this.layout.lockPath, this.clock.now());
    if (lock === null) return; // a live writer owns them, or the directory is read-only
    try {
      await this.recoverLocked();
    } finally {
      await lock.release();
    }
  }

  private async recoverLocked(): Promise<void> {
    await rollForwardCommitted(this.layout);
    await removeDebris(this.layout);
    await removeVersionDebris(this.layout);
    await removeBackupDebris(this.layout);
    await removeLockDebris(this.layout.lockPath);
  }

  // Under the writer lock only helpers that finish *our* committed transaction can race us.
  private async readLocked(): Promise<FileSnapshot> {
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const snapshot = await readSnapshotOnce(this.layout);
      if (snapshot !== undefined) return snapshot;
      await rollForwardCommitted(this.layout);
    }
    throw new WardenError('ERR_STORE_CONFLICT', `The trust bundle in ${this.description} kept changing while locked: another program is rewriting it. Stop it and try again.`);
  }

  private toReadResult(snapshot: FileSnapshot): BundleReadResult {
    const present = BUNDLE_PARTS.filter((p) => snapshot[p] !== undefined);
    if (present.length === 0) return { state: 'absent' };
    if (present.length < 3) {
      return {
        state: 'partial',
        present: present.map((p) => this.layout.files[p]),
        missing: BUNDLE_PARTS.filter((p) => snapshot[p] === undefined).map((p) => this.layout.files[p]),
      };
    }
    const texts: BundleTexts = { ca: snapshot.ca!, issuerCert: snapshot.issuerCert!, issuerKey: snapshot.issuerKey! };
    // The JWT pair counts only whole: one file alone reads as no JWT material, as Dapr's Sentry reads it.
    if (hasJwtTexts(snapshot)) Object.assign(texts, { jwtKey: snapshot.jwtKey, jwks: snapshot.jwks });
    return { state: 'complete', texts, version: computeBundleVersion(texts) };
  }

  private checkPreconditions(current: BundleReadResult, opts: WriteOptions): void {
    if (current.state === 'partial' && opts.overwritePartial !== true) {
      throw new WardenError(
        'ERR_BUNDLE_PARTIAL',
        `The trust bundle in ${this.description} is incomplete: ${current.missing.map((m) => basename(m)).join(', ')} missing (${current.missing.join(', ')}). ` +
          `Restore the missing file(s), e.g. from a backup in ${this.layout.backupRoot}, or remove the remaining one(s), then try again; nothing was written.`,
      );
    }
    const expected = opts.expectedVersion;
    if (expected === undefined) return;
    const actual = current.state === 'complete' ? `version ${current.version}` : current.state;
    if (expected === null ? current.state !== 'absent' : current.state !== 'complete' || current.version !== expected) {
      throw new WardenError(
        'ERR_STORE_CONFLICT',
        `The trust bundle in ${this.description} changed since it was read (expected ${expected === null ? 'no bundle' : `version ${expected}`}, found ${actual}). Read it again and redo the change.`,
      );
    }
  }
}

/**
 * A write without the JWT pair keeps the stored one (`renew-certificate` replaces the X.509 files
 * and leaves `jwt.key` / `jwks.json` alone, as Dapr's CLI does with the Secret's other keys).
 */
function withStoredJwt(texts: BundleTexts, current: FileSnapshot): BundleTexts {
  if (hasJwtTexts(texts) || !hasJwtTexts(current)) return texts;
  return { ...texts, jwtKey: current.jwtKey, jwks: current.jwks };
}
