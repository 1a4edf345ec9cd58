/**
 * Dapr's per-package log scopes (dapr/kit `logger.NewLogger(<scope>)`), so log queries that filter on
 * Dapr Sentry's `scope` field keep matching. Messages pass `{ scope }` as a field: the record's
 * field wins over the logger's default `dapr.sentry` (logger.ts).
 */
export const LOG_SCOPE = {
  /** cmd/sentry/app, pkg/sentry: start-up, reload, shutdown. */
  sentry: 'dapr.sentry',
  /** pkg/sentry/server/ca: the trust bundle found, generated or stored. */
  ca: 'dapr.sentry.ca',
  /** pkg/sentry/server: the gRPC server and signing. */
  server: 'dapr.sentry.server',
  /** pkg/sentry/server/oidc: the OIDC discovery server. */
  oidc: 'dapr.sentry.server.oidc.http',
  /** pkg/sentry/server/validator/jwks: the JWKS token validator. */
  jwks: 'dapr.sentry.identity.jwks',
  /** pkg/sentry/server/validator/kubernetes: the KUBERNETES validator's refusals. */
  identityKubernetes: 'dapr.sentry.identity.kubernetes',
} as const;
