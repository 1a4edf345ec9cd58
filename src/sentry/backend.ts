/**
 * What differs between Sentry's two modes, behind one interface so `runSentry` has one start-up,
 * serving, reload and shutdown path:
 * - standalone: the bundle in a credentials directory, a Configuration YAML file, file-system
 *   watches, the INSECURE validator, or the JWKS validator when configured (this file);
 * - kubernetes: the bundle in the `dapr-trust-bundle` Secret and ConfigMap, the Configuration CR,
 *   API watches, the KUBERNETES validator (kube-backend.ts).
 */
import { FsTrustBundleStore } from '../stores/fs-store.js';
import type { CaStateHolder } from './ca-state.js';
import { loadSentryConfig, type SentryConfig } from './config.js';
import { jwtFileNames, type SentryOptions } from './options.js';
import { loadStartupBundle, type BundleStore, type StartupBundle, type StartupDeps } from './startup-bundle.js';
import { insecureValidator, type Validator } from './validators.js';
import { JwksValidator } from './validators/jwks.js';
import type { Clock } from '../core/clock.js';
import { buildSpiffeId } from '../core/spiffe-id.js';
import type { Logger } from 'pino';

export type BackendStartupDeps = Omit<StartupDeps, 'store' | 'where'>;

export interface SentryBackend {
  /** Names where the bundle lives, in messages: a directory, or `Secret <ns>/dapr-trust-bundle`. */
  readonly where: string;
  readonly config: SentryConfig;
  /** What the reloader re-reads. */
  readonly store: BundleStore;
  /** Enabled validators; undefined → the mode's default set. */
  readonly validators?: readonly Validator[];
  /** The start-up bundle, by the mode's decision table (spec 3.3 with Warden's fixes). */
  loadStartupBundle(deps: BackendStartupDeps): Promise<StartupBundle>;
  /** Change notifications for the reloader; undefined → file-system watches of `store.watchPaths()`. */
  readonly subscribe?: ((onChange: () => void) => () => void) | undefined;
  /** Called once the listeners are open: starts validators and side watches. */
  start?(ctx: { caState: CaStateHolder }): void;
  /** Called after a reloaded bundle was installed. */
  afterInstall?(): Promise<void>;
  /** Why the mode is not ready to serve yet (e.g. the validator's API probe), or undefined. */
  notReadyReason?(): string | undefined;
  /** Stops everything `start` started; idempotent. */
  close(): Promise<void>;
}

/** The self-hosted backend: files, and the INSECURE validator or the configured JWKS validator. */
export async function openStandaloneBackend(options: SentryOptions, clock: Clock, logger: Logger): Promise<SentryBackend> {
  const config = await loadSentryConfig(options.config);
  const store = new FsTrustBundleStore({
    dir: options.issuerCredentials,
    caFile: options.issuerCaFilename,
    issuerCertFile: options.issuerCertificateFilename,
    issuerKeyFile: options.issuerKeyFilename,
    ...jwtFileNames(options),
    clock,
  });
  const where = options.issuerCredentials;
  const jwks = jwksValidatorFor(options, config, clock, logger);
  // Dapr enables INSECURE only when no validator is configured (spec 1.5).
  if (jwks !== undefined) logger.info('Using validator \'jwks\'');
  return {
    where,
    config,
    store,
    validators: jwks === undefined ? [insecureValidator] : [jwks],
    loadStartupBundle: (deps) => loadStartupBundle({ ...deps, store, where }),
    start: () => jwks?.start(),
    notReadyReason: () => jwksNotReadyReason(jwks),
    close: async () => jwks?.stop(),
  };
}

/** The JWKS validator the Configuration asks for (`spec.mtls.tokenValidators`), or undefined. */
export function jwksValidatorFor(options: SentryOptions, config: SentryConfig, clock: Clock, logger: Logger): JwksValidator | undefined {
  if (config.jwksValidator === undefined) return undefined;
  const sentryId = buildSpiffeId(options.trustDomain, options.namespace, 'dapr-sentry');
  logger.info(`Adding validator 'jwks' with Sentry ID: ${sentryId}`);
  return new JwksValidator({ ...config.jwksValidator, sentryId, clock, logger, retryMs: options.jwksRetryMs });
}

/** Health: Dapr's target `sentry-jwks-validator` is ready once the JWKS is loaded. */
export function jwksNotReadyReason(jwks: JwksValidator | undefined): string | undefined {
  if (jwks === undefined || jwks.ready) return undefined;
  return `JWKS validator not ready (${jwks.cache.notReadyReason ?? 'loading the JWKS'})`;
}
