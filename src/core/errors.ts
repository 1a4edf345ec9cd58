/**
 * Warden's error contract (design §4, modelled on panva/jose `src/util/errors.ts`).
 *
 * Every user-facing failure is a `WardenError` with a stable `code`. Codes are mapped to gRPC
 * statuses only in `src/sentry` and to exit codes only in `src/cli`. Tests assert codes, not prose.
 * Every code is documented in docs/errors.md with what to do about it.
 */
/**
 * The codes the trust-bundle check chain reports as errors: a bundle that is wrong. The CLI exits 3
 * for these (a check failed), 1 for everything else.
 */
export const CHECK_ERROR_CODES = [
  'ERR_BUNDLE_INVALID',
  'ERR_ANCHOR_NOT_SELF_SIGNED',
  'ERR_CHAIN_ORDER',
  'ERR_ISSUER_NOT_FROM_ANCHORS',
  'ERR_BUNDLE_KEY_MISMATCH',
  'ERR_ISSUER_NOT_CA',
  'ERR_NOT_YET_VALID',
  'ERR_ROOT_EXPIRED',
  'ERR_ISSUER_EXPIRED',
  'ERR_EKU_NOT_SERVER_AUTH',
  'ERR_PATH_LEN_EXCEEDED',
  'ERR_BUNDLE_CANARY_FAILED', // not from the chain: the sentry's canary leaf (src/sentry/canary-leaf.ts)
] as const;

export const ERROR_CODES = [
  // DER / PEM / keys
  'ERR_DER_INVALID',
  'ERR_PEM_INVALID',
  'ERR_KEY_INVALID',
  'ERR_KEY_UNSUPPORTED',
  // certificates and CSRs
  'ERR_CERT_INVALID',
  'ERR_CSR_INVALID',
  'ERR_CSR_SIGNATURE',
  'ERR_CSR_TOO_LARGE',
  'ERR_CSR_KEY_UNSUPPORTED',
  'ERR_CSR_KEY_WEAK',
  // identities
  'ERR_SPIFFE_ID_INVALID',
  'ERR_TRUST_DOMAIN_INVALID',
  'ERR_REQUEST_INVALID',
  'ERR_IDENTITY_DENIED', 'ERR_VALIDATOR_NOT_READY', // KUBERNETES validator (src/sentry/validators)
  // trust bundle checks (src/core/checks)
  ...CHECK_ERROR_CODES,
  // signing
  'ERR_ISSUER_NOT_VALID_NOW',
  // stores
  'ERR_BUNDLE_NOT_FOUND',
  'ERR_BUNDLE_PARTIAL',
  'ERR_STORE_IO',
  'ERR_STORE_CONFLICT',
  // configuration and usage
  'ERR_USAGE',
  'ERR_FILE_IO',
  'ERR_CONFIG_INVALID',
  'ERR_DURATION_INVALID',
  'ERR_LISTEN_FAILED',
  'ERR_SENTRY_WORKER_FAILED', // warden sentry --workers: a worker died before it was ready (src/sentry/cluster)
  'ERR_JWKS_UNAVAILABLE', // the JWKS validator's source cannot be read (src/sentry/validators/jwks-source.ts)
  'ERR_OIDC_TLS_INVALID', // --oidc-server-tls-cert-file / -key-file do not load (src/sentry/oidc/server.ts)
  'ERR_JWT_KEY_INVALID', 'ERR_JWKS_INVALID', 'ERR_JWT_ALGORITHM', // jwt.key / jwks.json (src/core/jwt-key.ts)
  // network / client side
  'ERR_SENTRY_UNAVAILABLE',
  'ERR_SENTRY_REJECTED',
  'ERR_SENTRY_IDENTITY',
  'ERR_SENTRY_RESPONSE_INVALID',
  'ERR_SENTRY_CHAIN_UNTRUSTED',
  'ERR_TRUST_ANCHORS_INVALID',
  'ERR_PEER_IDENTITY',
  'ERR_ROLLOUT_FAILED', 'ERR_ROLLOUT_TIMEOUT', 'ERR_RESTART_FAILED', // kube rollouts and ordered restarts (src/kube)
  // Kubernetes (src/kube, KubeTrustBundleStore)
  'ERR_KUBE_UNREACHABLE', 'ERR_KUBE_FORBIDDEN', 'ERR_KUBE_NOT_FOUND', 'ERR_KUBE_API', 'ERR_DAPR_NOT_FOUND', 'ERR_TRUST_ANCHORS_MISMATCH',
  // root rotation, rollback (src/rotation-engine)
  'ERR_ROTATION_IN_PROGRESS', 'ERR_ROTATION_NOT_FOUND', 'ERR_ROTATION_DIVERGED', 'ERR_ROTATION_NOT_CONVERGED', 'ERR_TRUST_NOT_CONVERGED',
  'ERR_ROTATION_JOURNAL_INVALID', 'ERR_ROTATION_INTERRUPTED', 'ERR_BACKUP_EXPIRED',
  // fs store hardening (src/stores/fs-*.ts)
  'ERR_BUNDLE_FILE_NOT_REGULAR', 'ERR_BUNDLE_FILE_TOO_LARGE', 'ERR_STORE_SYMLINK_REFUSED',
  // warden fleet / monitor (src/fleet): a target did not answer within --timeout
  'ERR_FLEET_TIMEOUT',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class WardenError extends Error {
  override readonly name = 'WardenError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isWardenError(value: unknown, code?: ErrorCode): value is WardenError {
  return value instanceof WardenError && (code === undefined || value.code === code);
}
