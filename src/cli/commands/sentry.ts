import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { workerIndexOf } from '../../sentry/cluster/workers-option.js';
import type { CliDeps, RunningSentryHandle, SentryOptions } from '../deps.js';
import type { Logger } from 'pino';
import { WardenError } from '../../core/errors.js';
import { wardenVersion } from '../../sentry/version.js';
import { createSentryLogger, type DaprLogLevel, type SentryLogFormat } from '../../sentry/logger.js';
import { EXIT, exitCodeForError } from '../exit-codes.js';
import type { Io } from '../io.js';
import { defaultCredentialsDirFor } from '../options.js';

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
  expiryWarningWindow: number;
  expiryWarningInterval: number;
  clusterDomain?: string;
  keyAlgorithm: 'ed25519' | 'ecdsa-p256';
  /** `--workers`, already parsed (`auto` resolved to the core count). */
  workers: number;
  /** `--sign-threads`, already parsed (`auto` resolved). */
  signThreads: number;
  /** `--release-memory`: give memory back after a connection storm (default true). */
  releaseMemory: boolean;
  maxConnections: number;
  maxConnectionsPerPeer: number;
  logLevel?: DaprLogLevel;
  logAsJson: boolean;
  logFile?: string;
  logFormat: SentryLogFormat;
  jwtEnabled: boolean;
  oidcEnabled: boolean;
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
  // cmd/sentry/app's first lines. Warden has no build commit to report.
  logger.info(`Starting Dapr Sentry certificate authority -- version ${wardenVersion()} -- commit unknown`);
  logger.info(`Log level set to: ${opts.logLevel ?? logger.level}`);
  try {
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

async function runSentry(opts: SentryCommandOptions, io: Io, deps: CliDeps, logger: Logger): Promise<number> {
  if (opts.jwtEnabled || opts.oidcEnabled) {
    const flag = opts.jwtEnabled ? '--jwt-enabled' : '--oidc-enabled';
    throw new WardenError('ERR_SENTRY_JWT_UNSUPPORTED',
      `${flag} is not supported yet: Warden's sentry does not issue JWT-SVIDs or serve OIDC discovery; start it without ${flag} (or with ${flag}=false)`);
  }
  logger.debug('JWT and OIDC are disabled; the other --jwt-* and --oidc-* flags are ignored');
  if (opts.ignoredArgs && opts.ignoredArgs.length > 0) {
    logger.warn({ args: opts.ignoredArgs }, `Ignoring positional arguments ${JSON.stringify(opts.ignoredArgs)}: Dapr's Sentry takes none (a bool flag takes its value as --flag=false)`);
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
    kubeEnv: io.env,
    expiryWarningWindowMs: opts.expiryWarningWindow,
    expiryWarningIntervalMs: opts.expiryWarningInterval,
    clusterDomain: opts.clusterDomain,
    keyAlgorithm: opts.keyAlgorithm,
    workers: opts.workers,
    signThreads: opts.signThreads,
    releaseMemory: opts.releaseMemory,
    maxConnections: opts.maxConnections,
    maxConnectionsPerPeer: opts.maxConnectionsPerPeer,
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
