/**
 * Expiry thresholds as pure functions of (certificate, now, policy) (design §4, after cert-manager
 * `pkg/util/pki/renewaltime.go`). The check chain, the sentry's expiry log and the CLI banners all
 * call these, so "when do we warn" cannot drift between them.
 *
 * Boundaries follow Go's `crypto/x509` (a certificate is valid while notBefore <= now <= notAfter)
 * and Dapr's own "< 30 days" rules (spec 5.1, 6.5): exactly `warnWithinMs` left is still 'valid'.
 * The state classification itself lives in expiry-window.ts; this module adds the shared wording.
 */

import { DEFAULT_EXPIRY_WARNING_WINDOW_MS, expiryStatus, type ExpiryState, type ValidityPeriod } from './expiry-window.js';

export type { ExpiryState };

/** What the thresholds need from a certificate; `Certificate` (certificate.ts) satisfies it. */
export type Validity = ValidityPeriod;

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** Warn when less than this is left (Dapr's CLI and historic Sentry log both use 30 days). */
export const DEFAULT_WARN_WITHIN_MS = DEFAULT_EXPIRY_WARNING_WINDOW_MS;

/** Milliseconds from `now` until `notAfter`; negative once expired. */
export function timeLeftMs(cert: Pick<Validity, 'notAfter'>, now: Date): number {
  return cert.notAfter.getTime() - now.getTime();
}

/**
 * Where `now` falls in the certificate's life: 'expired' iff now > notAfter (Go's rule: notAfter
 * itself is still valid), 'not-yet-valid' iff now < notBefore, 'expiring' iff less than
 * `warnWithinMs` is left, else 'valid'. Delegates to expiry-window.ts so there is one rule.
 */
export function expiryState(cert: Validity, now: Date, warnWithinMs: number = DEFAULT_WARN_WITHIN_MS): ExpiryState {
  return expiryStatus(cert, now, { warnWithinMs }).state;
}

/**
 * Whole days and remaining whole hours in `ms`, truncated toward zero as Go's `int(d.Hours())`
 * then `/24` and `%24` do (historic Sentry log `certificate expires in <d> days and <h> hours`).
 */
export function daysAndHoursLeft(ms: number): { days: number; hours: number } {
  const totalHours = Math.trunc(ms / HOUR_MS);
  // `+ 0` turns the -0 that trunc/% give for small negatives into 0.
  return { days: Math.trunc(totalHours / 24) + 0, hours: (totalHours % 24) + 0 };
}

/** Wording knobs for {@link daprCliExpiryBanner}; the defaults give Dapr's exact text. */
export interface BannerWording {
  /** Which certificate: 'root' (Dapr's) or e.g. 'issuer'. */
  certificate?: string;
  /** Words after "certificate" (default 'of your Kubernetes cluster'); '' drops them. */
  scope?: string;
}

/**
 * Dapr CLI's post-command expiry banner (spec 6.5, `dapr/cli: pkg/kubernetes/mtls.go`
 * `CheckForCertExpiry`): days = trunc(hoursLeft / 24); no banner unless days < thresholdDays.
 * Returns just the message (`Dapr root certificate of your Kubernetes cluster expires in 29 days.`),
 * `… expires today.` for 0 days (which includes the first 24 h after expiry) and `… has expired.`
 * below that; null when no banner is due.
 */
export function daprCliExpiryBanner(
  notAfter: Date,
  now: Date,
  thresholdDays = 30,
  wording: BannerWording = {},
): string | null {
  const hoursLeft = (notAfter.getTime() - now.getTime()) / HOUR_MS;
  const days = Math.trunc(hoursLeft / 24) + 0;
  if (days >= thresholdDays) return null;
  const scope = wording.scope ?? 'of your Kubernetes cluster';
  const prefix = `Dapr ${wording.certificate ?? 'root'} certificate${scope === '' ? '' : ` ${scope}`}`;
  if (days === 0) return `${prefix} expires today.`;
  if (days < 0) return `${prefix} has expired.`;
  return `${prefix} expires in ${days} days.`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function clockUtc(d: Date): string {
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * Go's `time.Time.String()` for a UTC time: `2025-12-06 18:14:20 +0000 UTC`. Fractional seconds
 * appear only when non-zero, with trailing zeros trimmed (`.5`, `.123`); JS dates carry milliseconds.
 */
export function goTimeString(d: Date): string {
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const ms = d.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
  return `${date} ${clockUtc(d)}${fraction} +0000 UTC`;
}

/** Go's `time.RFC1123` layout for a UTC time: `Mon, 02 Jan 2006 15:04:05 UTC`. */
export function rfc1123(d: Date): string {
  const weekday = WEEKDAYS[d.getUTCDay()] ?? '';
  const month = MONTHS[d.getUTCMonth()] ?? '';
  return `${weekday}, ${pad(d.getUTCDate())} ${month} ${pad(d.getUTCFullYear(), 4)} ${clockUtc(d)} UTC`;
}
