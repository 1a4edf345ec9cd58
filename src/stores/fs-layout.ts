/**
 * Where the fs store keeps things. File names follow Sentry's rule (spec 3.1): an absolute name
 * is used as is, otherwise it is joined with the credentials directory. Warden's own bookkeeping
 * (lock, transaction records, backups) always lives in the credentials directory; staged files
 * live next to their targets so that the final rename never crosses a file system.
 */
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { JWT_PARTS, X509_PARTS, type BundleTexts } from '../core/bundle-texts.js';
import { WardenError } from '../core/errors.js';

/** The three X.509 files every bundle has. */
export type BundlePart = (typeof X509_PARTS)[number];
export const BUNDLE_PARTS: readonly BundlePart[] = X509_PARTS;
/** Every file the store keeps: the three X.509 files, then `jwt.key` and `jwks.json` (present together or not at all). */
export type StorePart = keyof BundleTexts;
export const STORE_PARTS: readonly StorePart[] = [...X509_PARTS, ...JWT_PARTS];

export interface FsLayout {
  /** Absolute credentials directory. */
  dir: string;
  /** Absolute path of each part (the JWT files too, whether or not they exist). */
  files: Record<StorePart, string>;
  lockPath: string;
  backupRoot: string;
  /**
   * True when all five files sit directly in `dir`: then they are published through the
   * versioned layout (fs-versions.ts: `..data` → `..warden-<stamp>-<id>/`, one symlink swap).
   * Files elsewhere (absolute names, subdirectories) fall back to the transaction of fs-txn.ts.
   */
  versioned: boolean;
  /** `<dir>/..data`, the symlink naming the current version directory (versioned layout). */
  dataLink: string;
}

/** `$HOME/.dapr/certs`, where `dapr init` users keep self-hosted credentials. */
export function defaultCredentialsDir(): string {
  return join(homedir(), '.dapr', 'certs');
}

export interface LayoutOptions {
  dir?: string;
  caFile?: string;
  issuerCertFile?: string;
  issuerKeyFile?: string;
  /** `jwt.key` (Dapr: `--jwt-key-filename`, used only when absolute). */
  jwtKeyFile?: string;
  /** `jwks.json` (Dapr: `--jwks-filename`, used only when absolute). */
  jwksFile?: string;
}

export function resolveLayout(opts: LayoutOptions): FsLayout {
  const dir = resolve(opts.dir ?? defaultCredentialsDir());
  const names: Record<StorePart, string> = {
    ca: opts.caFile ?? 'ca.crt',
    issuerCert: opts.issuerCertFile ?? 'issuer.crt',
    issuerKey: opts.issuerKeyFile ?? 'issuer.key',
    jwtKey: opts.jwtKeyFile ?? 'jwt.key',
    jwks: opts.jwksFile ?? 'jwks.json',
  };
  const files = {} as Record<StorePart, string>;
  for (const part of STORE_PARTS) {
    if (names[part].trim() === '') {
      throw new WardenError('ERR_CONFIG_INVALID', `The ${part} file name is empty: give a file name or leave the option out.`);
    }
    files[part] = isAbsolute(names[part]) ? resolve(names[part]) : join(dir, names[part]);
  }
  assertDistinct(files);
  const versioned = STORE_PARTS.every((p) => dirname(files[p]) === dir);
  return { dir, files, lockPath: join(dir, '.warden-lock'), backupRoot: join(dir, '.backup'), versioned, dataLink: join(dir, DATA_LINK_NAME) };
}

// Backups keep the original base names side by side, so base names must differ as well.
function assertDistinct(files: Record<StorePart, string>): void {
  const paths = STORE_PARTS.map((p) => files[p]);
  const bases = paths.map((p) => basename(p));
  if (new Set(paths).size !== paths.length || new Set(bases).size !== paths.length) {
    throw new WardenError(
      'ERR_CONFIG_INVALID',
      `The trust bundle files (with jwt.key and jwks.json) must have different base names, got ${paths.join(', ')}: rename one of them.`,
    );
  }
}

/** The directories holding the files, without duplicates (what the sentry watches, spec 4.1: Dapr watches the JWT files' too). */
export function listFileDirs(layout: FsLayout): string[] {
  return [...new Set(STORE_PARTS.map((p) => dirname(layout.files[p])))];
}

/** A staged copy of `target` for transaction `txnId` (16 hex digits), next to it. */
export function stagedPathFor(target: string, txnId: string): string {
  return `${target}.${txnId}.warden-new`;
}

export function txnRecordPath(layout: FsLayout, txnId: string): string {
  return join(layout.dir, `.warden-txn-${txnId}.json`);
}

/** The largest bundle file Warden reads (a PEM bundle of hundreds of certificates fits easily). */
export const MAX_BUNDLE_FILE_BYTES = 1024 * 1024;

/** The versioned layout's names, as the kubelet's AtomicWriter names them (`..data`). */
export const DATA_LINK_NAME = '..data';
/** A version directory Warden created: `..warden-20261204T183425Z-0123456789abcdef`. */
export const VERSION_DIR_NAME = /^\.\.warden-\d{8}T\d{6}Z-[0-9a-f]{16}$/;
/** The temp symlink renamed over `..data`; debris when no writer holds the lock. */
export const DATA_TEMP_NAME = /^\.warden-data-[0-9a-f]{16}\.tmp$/;

/** What `<dir>/<name>` points to in the versioned layout. */
export function managedLinkTarget(name: string): string {
  return `${DATA_LINK_NAME}/${name}`;
}

export const TXN_RECORD_NAME = /^\.warden-txn-([0-9a-f]{16})\.json$/;
/** The temp file of a record being committed; debris when no writer holds the lock. */
export const TXN_TEMP_NAME = /^\.warden-txn-[0-9a-f]{16}\.json\.tmp$/;

/** Does `name` look like a staged copy of the file whose base name is `base`? */
export function isStagedNameFor(name: string, base: string): boolean {
  return name.length === base.length + 28 && name.startsWith(`${base}.`) && /^\.[0-9a-f]{16}\.warden-new$/.test(name.slice(base.length));
}
