import type { TrustRestartPolicy } from '../../kube/trust-restart-policy.js';
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { workerIndexOf } from '../../sentry/cluster/workers-option.js';
import type { CliDeps, RunningSentryHandle, SentryOptions } from '../deps.js';
import type { Logger } from 'pino';
import { WardenError } from '../../core/errors.js';
import { keyAlgorithmForDaprVersion, type DaprVersion } from '../../core/profile.js';
import { wardenVersion } from '../../sentry/version.js';
import { createSentryLogger, type DaprLogLevel, type SentryLogFormat } from '../../sentry/logger.js';
import { EXIT, exitCodeForError } from '../exit-codes.js';
import type { Io } from '../io.js';
import { defaultCredentialsDirFor } from '../options.js';
import { checkOidcTlsPair, validateOidcFlags, type OidcFlags, type OidcServerOptions } from '../../sentry/oidc/options.js';
import { DEFAULT_SENTRY_OPTIONS } from '../../sentry/options.js';

/** `warden sentry` flags (spec 3.1); undefined means "not given" → Sentry's default. */
export interface SentryCommandOptions {
  issuerCredentials?: string;
  issuerCaFilename: string;
  issuerCertificateFilename: string;
  issuerKeyFilename: string;
  trustDomain: string;
  port: number;
  listenAddress: string;
  healthzPort: number;
  healthzListenAddress: string;
  metricsPort: number;
  metricsListenAddress: string;
  enableMetrics: boolean;
  config?: string;
  mode: 'standalone' | 'kubernetes';
  kubeconfig?: string;
  context?: string;
  kubeSecretPollInterval?: number;
  expiryWarningWindow: number;
  expiryWarningInterval: number;
  clusterDomain?: string;
  /** Undefined: the one `--dapr-version`'s Sentry generates. */
  keyAlgorithm?: 'ed25519' | 'ecdsa-p256';
  daprVersion: DaprVersion;
  /** `--workers`, already parsed (`auto` resolved to the core count). */
  workers: number;
  /** `--sign-threads`, already parsed (`auto` resolved). */
  signThreads: number;
  /** `--release-memory`: give memory back after a connection storm (default true). */
  releaseMemory: boolean;
  maxConnections: number;
  maxConnectionsPerPeer: number;
  autoRenew: boolean;
  renewAt: number;
  renewBefore: number;
  autoRenewRootKey?: string;
  renewPropagationDelay?: number;
  autoRenewLeaseDuration: number;
  autoRenewRestarts: TrustRestartPolicy;
  distributeTrust: boolean;
  logLevel?: DaprLogLevel;
  logAsJson: boolean;
  logFile?: string;
  logFormat: SentryLogFormat;
  jwtEnabled: boolean;
  jwtKeyFilename: string;
  jwksFilename: string;
  jwtIssuer?: string;
  jwtSigningAlgorithm: string;
  jwtKeyId?: string;
  /** `--jwt-ttl`, already parsed (ms). */
  jwtTtl: number;
  oidcEnabled: boolean;
  oidcServerListenPort: number;
  oidcServerListenAddress: string;
  oidcServerTlsEnabled: boolean;
  /** The OIDC strings below are undefined when not given (Dapr tests pflag's `Changed`). */
  oidcServerTlsCertFile?: string;
  oidcServerTlsKeyFile?: string;
  oidcJwksUri?: string;
  oidcPathPrefix?: string;
  oidcAllowedHosts?: string[];
  /** Option names (camelCase) given on the command line or through their environment variable, not defaulted. */
  setByUser?: readonly string[];
  /** Positional arguments, which Dapr's Sentry ignores (pflag leaves `false` of `--enable-metrics false` there). */
  ignoredArgs?: readonly string[];
}

/**
 * `warden sentry`: starts the CA server with the flags mapped onto `SentryOptions`, waits for
 * SIGTERM or SIGINT, closes it gracefully and exits 0. `--issuer-credentials` defaults to
 * `$HOME/.dapr/certs` (Dapr's sentry: `/var/run/secrets/dapr.io/credentials`); relative paths are
 * taken from io.cwd. The namespace comes from env NAMESPACE (default `default`), as in Dapr.
 * With `--mode kubernetes` the bundle is read through the API (`--kubeconfig`, `--context`) and
 * `--config` names a Configuration in that namespace rather than a file.
 * With `--workers N` (N > 1) this process becomes the primary and forks N workers that run this
 * same command line (sentry/cluster/); a worker waits for its primary's `shutdown` (or a signal).
 */
export async function sentryCommand(opts: SentryCommandOptions, io: Io, deps: CliDeps): Promise<number> {
  const logger = createSentryLogger({
    level: opts.logLevel,
    format: opts.logFormat,
    json: opts.logAsJson,
    file: opts.logFile === undefined ? undefined : resolve(io.cwd, opts.logFile),
  });
  try {
    // Dapr's Options.Validate, fatal before anything is logged.
    const invalid = validateOidcFlags(oidcFlagsOf(opts));
    if (invalid !== undefined) throw new WardenError('ERR_USAGE', `Invalid options: ${invalid}`);
    // cmd/sentry/app's first lines. Warden has no build commit to report.
    logger.info(`Starting Dapr Sentry certificate authority -- version ${wardenVersion()} -- commit unknown`);
    logger.info(`Log level set to: ${opts.logLevel ?? logger.level}`);
    const code = await runSentry(opts, io, deps, logger);
    if (opts.logFormat === 'dapr' && code === EXIT.ok) logger.info('Sentry shut down gracefully');
    return code;
  } catch (err) {
    // Dapr's start-up failures are `log.Fatal`: one `level=fatal` line, exit 1.
    if (opts.logFormat !== 'dapr') throw err;
    logger.fatal(err instanceof Error ? err.message : String(err));
    return EXIT.failed;
  }
}

/** The --auto-renew flags; the rest of the renewer's settings keep their defaults. */
function autoRenewOptions(opts: SentryCommandOptions, io: Io): Pick<SentryOptions, 'autoRenew' | 'renewAt' | 'renewBeforeMs' | 'autoRenewRootKey' | 'autoRenewPropagationDelayMs' | 'autoRenewCheckIntervalMs' | 'autoRenewRetryDelayMs' | 'autoRenewTimeoutMs' | 'autoRenewLeaseName' | 'autoRenewLeaseDurationMs' | 'autoRenewRestarts' | 'distributeTrust' | 'distributeTrustIntervalMs'> {
  const d = DEFAULT_SENTRY_OPTIONS;
  return {
    autoRenew: opts.autoRenew,
    renewAt: opts.renewAt,
    renewBeforeMs: opts.renewBefore,
    autoRenewRootKey: opts.autoRenewRootKey === undefined ? undefined : resolve(io.cwd, opts.autoRenewRootKey),
    autoRenewPropagationDelayMs: opts.renewPropagationDelay,
    autoRenewCheckIntervalMs: d.autoRenewCheckIntervalMs,
    autoRenewRetryDelayMs: d.autoRenewRetryDelayMs,
    autoRenewTimeoutMs: d.autoRenewTimeoutMs,
    autoRenewLeaseName: d.autoRenewLeaseName,
    autoRenewLeaseDurationMs: opts.autoRenewLeaseDuration,
    autoRenewRestarts: opts.autoRenewRestarts,
    distributeTrust: opts.distributeTrust,
    distributeTrustIntervalMs: d.distributeTrustIntervalMs,
  };
}

async function runSentry(opts: SentryCommandOptions, io: Io, deps: CliDeps, logger: Logger): Promise<number> {
  // Dapr's Options.Validate, with its text.
  if (opts.jwtIssuer !== undefined && !opts.jwtEnabled) throw new WardenError('ERR_USAGE', 'jwt-issuer cannot be set when jwt-enabled is false');
  if (!opts.jwtEnabled) logger.debug('JWT is disabled; the other --jwt-* flags are ignored');
  const oidc = oidcOptionsOf(opts, io, logger);
  if (opts.ignoredArgs && opts.ignoredArgs.length > 0) {
    logger.warn({ args: opts.ignoredArgs }, `Ignoring positional arguments ${JSON.stringify(opts.ignoredArgs)}: Dapr's Sentry takes none (a bool flag takes its value as --flag=false)`);
  }
  if (opts.setByUser?.includes('autoRenewRestarts') && (!opts.autoRenew || opts.mode !== 'kubernetes')) {
    // Harmless, so a warning rather than a refusal (every value --help shows is accepted back as input):
    // only the Kubernetes renewer restarts anything; self-hosted, the sentry cannot restart daprd processes.
    logger.warn({ flag: '--auto-renew-restarts' }, `Ignoring --auto-renew-restarts ${opts.autoRenewRestarts}: it applies only with --mode kubernetes and --auto-renew (what an automatic rotation in Kubernetes may restart). Self-hosted, restart daprd yourself between add-anchor and switch-issuer (give it time with --renew-propagation-delay)`);
  }
  if (opts.distributeTrust && (!opts.autoRenew || opts.mode !== 'kubernetes')) {
    // The ConfigMaps are kept in sync by the replica that holds the auto-renew Lease.
    throw new WardenError('ERR_USAGE', '--distribute-trust needs --mode kubernetes and --auto-renew (the replica holding the auto-renew Lease keeps dapr-root-ca.crt in sync); use `warden mtls rotate -k --distribute-trust` for a manual rotation');
  }
  const options: SentryOptions = {
    issuerCredentials: resolve(io.cwd, opts.issuerCredentials ?? defaultCredentialsDirFor(io)),
    issuerCaFilename: opts.issuerCaFilename,
    issuerCertificateFilename: opts.issuerCertificateFilename,
    issuerKeyFilename: opts.issuerKeyFilename,
    trustDomain: opts.trustDomain,
    port: opts.port,
    listenAddress: opts.listenAddress,
    healthzPort: opts.healthzPort,
    healthzListenAddress: opts.healthzListenAddress,
    metricsPort: opts.metricsPort,
    metricsListenAddress: opts.metricsListenAddress,
    enableMetrics: opts.enableMetrics,
    config: opts.config === undefined || opts.mode === 'kubernetes' ? opts.config : resolve(io.cwd, opts.config),
    mode: opts.mode,
    kubeconfig: opts.kubeconfig === undefined ? undefined : resolve(io.cwd, opts.kubeconfig),
    kubeContext: opts.context,
    kubeSecretPollMs: opts.kubeSecretPollInterval,
    kubeEnv: io.env,
    expiryWarningWindowMs: opts.expiryWarningWindow,
    expiryWarningIntervalMs: opts.expiryWarningInterval,
    clusterDomain: opts.clusterDomain,
    // Where the Kubernetes cluster domain lookup reads resolv.conf (tests; default /etc/resolv.conf).
    ...(io.env.WARDEN_RESOLV_CONF ? { clusterDomainSources: { resolvConfPath: resolve(io.cwd, io.env.WARDEN_RESOLV_CONF) } } : {}),
    keyAlgorithm: opts.keyAlgorithm ?? keyAlgorithmForDaprVersion(opts.daprVersion),
    daprVersion: opts.daprVersion,
    workers: opts.workers,
    signThreads: opts.signThreads,
    releaseMemory: opts.releaseMemory,
    maxConnections: opts.maxConnections,
    maxConnectionsPerPeer: opts.maxConnectionsPerPeer,
    oidc,
    ...autoRenewOptions(opts, io),
    jwtEnabled: opts.jwtEnabled,
    jwtKeyFilename: opts.jwtKeyFilename,
    jwksFilename: opts.jwksFilename,
    jwtIssuer: opts.jwtIssuer,
    jwtSigningAlgorithm: opts.jwtSigningAlgorithm,
    jwtKeyId: opts.jwtKeyId,
    jwtTtlMs: opts.jwtTtl,
    namespace: io.env.NAMESPACE || 'default',
    clock: io.clock,
    logger,
    // The CLI owns the signals: it waits for one below, then closes.
    handleSignals: false,
  };
  let running: RunningSentryHandle;
  try {
    running = await deps.startSentry(options);
  } catch (err) {
    // A worker has told its primary why; the primary prints the error once, not once per worker.
    if (workerIndexOf(io.env, cluster.isWorker) !== undefined) return exitCodeForError(err);
    throw err;
  }
  await Promise.race([deps.waitForShutdown(), ...(running.closed ? [running.closed] : [])]);
  await running.close();
  return EXIT.ok;
}

/**
 * The OIDC server's options from the `--oidc-*` flags, after Dapr's start-up check that the TLS
 * files come as a pair (ERR_USAGE). Undefined unless both `--oidc-enabled` and `--jwt-enabled` are on: Dapr
 * then logs "OIDC HTTP server is disabled" and serves nothing; Warden warns as well, since the
 * operator asked for it.
 */
export function oidcOptionsOf(opts: SentryCommandOptions, io: Io, logger: Logger): OidcServerOptions | undefined {
  const problem = checkOidcTlsPair(oidcFlagsOf(opts));
  if (problem !== undefined) throw new WardenError('ERR_USAGE', problem);
  if (!opts.oidcEnabled) return undefined;
  if (!opts.jwtEnabled) {
    logger.warn('--oidc-enabled has no effect without --jwt-enabled: the OIDC server publishes the JWT signing keys; add --jwt-enabled');
    return undefined;
  }
  const inCwd = (file: string | undefined): string | undefined => (file === undefined ? undefined : resolve(io.cwd, file));
  return {
    listenAddress: opts.oidcServerListenAddress,
    port: opts.oidcServerListenPort,
    tlsCertFile: inCwd(opts.oidcServerTlsCertFile),
    tlsKeyFile: inCwd(opts.oidcServerTlsKeyFile),
    jwksUri: opts.oidcJwksUri,
    pathPrefix: opts.oidcPathPrefix,
    allowedHosts: opts.oidcAllowedHosts ?? [],
    jwtIssuer: opts.jwtIssuer,
    signingAlgorithm: opts.jwtSigningAlgorithm ?? 'RS256',
  };
}

function oidcFlagsOf(opts: SentryCommandOptions): OidcFlags {
  return {
    enabled: opts.oidcEnabled,
    tlsEnabled: opts.oidcServerTlsEnabled,
    tlsCertFile: opts.oidcServerTlsCertFile,
    tlsKeyFile: opts.oidcServerTlsKeyFile,
  };
}
