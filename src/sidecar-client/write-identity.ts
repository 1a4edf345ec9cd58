/**
 * Writes an identity to disk the way Dapr's kit `WriteIdentityToFile` does (spec 4.4): `key.pem`,
 * `cert.pem` (leaf + issuer chain) and `ca.pem` (trust anchors), each atomically (temp file in the
 * same directory, fsync, rename) and with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WardenError } from '../core/errors.js';
import { errorText } from './logger.js';

export interface IdentityFiles {
  /** PKCS#8 `PRIVATE KEY` PEM. */
  keyPem: string;
  /** Leaf first, then the issuer chain. */
  certChainPem: string;
  anchorsPem: string;
}

/** The file names, as Dapr's kit writes them. */
export const IDENTITY_FILE_NAMES = { key: 'key.pem', cert: 'cert.pem', ca: 'ca.pem' } as const;

/** Writes the three files into `dir` (created 0700 if missing). `ERR_STORE_IO` on failure. */
export async function writeIdentityFiles(dir: string, files: IdentityFiles): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The key goes first: a reader that sees a new cert.pem must find its key already in place.
    await writeFileAtomic(join(dir, IDENTITY_FILE_NAMES.key), files.keyPem);
    await writeFileAtomic(join(dir, IDENTITY_FILE_NAMES.cert), files.certChainPem);
    await writeFileAtomic(join(dir, IDENTITY_FILE_NAMES.ca), files.anchorsPem);
  } catch (error) {
    throw new WardenError('ERR_STORE_IO', `cannot write the identity to ${dir}: ${errorText(error)}; check the directory exists and is writable`, { cause: error });
  }
}

/** Temp file (0600) + fsync + rename, so readers see the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    // The mode given to open() is masked by the umask; make 0600 certain.
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
