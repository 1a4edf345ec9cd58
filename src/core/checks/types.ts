/**
 * Shared types of the trust-bundle check chain (design §4, after cert-manager
 * `pkg/controller/certificates/trigger/policies/`): each check is a small named pure function of
 * (bundle, now, policy) returning findings with stable codes. Error findings use `ErrorCode`s from
 * errors.ts (so a finding can become a `WardenError`); warnings and infos use `FINDING_CODES`.
 */
import type { TrustBundle } from '../bundle.js';
import type { ErrorCode } from '../errors.js';
import { DEFAULT_WARN_WITHIN_MS, HOUR_MS } from '../thresholds.js';

/** Warning (`WARN_*`) and info (`INFO_*`) codes; error codes live in `ERROR_CODES` (errors.ts). */
export const FINDING_CODES = [
  'WARN_ANCHOR_DUPLICATE',
  'WARN_ANCHOR_NOT_YET_VALID',
  'WARN_ANCHOR_EXPIRED',
  'WARN_ROOT_EXPIRING',
  'WARN_ISSUER_EXPIRING',
  'WARN_ISSUER_OUTLIVES_ROOT',
  'WARN_ISSUER_SHORTER_THAN_TTL',
  'WARN_LEGACY_PROFILE',
  'WARN_JWT_RETIRED_KEY_EXPIRED',
  'INFO_MULTI_ROOT',
  'INFO_JWT_KEY',
] as const;

export type WarningCode = Extract<(typeof FINDING_CODES)[number], `WARN_${string}`>;
export type InfoCode = Extract<(typeof FINDING_CODES)[number], `INFO_${string}`>;
export type FindingCode = ErrorCode | WarningCode | InfoCode;

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Stable code: an `ERR_*` for errors, `WARN_*` / `INFO_*` otherwise. Tests assert codes, not prose. */
  code: FindingCode;
  severity: Severity;
  /** Which part of the bundle: `root O=cluster.local`, `root#2 O=…`, `issuer`, `intermediate#1 O=…`, `issuer.key`, `bundle`. */
  subject: string;
  /** What is wrong and what to do about it. */
  message: string;
}

export interface CheckPolicy {
  /** Warn when a root or issuer has less than this left; default 30 days. */
  warnWithinMs?: number;
  /** Sentry's workload certificate TTL (`workloadCertTTL`); default 24 h. */
  workloadTtlMs?: number;
  /** Sentry's allowed clock skew (`allowedClockSkew`); default 15 min. */
  clockSkewMs?: number;
}

export const DEFAULT_CHECK_POLICY: Readonly<Required<CheckPolicy>> = Object.freeze({
  warnWithinMs: DEFAULT_WARN_WITHIN_MS,
  workloadTtlMs: 24 * HOUR_MS,
  clockSkewMs: 15 * 60 * 1000,
});

/** A check: pure, never throws on a parsed bundle, reads the time only from `now`. */
export type Check = (bundle: TrustBundle, now: Date, policy: CheckPolicy) => Finding[];

/** `policy` with every default filled in. */
export function resolvePolicy(policy: CheckPolicy = {}): Required<CheckPolicy> {
  return {
    warnWithinMs: policy.warnWithinMs ?? DEFAULT_CHECK_POLICY.warnWithinMs,
    workloadTtlMs: policy.workloadTtlMs ?? DEFAULT_CHECK_POLICY.workloadTtlMs,
    clockSkewMs: policy.clockSkewMs ?? DEFAULT_CHECK_POLICY.clockSkewMs,
  };
}

export function errorFinding(code: ErrorCode, subject: string, message: string): Finding {
  return { code, severity: 'error', subject, message };
}

export function warningFinding(code: WarningCode, subject: string, message: string): Finding {
  return { code, severity: 'warning', subject, message };
}

export function infoFinding(code: InfoCode, subject: string, message: string): Finding {
  return { code, severity: 'info', subject, message };
}
