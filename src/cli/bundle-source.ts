import { resolve } from 'node:path';
import type { BundleTexts } from '../core/bundle-texts.js';
import { isWardenError, WardenError } from '../core/errors.js';
import type { Finding } from '../core/checks/types.js';
import type { BundleSource } from './bundle-source-shape.js';
import type { CliDeps, BundleStore } from './deps.js';
import type { Io } from './io.js';
import { rejectKubeFlagsWithoutK, type KubeCliOptions } from './kube-options.js';
import { defaultCredentialsDirFor, type CredentialOptions } from './options.js';
import { STATUS_PREFIX } from './output.js';

/** Where a bundle lives: the directory and the resolved path of each of its three files. */
export interface BundleLocation {
  dir: string;
  caFile: string;
  issuerCertFile: string;
  issuerKeyFile: string;
  caPath: string;
  issuerCertPath: string;
  issuerKeyPath: string;
}

/** Resolves the credential flags against io.cwd and io.env (HOME) into absolute paths. */
export function resolveBundleLocation(opts: CredentialOptions, io: Io): BundleLocation {
  const dir = resolve(io.cwd, opts.issuerCredentials ?? defaultCredentialsDirFor(io));
  return {
    dir,
    caFile: opts.issuerCaFilename,
    issuerCertFile: opts.issuerCertificateFilename,
    issuerKeyFile: opts.issuerKeyFilename,
    // path.resolve keeps an absolute file name as it is, as Dapr's sentry does (spec 3.1).
    caPath: resolve(dir, opts.issuerCaFilename),
    issuerCertPath: resolve(dir, opts.issuerCertificateFilename),
    issuerKeyPath: resolve(dir, opts.issuerKeyFilename),
  };
}

/** Opens the file-system store for `loc`. */
export function openBundleStore(loc: BundleLocation, io: Io, deps: CliDeps): BundleStore {
  return deps.openStore({
    dir: loc.dir,
    caFile: loc.caFile,
    issuerCertFile: loc.issuerCertFile,
    issuerKeyFile: loc.issuerKeyFile,
    clock: io.clock,
  });
}

/**
 * Reads a bundle that must be complete.
 * Throws ERR_BUNDLE_NOT_FOUND when no file exists, ERR_BUNDLE_PARTIAL when some are missing.
 */
export async function readCompleteBundle(
  store: BundleStore,
  loc: BundleLocation,
): Promise<{ texts: BundleTexts; version: string }> {
  const result = await store.read();
  if (result.state === 'absent') throw bundleNotFound(loc);
  if (result.state === 'partial') throw bundlePartial(loc, result.present, result.missing);
  return { texts: result.texts, version: result.version };
}

export function bundleNotFound(loc: BundleLocation): WardenError {
  return new WardenError(
    'ERR_BUNDLE_NOT_FOUND',
    `no trust bundle in ${loc.dir} (${loc.caFile}, ${loc.issuerCertFile} and ${loc.issuerKeyFile} are missing); ` +
      `point --issuer-credentials at the directory that holds it, or create one with 'warden mtls renew-certificate'`,
  );
}

export function bundlePartial(loc: BundleLocation, present: string[], missing: string[]): WardenError {
  return new WardenError(
    'ERR_BUNDLE_PARTIAL',
    `incomplete trust bundle in ${loc.dir}: ${missing.join(', ')} missing (${present.join(', ')} present); ` +
      `restore the missing file from a backup, or replace the bundle with 'warden mtls renew-certificate --force'`,
  );
}

/** A bundle as the read commands (`expiry`, `verify`, `export`) see it, from a directory or, with -k, the cluster. */
export type { BundleSource } from './bundle-source-shape.js';

/**
 * Reads a complete bundle from the directory of the credential flags or, with `-k`, from the
 * cluster (kube-bundle.ts, imported only then). Kubernetes-only flags without `-k` are refused.
 */
export async function readBundleSource(opts: CredentialOptions & KubeCliOptions, io: Io, deps: CliDeps): Promise<BundleSource> {
  if (opts.kubernetes) {
    const { readKubeBundleSource } = await import('./kube-bundle.js');
    return readKubeBundleSource(opts, io);
  }
  rejectKubeFlagsWithoutK(opts);
  const loc = resolveBundleLocation(opts, io);
  const { texts } = await readCompleteBundle(openBundleStore(loc, io, deps), loc);
  return {
    texts,
    labels: { ca: loc.caPath, issuerCert: loc.issuerCertPath, issuerKey: loc.issuerKeyPath },
    where: loc.dir,
    json: { directory: loc.dir },
    storageFindings: [],
  };
}

/** Prints storage findings as warnings: on stdout for text output, on stderr beside JSON. */
export function printStorageWarnings(io: Io, findings: readonly Finding[], output: 'text' | 'json' = 'text'): void {
  for (const f of findings) {
    const line = `${STATUS_PREFIX.warning}${f.message} (${f.code})\n`;
    if (output === 'json') io.stderr(line);
    else io.stdout(line);
  }
}

/** Prefixes a WardenError's message with the file it is about (same code); other values pass. */
export function inFile(error: unknown, path: string): unknown {
  if (!isWardenError(error)) return error;
  return new WardenError(error.code, `${path}: ${error.message}`, { cause: error });
}
