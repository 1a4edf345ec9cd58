/**
 * `warden sentry` options. Names follow Sentry's flags (spec 3.1) in camelCase; defaults are
 * Sentry's except where noted. The CLI maps flags onto this object; tests build it directly.
 */
import { DEFAULT_TRUST_RESTART_POLICY, type TrustRestartPolicy } from '../kube/trust-restart-policy.js';
import { isAbsolute } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { DEFAULT_DAPR_VERSION, type DaprVersion } from '../core/profile.js';
import type { ClusterDomainSources } from './kube-cluster-domain.js';
import type { SerialSource } from '../core/serial.js';
import type { KubeClients } from '../kube/client.js';
import type { Sleeper } from '../rotation-engine/backend.js';
import { DEFAULT_RENEW_AT, DEFAULT_RENEW_BEFORE_MS } from '../core/auto-renew.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './grpc/limits.js';
import type { OidcServerOptions } from './oidc/options.js';
import type { MemoryReleasePolicy } from './memory-release.js';

export type SentryMode = 'standalone' | 'kubernetes';

export interface SentryOptions {
  /** Credentials directory (`--issuer-credentials`). */
  issuerCredentials: string;
  /** Root file (`--issuer-ca-filename`); relative names are joined with the credentials directory. */
  issuerCaFilename: string;
  /** Issuer chain file (`--issuer-certificate-filename`). */
  issuerCertificateFilename: string;
  /** Issuer key file (`--issuer-key-filename`). */
  issuerKeyFilename: string;
  /** Trust domain of Sentry's own identity and of a generated bundle (`--trust-domain`). */
  trustDomain: string;
  /** gRPC port (`--port`); 0 picks a free port (see `RunningSentry.port`). */
  port: number;
  /** gRPC listen address (`--listen-address`); empty means all interfaces. */
  listenAddress: string;
  healthzPort: number;
  healthzListenAddress: string;
  metricsPort: number;
  /** Metrics listen address (Warden addition; Dapr has none and listens everywhere). */
  metricsListenAddress: string;
  enableMetrics: boolean;
  /**
   * `--config`: standalone, the path of a Dapr `Configuration` YAML (optional in Warden: defaults
   * apply); kubernetes, the name of the `Configuration` in Sentry's namespace (default `daprsystem`).
   */
  config?: string | undefined;
  mode: SentryMode;
  /** Sentry's namespace (env `NAMESPACE`). */
  namespace: string;
  /**
   * Cluster domain for the scheduler's DNS SANs (spec 2.4). Undefined: as the emulated Dapr finds it
   * (kube-cluster-domain.ts: resolv.conf search list in Kubernetes mode, the trust domain otherwise).
   */
  clusterDomain?: string | undefined;
  /** Tests: where the Kubernetes cluster domain lookup reads resolv.conf and resolves names. */
  clusterDomainSources?: ClusterDomainSources | undefined;
  /** Start warning this long before the root or issuer expires (default 30 days). */
  expiryWarningWindowMs: number;
  /** Repeat the expiry warning this often (default 1 hour). */
  expiryWarningIntervalMs: number;
  /** Key algorithm of a bundle Sentry generates when none exists. */
  keyAlgorithm: 'ed25519' | 'ecdsa-p256';
  /**
   * `--dapr-version`: the Dapr Sentry whose leaf profile is issued (Warden addition; spec 2.3, 2.8):
   * 1.18 (default) digitalSignature only, 1.16/1.17 digitalSignature + keyEncipherment.
   */
  daprVersion: DaprVersion;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully (the CLI wants this; tests don't). */
  handleSignals: boolean;
  /** How long in-flight calls may run after shutdown starts before they are cancelled. */
  shutdownGraceMs: number;
  /** File events within this window are handled as one reload (Dapr: 2 s). */
  reloadDebounceMs: number;
  /** Largest gRPC message accepted (bytes). */
  maxReceiveMessageBytes: number;
  /**
   * `--max-connections`: gRPC connections one process holds at once (Warden addition; grpc/limits.ts).
   * Never more than the open-file limit leaves after a reserve for health, metrics and files.
   */
  maxConnections: number;
  /** `--max-connections-per-peer`: gRPC connections one process holds from one peer address (Warden addition). */
  maxConnectionsPerPeer: number;
  /** Tests: the gRPC server's other limits (grpc/limits.ts), e.g. short timeouts. */
  grpcLimits?: Partial<ServerLimits> | undefined;
  /**
   * `--workers`: processes serving gRPC (Warden addition). 1 runs today's single process; more runs
   * a primary that forks that many node:cluster workers sharing the port (cluster/; self-hosted only).
   */
  workers: number;
  /**
   * `--sign-threads`: worker threads that check CSRs and sign leaves, so the main thread only does
   * TLS, HTTP/2 and gRPC (Warden addition; sign-threads.ts). 0 signs on the main thread.
   */
  signThreads: number;
  /**
   * `--release-memory`: after a storm of connections has subsided, run a V8 garbage collection and
   * glibc's malloc_trim so the process gives the storm's memory back (Warden addition; memory-release.ts).
   */
  releaseMemory: boolean;
  /** Tests: the memory release policy's thresholds. */
  memoryReleasePolicy?: Partial<MemoryReleasePolicy> | undefined;
  /** Kubernetes mode: kubeconfig file (`--kubeconfig`; else $KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string | undefined;
  /** Kubernetes mode: kubeconfig context (`--context`). */
  kubeContext?: string | undefined;
  /** Kubernetes mode: environment for `KUBECONFIG`, `HOME` and in-cluster detection (default `process.env`). */
  kubeEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** Kubernetes mode: API clients to use instead of loading a kubeconfig (tests). */
  kubeClients?: KubeClients | undefined;
  /** Kubernetes mode: how often the trust-bundle Secret is re-read besides the credentials mount's events (default 10 s). */
  kubeSecretPollMs?: number | undefined;
  /** Kubernetes mode: how long the KUBERNETES validator reuses a pod or Configuration it read (default 10 s). */
  identityCacheTtlMs?: number | undefined;
  /**
   * The OIDC discovery server (`--oidc-*`, oidc/): set when `--oidc-enabled` and `--jwt-enabled`
   * are both on (Dapr runs it only then). Serves the JWKS of the current bundle (`TrustBundle.jwt`).
   */
  oidc?: OidcServerOptions | undefined;
  /** Tests: first wait after the JWKS validator's first load failed (default 1 s, doubling). */
  jwksRetryMs?: number | undefined;
  /**
   * `--auto-renew`: renew the CA before it expires with the phased rotation (auto-renew/renewer.ts).
   * Off by default: an operator opts in to the sentry writing its own bundle.
   */
  autoRenew: boolean;
  /** `--renew-at`: fraction of a certificate's lifetime after which it is renewed (default 2/3). */
  renewAt: number;
  /** `--renew-before`: renew at the latest this long before NotAfter (default 7 days). */
  renewBeforeMs: number;
  /** `--auto-renew-root-key`: the current root's private key file; renew with it rather than a fresh root. */
  autoRenewRootKey?: string | undefined;
  /** How often the renewer re-reads the journal and the bundle (default 1 h). */
  autoRenewCheckIntervalMs: number;
  /** Wait after a failed rotation step (default 1 min). */
  autoRenewRetryDelayMs: number;
  /** `--renew-propagation-delay`: the engine's wait after each write (default: the backend's, 10 s self-hosted, 90 s Kubernetes). */
  autoRenewPropagationDelayMs?: number | undefined;
  /** How long a phase may take to converge (default 10 min). */
  autoRenewTimeoutMs: number;
  /** Kubernetes: the coordination.k8s.io/v1 Lease that elects the acting replica (default `warden-sentry-auto-renew`). */
  autoRenewLeaseName: string;
  /** Kubernetes: the Lease's duration (default 15 s, client-go's leader election). */
  autoRenewLeaseDurationMs: number;
  /** Tests: how the renewer (and the engine it runs) waits; default real timers. */
  autoRenewSleeper?: Sleeper | undefined;
  /** Tests: this replica's Lease identity (default hostname + pid). */
  autoRenewIdentity?: string | undefined;
  /** Kubernetes: `--auto-renew-restarts`, what an automatic rotation may restart for every pod to trust the new root (default `apps`). */
  autoRenewRestarts: TrustRestartPolicy;
  /** Kubernetes: `--distribute-trust`, keep `dapr-root-ca.crt` in every namespace with Dapr apps in sync (in and outside rotations). */
  distributeTrust: boolean;
  /** How often `--distribute-trust` re-syncs the ConfigMaps outside a rotation (default 1 min). */
  distributeTrustIntervalMs: number;
  /** Tests with a simulated clock: how often the serving certificate's renewal re-reads the clock (default 1 min). */
  servingCheckIntervalMs?: number | undefined;
  /** Injected for tests; defaults to the system clock. */
  clock?: Clock | undefined;
  /** Injected for tests; defaults to a pino JSON logger on stdout. */
  logger?: Logger | undefined;
  /** Injected for tests; defaults to 16 random bytes. */
  serials?: SerialSource | undefined;
  /** `--jwt-enabled`: issue JWT-SVIDs (`jwt`, `per_audience_jwts`) with every certificate. */
  jwtEnabled: boolean;
  /** `--jwt-key-filename` (default `jwt.key`); as in Dapr, only an absolute path moves it out of the credentials directory. */
  jwtKeyFilename: string;
  /** `--jwks-filename` (default `jwks.json`); same rule. */
  jwksFilename: string;
  /** `--jwt-issuer`: the `iss` claim; undefined leaves it out. Needs `jwtEnabled`. */
  jwtIssuer?: string | undefined;
  /** `--jwt-signing-algorithm` (default RS256); must suit the signing key (Dapr's check). */
  jwtSigningAlgorithm: string;
  /** `--jwt-key-id`: the `kid` (default: the JWKS entry's kid, else the key's base64 SHA-256 thumbprint). */
  jwtKeyId?: string | undefined;
  /** `--jwt-ttl` (default 24h). */
  jwtTtlMs: number;
}

const HOUR_MS = 60 * 60 * 1000;

/** Defaults, Sentry's where Sentry has one (spec 3.1). */
export const DEFAULT_SENTRY_OPTIONS: Readonly<SentryOptions> = Object.freeze({
  issuerCredentials: '/var/run/secrets/dapr.io/credentials',
  issuerCaFilename: 'ca.crt',
  issuerCertificateFilename: 'issuer.crt',
  issuerKeyFilename: 'issuer.key',
  trustDomain: 'localhost',
  port: 50001,
  listenAddress: '',
  healthzPort: 8080,
  healthzListenAddress: '',
  metricsPort: 9090,
  metricsListenAddress: '',
  enableMetrics: true,
  config: undefined,
  mode: 'standalone',
  namespace: process.env['NAMESPACE'] || 'default',
  clusterDomain: undefined,
  expiryWarningWindowMs: 30 * 24 * HOUR_MS,
  expiryWarningIntervalMs: HOUR_MS,
  keyAlgorithm: 'ed25519',
  daprVersion: DEFAULT_DAPR_VERSION,
  handleSignals: false,
  shutdownGraceMs: 10_000,
  reloadDebounceMs: 2_000,
  maxReceiveMessageBytes: 64 * 1024,
  maxConnections: DEFAULT_SERVER_LIMITS.maxConnections,
  maxConnectionsPerPeer: DEFAULT_SERVER_LIMITS.maxConnectionsPerPeer,
  workers: 1,
  signThreads: 0,
  autoRenew: false,
  renewAt: DEFAULT_RENEW_AT,
  renewBeforeMs: DEFAULT_RENEW_BEFORE_MS,
  autoRenewCheckIntervalMs: HOUR_MS,
  autoRenewRetryDelayMs: 60_000,
  autoRenewTimeoutMs: 10 * 60_000,
  autoRenewLeaseName: 'warden-sentry-auto-renew',
  autoRenewLeaseDurationMs: 15_000,
  autoRenewRestarts: DEFAULT_TRUST_RESTART_POLICY,
  distributeTrust: false,
  distributeTrustIntervalMs: 60_000,
  jwtEnabled: false,
  jwtKeyFilename: 'jwt.key',
  jwksFilename: 'jwks.json',
  jwtIssuer: undefined,
  jwtSigningAlgorithm: 'RS256',
  jwtKeyId: undefined,
  jwtTtlMs: 24 * HOUR_MS,
  releaseMemory: true,
});

/** Where the JWT files are: Dapr uses `--jwt-key-filename` / `--jwks-filename` only when absolute (cmd/sentry/app). */
export function jwtFileNames(options: Pick<SentryOptions, 'jwtKeyFilename' | 'jwksFilename'>): { jwtKeyFile: string; jwksFile: string } {
  return {
    jwtKeyFile: isAbsolute(options.jwtKeyFilename) ? options.jwtKeyFilename : 'jwt.key',
    jwksFile: isAbsolute(options.jwksFilename) ? options.jwksFilename : 'jwks.json',
  };
}

/** Fills in defaults for every option not given. */
export function withSentryDefaults(partial: Partial<SentryOptions>): SentryOptions {
  const merged: SentryOptions = { ...DEFAULT_SENTRY_OPTIONS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  return merged;
}
