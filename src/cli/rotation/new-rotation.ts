/** What starting a new rotation needs in both modes: its id, and the root key saved for `--root-key-out`. */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { privateKeyToPkcs8Pem } from '../../core/keys.js';
import { fileIoError, writeFileAtomic } from '../atomic-file.js';

/** `20261130T035623Z-66c6d6`: the start time (sortable) and 3 random bytes. */
export function rotationId(now: Date): string {
  return `${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** Writes the new root's key (PKCS#8, 0600, never over an existing file); the path, or undefined when not asked. */
export async function saveRootKey(plan: { rootKeyOut?: string | undefined; rootKey?: KeyObject | undefined }): Promise<string | undefined> {
  if (plan.rootKeyOut === undefined || plan.rootKey === undefined) return undefined;
  const path = plan.rootKeyOut;
  await writeFileAtomic(path, privateKeyToPkcs8Pem(plan.rootKey), 0o600, { exclusive: true }).catch((error: unknown) => {
    throw fileIoError(`cannot write --root-key-out file ${path}`, error);
  });
  return path;
}
