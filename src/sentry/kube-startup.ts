/**
 * The bundle Sentry starts with in Kubernetes mode (spec 3.3 with Warden's fixes):
 * - the Secret or ConfigMap missing → fatal, naming them (Sentry never creates them);
 * - none of the three Secret keys → generate a root and issuer and persist them to the Secret and
 *   the ConfigMap (`ca.crt` byte-identical), guarded by resourceVersion; if another replica stored
 *   one first, re-read and use theirs instead of failing;
 * - some keys → refuse (ERR_BUNDLE_PARTIAL): Dapr would overwrite them;
 * - all three → the check chain, refusing on any error finding, as self-hosted;
 * - a ConfigMap whose `ca.crt` differs from the Secret's (or is missing) → re-synced from the
 *   Secret once the bundle passed the checks, with a warning; never a new CA.
 */
import { LOG_SCOPE } from './log-scopes.js';
import { WardenError, isWardenError } from '../core/errors.js';
import type { BackendStartupDeps } from './backend.js';
import { checkBundleTexts } from './bundle-check.js';
import type { KubeBundleSource } from './kube-bundle-source.js';
import { GENERATED_FIELDS, GENERATED_MESSAGE, generateSelfSignedBundle, needsJwtMaterial, withNewJwtMaterial, type StartupBundle } from './startup-bundle.js';

export async function loadKubeStartupBundle(source: KubeBundleSource, deps: BackendStartupDeps): Promise<StartupBundle> {
  const where = source.where;
  let read = await source.read();
  let generated = false;
  if (read.state === 'absent') {
    generated = await generateAndPersist(source, deps);
    read = await source.read();
  }
  if (read.state === 'partial') {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `the trust bundle in ${where} is incomplete: found ${read.present.join(', ')} but ${read.missing.join(', ')} missing; ` +
        'restore the missing keys (a backup Secret dapr-trust-bundle-backup-* may hold them) or re-apply the bundle with ' +
        '"warden mtls renew-certificate -k". Warden does not overwrite a partial bundle; to let it generate a new CA, ' +
        'remove the remaining keys from the Secret.',
    );
  }
  if (read.state !== 'complete') {
    throw new WardenError('ERR_STORE_IO', `the trust bundle just written to ${where} cannot be read back; check the Secret and retry`);
  }
  if (needsJwtMaterial(read.texts, deps)) {
    await source.addJwtMaterial(withNewJwtMaterial(read.texts, deps), deps.logger);
    read = await source.read();
    if (read.state !== 'complete') throw new WardenError('ERR_STORE_IO', `the JWT signing key just written to ${where} cannot be read back; check the Secret and retry`);
  }
  if (!generated) deps.logger.info({ scope: LOG_SCOPE.ca }, 'Root and issuer certs found: using credentials from store');
  const checked = checkBundleTexts(read.texts, deps.clock.now(), deps.policy, where);
  for (const note of checked.notes) {
    deps.logger[note.severity === 'warning' ? 'warn' : 'info']({ code: note.code, subject: note.subject }, note.message);
  }
  try {
    await source.syncConfigMap(String(read.version), deps.logger);
  } catch (err) {
    // Serving matters more: CP services keep their current anchors, and the ConfigMap watch retries.
    deps.logger.error({ err: (err as Error).message, code: (err as { code?: string }).code },
      `Could not re-sync ${source.store.configMapRef} from ${where}: ${(err as Error).message}`);
  }
  return { ...checked, version: read.version, generated };
}

/** Generates and stores a bundle; false when another writer stored one first (theirs is used). */
async function generateAndPersist(source: KubeBundleSource, deps: BackendStartupDeps): Promise<boolean> {
  const bundle = generateSelfSignedBundle(deps);
  try {
    await source.write(bundle.toTexts());
  } catch (err) {
    if (!isWardenError(err, 'ERR_STORE_CONFLICT')) throw err;
    deps.logger.info({ secret: source.where, reason: err.message },
      `Another writer (an HA replica of Sentry?) stored a trust bundle in ${source.where} first; using it instead of the one generated here`);
    return false;
  }
  deps.metrics.issuerCertChanged.inc();
  deps.logger.info(
    { scope: LOG_SCOPE.ca, secret: source.where, configMap: source.store.configMapRef, rootNotAfter: bundle.root.notAfter.toISOString(),
      keyAlgorithm: deps.keyAlgorithm, ...GENERATED_FIELDS },
    GENERATED_MESSAGE,
  );
  return true;
}
