/**
 * When a CA certificate is "expiring": one pure function of (validity, now, policy), shared by the
 * Sentry expiry watch and the checks' warning window so the two cannot drift (design §4).
 */

/** Default warning window: 30 days before NotAfter, as Dapr's historic watcher and CLI use. */
export const DEFAULT_EXPIRY_WARNING_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

export interface ValidityPeriod {
  notBefore: Date;
  notAfter: Date;
}

export interface ExpiryPolicy {
  /** Warn when less than this much time is left; default 30 days. */
  warnWithinMs?: number;
}

export type ExpiryState = 'not-yet-valid' | 'valid' | 'expiring' | 'expired';

export interface ExpiryStatus {
  state: ExpiryState;
  /** NotAfter − now; negative once expired. */
  remainingMs: number;
}

/**
 * Classifies a certificate at `now`: `expired` once now > NotAfter (Go's x509 treats NotAfter
 * itself as still valid), `not-yet-valid` before NotBefore, `expiring` when less than the window
 * remains, else `valid`.
 */
export function expiryStatus(cert: ValidityPeriod, now: Date, policy: ExpiryPolicy = {}): ExpiryStatus {
  const window = policy.warnWithinMs ?? DEFAULT_EXPIRY_WARNING_WINDOW_MS;
  const remainingMs = cert.notAfter.getTime() - now.getTime();
  if (remainingMs < 0) return { state: 'expired', remainingMs };
  if (now.getTime() < cert.notBefore.getTime()) return { state: 'not-yet-valid', remainingMs };
  if (remainingMs < window) return { state: 'expiring', remainingMs };
  return { state: 'valid', remainingMs };
}
