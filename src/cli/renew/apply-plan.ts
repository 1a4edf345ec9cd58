import { unlink } from 'node:fs/promises';
import { privateKeyToPkcs8Pem } from '../../core/keys.js';
import { fileIoError, writeFileAtomic } from '../atomic-file.js';
import type { BundleStore } from '../deps.js';
import type { RenewBundle } from './build-plan.js';

export interface RenewResult {
  /** Where the store put the copy of the previous bundle, if there was one. */
  backupLocation: string | undefined;
  /** Where the new root key was saved (--root-key-out). */
  rootKeyPath: string | undefined;
}

/**
 * The only code in renew-certificate that writes. The root key goes first (exclusive create,
 * 0600, atomic), so a bundle is never installed whose root key the user asked to keep but lost;
 * if the bundle write then fails, the key file is removed again. The bundle is written through the
 * store, which backs up the previous bundle and refuses if it changed since it was read.
 */
export async function applyRenewPlan(plan: RenewBundle, store: BundleStore, force: boolean): Promise<RenewResult> {
  let rootKeyPath: string | undefined;
  if (plan.rootKeyOut !== undefined && plan.rootKey !== undefined) {
    const path = plan.rootKeyOut;
    await writeFileAtomic(path, privateKeyToPkcs8Pem(plan.rootKey), 0o600, { exclusive: true }).catch(
      (error: unknown) => {
        throw fileIoError(`cannot write --root-key-out file ${path}`, error);
      },
    );
    rootKeyPath = path;
  }
  try {
    const current = plan.current;
    const written = await store.write(plan.texts, {
      // Refuse (ERR_STORE_CONFLICT) if someone else changed the bundle since it was read.
      expectedVersion: current.state === 'complete' ? current.version : current.state === 'absent' ? null : undefined,
      backup: true,
      overwritePartial: current.state === 'partial' && force,
    });
    return { backupLocation: written.backup?.location, rootKeyPath };
  } catch (error) {
    if (rootKeyPath !== undefined) await unlink(rootKeyPath).catch(() => undefined);
    throw error;
  }
}
