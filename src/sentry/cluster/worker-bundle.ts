/**
 * A worker's start-up bundle: the one the primary decided on, read back from the store. A worker
 * never generates one (the primary did, if it had to), refuses a partial bundle or check errors
 * as the primary would, and logs the check notes at debug: the primary logged them at their level.
 */
import { WardenError } from '../../core/errors.js';
import type { BackendStartupDeps, SentryBackend } from '../backend.js';
import { checkBundleTexts } from '../bundle-check.js';
import type { StartupBundle } from '../startup-bundle.js';

export async function loadExistingBundle(backend: SentryBackend, deps: BackendStartupDeps): Promise<StartupBundle> {
  const read = await backend.store.read();
  if (read.state === 'absent') {
    throw new WardenError(
      'ERR_BUNDLE_NOT_FOUND',
      `the trust bundle in ${backend.where} disappeared after the Sentry primary checked it; restore it and restart warden sentry`,
    );
  }
  if (read.state === 'partial') {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `the trust bundle in ${backend.where} became incomplete after the Sentry primary checked it: found ${read.present.join(', ')} ` +
        `but ${read.missing.join(', ')} missing; restore the missing files and restart warden sentry`,
    );
  }
  const checked = checkBundleTexts(read.texts, deps.clock.now(), deps.policy, backend.where);
  for (const note of checked.notes) deps.logger.debug({ code: note.code, subject: note.subject }, note.message);
  return { ...checked, version: read.version, generated: false };
}
