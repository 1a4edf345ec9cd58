/**
 * The OIDC discovery server's options (`--oidc-*`; Dapr's `cmd/sentry/options/options.go` and
 * `pkg/sentry/server/oidc/oidc.go`). An optional field is "given" exactly when Dapr's flag was
 * changed on the command line (pflag `Changed`), which Dapr distinguishes from its empty default:
 * e.g. `--oidc-jwks-uri=""` announces an empty `jwks_uri` instead of computing one.
 */
export interface OidcServerOptions {
  /** `--oidc-server-listen-address` (Dapr default `localhost`; the Helm chart passes `0.0.0.0`). */
  listenAddress: string;
  /** `--oidc-server-listen-port` (default 9080); 0 picks a free port (tests). */
  port: number;
  /** `--oidc-server-tls-cert-file` and `--oidc-server-tls-key-file`: TLS is served when both are given. */
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
  /** `--oidc-jwks-uri`: the `jwks_uri` announced instead of one computed from the request. */
  jwksUri?: string | undefined;
  /** `--oidc-path-prefix`: prefix of both endpoints. */
  pathPrefix?: string | undefined;
  /** `--oidc-allowed-hosts`: when not empty, requests for other hosts get 403 (`*` allows all). */
  allowedHosts: readonly string[];
  /** `--jwt-issuer`: the `issuer` announced; undefined or empty → computed from the request. */
  jwtIssuer?: string | undefined;
  /** The JWT signing algorithm announced when the bundle has no JWT material yet (`--jwt-signing-algorithm`). */
  signingAlgorithm: string;
  /** How often to look for the TLS files while they are missing, and for changes to them (Dapr: 5 s). */
  tlsPollMs?: number | undefined;
}

/** Dapr: polls every 5 s while the TLS files are missing. */
export const DEFAULT_TLS_POLL_MS = 5_000;

/** What `--oidc-*` looked like on the command line, for `checkOidcFlags`. */
export interface OidcFlags {
  enabled: boolean;
  tlsEnabled: boolean;
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

/**
 * Dapr's `Options.Validate` for the OIDC flags (fatal as `Invalid options: <message>`, before the
 * first log line): with OIDC and TLS enabled, both files must be given.
 */
export function validateOidcFlags(flags: OidcFlags): string | undefined {
  if (flags.enabled && flags.tlsEnabled) {
    if (flags.tlsCertFile === undefined) {
      return 'oidc-server-tls-cert-file is required when OIDC HTTP server is enabled (unless oidc-server-tls-enabled is false)';
    }
    if (flags.tlsKeyFile === undefined) {
      return 'oidc-server-tls-key-file is required when OIDC HTTP server is enabled (unless oidc-server-tls-enabled is false)';
    }
  }
  return undefined;
}

/** Dapr's `cmd/sentry/app` check, whatever else is set: one TLS file without the other is fatal. */
export function checkOidcTlsPair(flags: OidcFlags): string | undefined {
  if ((flags.tlsCertFile === undefined) !== (flags.tlsKeyFile === undefined)) {
    return 'both OIDC TLS certificate and key must be provided if one is specified';
  }
  return undefined;
}
