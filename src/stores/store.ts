/**
 * The narrow trust-bundle store interface (design §2, §4: one adapter per backend, one shared
 * contract suite in test/stores/store-contract.ts). Backends: a directory of files (fs-store.ts);
 * Kubernetes Secret + ConfigMap later. Nothing here knows about files or the Kubernetes API.
 *
 * A store moves the three PEM texts (`BundleTexts`) and never parses them: meaning and checks
 * live in src/core.
 */
import type { BundleTexts } from '../core/bundle-texts.js';

export type { BundleTexts };

/**
 * What a store holds now.
 * - `absent`: none of the three parts exist.
 * - `partial`: some exist. Dapr would silently generate a new CA here; Warden refuses (spec 3.1,
 *   3.3), so callers must never treat this as absent. `present`/`missing` name the parts in
 *   backend terms (the fs store gives file paths), in ca, issuer cert, issuer key order.
 * - `complete`: all three, with the opaque `version` token to pass back as `expectedVersion`.
 */
export type BundleReadResult =
  | { state: 'absent' }
  | { state: 'partial'; present: string[]; missing: string[] }
  | { state: 'complete'; texts: BundleTexts; version: string };

/** A saved copy of a bundle that a write replaced. */
export interface BackupRef {
  /** Stable name to pass to `readBackup` (the fs store uses e.g. `20261129T234512Z`, `…Z-2`). */
  name: string;
  /** Where it is, for humans (the fs store gives the backup directory path). */
  location: string;
  createdAt: Date;
}

export interface WriteOptions {
  /**
   * Optimistic concurrency. A string: the write happens only if the store is complete with
   * exactly this version. `null`: only if the store is absent. Omitted: no precondition.
   * A failed precondition throws `ERR_STORE_CONFLICT` and changes nothing.
   */
  expectedVersion?: string | null;
  /**
   * Save what is being replaced first (default `true`; ignored when the store is absent).
   * When a backup is taken, `WriteResult.backup` names it.
   */
  backup?: boolean;
  /**
   * Replace a partial bundle (default `false`: throws `ERR_BUNDLE_PARTIAL` and changes nothing).
   * The parts that are present are backed up first unless `backup: false`.
   */
  overwritePartial?: boolean;
}

export interface WriteResult {
  /** The version of the bundle now stored. */
  version: string;
  backup?: BackupRef;
}

export interface TrustBundleStore {
  /** Where the bundle lives, for messages, e.g. `directory /home/x/.dapr/certs`. */
  readonly description: string;
  /** The current state. Never returns a mix of two writes. */
  read(): Promise<BundleReadResult>;
  /**
   * Replaces the whole bundle atomically: a reader, or the store after a crash at any instant,
   * sees either the complete old bundle or the complete new one.
   */
  write(texts: BundleTexts, opts?: WriteOptions): Promise<WriteResult>;
  /** Backups, newest first. */
  listBackups(): Promise<BackupRef[]>;
  /** The texts of one backup; `ERR_BUNDLE_NOT_FOUND` when no backup has that name. */
  readBackup(name: string): Promise<BundleTexts>;
}
