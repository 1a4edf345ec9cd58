/**
 * The bundle Sentry starts with (spec 3.3, self-hosted rows, with Warden's fixes):
 * - absent (no file at all) → generate a root and issuer, persist all three files, use them;
 * - partial (some files) → refuse with ERR_BUNDLE_PARTIAL naming the files (Dapr would overwrite);
 * - complete → run the checks; any error finding refuses start-up; warnings are logged.
 */
import { LOG_SCOPE } from './log-scopes.js';
import type { Logger } from 'pino';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';
import { generateTrustBundle, type TrustBundle } from '../core/bundle.js';
import { generateJwtMaterialFor, jwtMaterialToTexts } from '../core/jwt-key.js';
import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { SerialSource } from '../core/serial.js';
import { checkBundleTexts, type CheckPolicy, type CheckedBundle } from './bundle-check.js';
import type { SentryMetrics } from './metrics.js';

/** The part of the TrustBundleStore contract Sentry uses. */
export type StoreReadResult =
  | { state: 'absent' }
  | { state: 'partial'; present: readonly string[]; missing: readonly string[] }
  | { state: 'complete'; texts: BundleTexts; version: unknown };

export interface BundleStore {
  read(): Promise<StoreReadResult>;
  write(texts: BundleTexts, options?: { backup?: boolean }): Promise<unknown>;
  watchPaths(): string[];
  /**
   * The bundle's own files (file-system stores): only events naming one of these, the
   * directory itself or the kubelet's `..data` link are credential changes; anything else
   * written next to them (a tool's scratch files, logs) is not.
   */
  watchFiles?(): string[];
}

export interface StartupDeps {
  store: BundleStore;
  /** Names the store in messages (the credentials directory). */
  where: string;
  clock: Clock;
  logger: Logger;
  metrics: SentryMetrics;
  policy: CheckPolicy;
  trustDomain: string;
  namespace: string;
  keyAlgorithm: 'ed25519' | 'ecdsa-p256';
  clockSkewMs: number;
  serials?: SerialSource | undefined;
}

export interface StartupBundle extends CheckedBundle {
  version: unknown;
  generated: boolean;
}

export async function loadStartupBundle(deps: StartupDeps): Promise<StartupBundle> {
  let read = await deps.store.read();
  let generated = false;
  if (read.state === 'absent') {
    await generateAndPersist(deps);
    generated = true;
    read = await deps.store.read();
  }
  if (read.state === 'partial') {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `the trust bundle in ${deps.where} is incomplete: found ${read.present.join(', ')} but ${read.missing.join(', ')} ` +
        'missing; restore the missing files (or re-apply the bundle with "warden mtls renew-certificate"). ' +
        'Warden does not overwrite a partial bundle; to let it generate a new CA, remove the remaining files.',
    );
  }
  if (read.state !== 'complete') {
    throw new WardenError('ERR_STORE_IO', `the trust bundle just written to ${deps.where} cannot be read back; check the directory`);
  }
  if (needsJwtMaterial(read.texts, deps)) {
    // No backup: the X.509 files stay as they are, and there was no JWT pair to save.
    await deps.store.write(withNewJwtMaterial(read.texts, deps), { backup: false });
    read = await deps.store.read();
    if (read.state !== 'complete') throw new WardenError('ERR_STORE_IO', `the JWT signing key just written to ${deps.where} cannot be read back; check the directory`);
  }
  if (!generated) deps.logger.info({ scope: LOG_SCOPE.ca }, 'Root and issuer certs found: using credentials from store');
  const checked = checkBundleTexts(read.texts, deps.clock.now(), deps.policy, deps.where);
  for (const note of checked.notes) {
    deps.logger[note.severity === 'warning' ? 'warn' : 'info']({ code: note.code, subject: note.subject }, note.message);
  }
  return { ...checked, version: read.version, generated };
}

/**
 * Dapr 1.16-1.18's exact text, so alerts on it match; Warden does not keep the root's private key,
 * which the fields say.
 */
export const GENERATED_MESSAGE = 'Self-signed certs and JWT root key generated and persisted successfully';
export const GENERATED_FIELDS = { rootKeyKept: false } as const;

/** `--jwt-enabled` and the stored bundle lacks `jwt.key` or `jwks.json`: Dapr generates a pair then. */
export function needsJwtMaterial(texts: BundleTexts, deps: Pick<StartupDeps, 'policy'>): boolean {
  return deps.policy.jwtSettings !== undefined && !hasJwtTexts(texts);
}

/**
 * `texts` with a new JWT pair, as Dapr's Sentry makes one (`ca.New`: RSA-2048, RS256, kid = the
 * key's thumbprint). Warden goes one step further: with `--jwt-signing-algorithm` ES256, ES384 or
 * EdDSA it generates a key of that type (Dapr generates RSA and then refuses it on the next start).
 */
export function withNewJwtMaterial(texts: BundleTexts, deps: Pick<StartupDeps, 'policy' | 'logger'>): BundleTexts {
  deps.logger.info({ scope: LOG_SCOPE.ca }, 'Generating JWT signing key and persisting to store');
  const material = generateJwtMaterialFor(deps.policy.jwtSettings?.algorithm);
  return { ca: texts.ca, issuerCert: texts.issuerCert, issuerKey: texts.issuerKey, ...jwtMaterialToTexts(material) };
}

/** Generates the self-signed CA Sentry makes when it finds none, with Dapr's log lines; both modes persist it. */
export function generateSelfSignedBundle(
  deps: Pick<StartupDeps, 'logger' | 'clock' | 'trustDomain' | 'namespace' | 'keyAlgorithm' | 'clockSkewMs' | 'serials'>,
): TrustBundle {
  deps.logger.info({ scope: LOG_SCOPE.ca }, 'Root and issuer certs not found: generating self signed CA');
  const { bundle } = generateTrustBundle({
    clock: deps.clock,
    trustDomain: deps.trustDomain,
    namespace: deps.namespace,
    keyAlgorithm: deps.keyAlgorithm,
    clockSkewMs: deps.clockSkewMs,
    // Dapr's sentry generates its issuer without an authorityKeyIdentifier (one fresh root).
    issuerAuthorityKeyId: false,
    ...(deps.serials !== undefined ? { serials: deps.serials } : {}),
  });
  deps.logger.info({ scope: LOG_SCOPE.ca }, 'Generating self-signed CA certs and persisting to store');
  return bundle;
}

async function generateAndPersist(deps: StartupDeps): Promise<void> {
  const bundle = generateSelfSignedBundle(deps);
  // The X.509 files alone: a JWT pair already stored (provided by the operator) is kept by the
  // store; a missing one is generated by the step after this.
  await deps.store.write(bundle.toTexts());
  deps.metrics.issuerCertChanged.inc();
  deps.logger.info(
    { scope: LOG_SCOPE.ca, dir: deps.where, rootNotAfter: bundle.root.notAfter.toISOString(), keyAlgorithm: deps.keyAlgorithm, ...GENERATED_FIELDS },
    GENERATED_MESSAGE,
  );
}
