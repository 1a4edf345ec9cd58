import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { WardenError } from '../../core/errors.js';
import { fileIoError, writeFileAtomic } from '../atomic-file.js';
import { printStorageWarnings, readBundleSource } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { printExpiryBanner } from '../expiry-banner.js';
import type { Io } from '../io.js';
import type { KubeCliOptions } from '../kube-options.js';
import type { CredentialOptions } from '../options.js';
import { printStatus } from '../output.js';

export interface ExportOptions extends CredentialOptions, KubeCliOptions {
  /** `-o/--out`: target directory, relative to io.cwd (default `.`, as Dapr). */
  out: string;
}

/** The exported file names are always Dapr's, whatever the source files are called. */
export const EXPORT_FILE_NAMES = ['ca.crt', 'issuer.crt', 'issuer.key'] as const;

/**
 * `warden mtls export`: copies the stored bundle verbatim to `--out` as ca.crt, issuer.crt and
 * issuer.key, each written atomically with mode 0600 (as Dapr). A missing directory is created
 * with mode 0700 (Dapr uses 0755; the directory holds a private key, so Warden keeps it private).
 * Then prints `✅  Trust certs successfully exported to <absolute dir>` and, like Dapr, the
 * expiry warning when the root has fewer than 30 days left. With `-k` it exports the cluster's
 * bundle (Secret `dapr-trust-bundle`), as Dapr's `mtls export` does.
 */
export async function exportCommand(opts: ExportOptions, io: Io, deps: CliDeps): Promise<number> {
  const { texts, storageFindings } = await readBundleSource(opts, io, deps);
  const outDir = resolve(io.cwd, opts.out);
  await ensureDirectory(outDir);
  const contents = [texts.ca, texts.issuerCert, texts.issuerKey];
  for (const [i, name] of EXPORT_FILE_NAMES.entries()) {
    const path = join(outDir, name);
    await writeFileAtomic(path, contents[i] ?? '', 0o600).catch((error: unknown) => {
      throw fileIoError(`cannot write ${path}`, error);
    });
  }
  printStatus(io, 'success', `Trust certs successfully exported to ${outDir}`);
  printStorageWarnings(io, storageFindings);
  // With -k the banner (root and issuer, Dapr's Kubernetes wording) follows every command (program.ts).
  if (!opts.kubernetes) printExpiryBanner(io, texts.ca);
  return EXIT.ok;
}

async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileIoError(`cannot create directory ${dir}`, error);
  }
  const info = await stat(dir);
  if (!info.isDirectory()) {
    throw new WardenError('ERR_FILE_IO', `${dir} is not a directory; choose another --out directory`);
  }
}
