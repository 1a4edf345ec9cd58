/**
 * Turning stored bundle texts into a TrustBundle Sentry may sign with: parse, run the shared check
 * chain, refuse on any error finding, then sign and verify a canary leaf (canary-leaf.ts). Used at
 * start-up (both modes, and a `--workers` primary) and on every reload, so all apply the same
 * rules as `warden mtls verify`, and no bundle signs a request before it has signed one leaf that
 * verifies against its anchors.
 */
import { TrustBundle } from '../core/bundle.js';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';
import type { JwtSettings } from '../core/jwt-key.js';
import { runChecks, type Finding } from '../core/checks/index.js';
import { ERROR_CODES, WardenError, isWardenError, type ErrorCode } from '../core/errors.js';
import { verifyCanaryLeaf } from './canary-leaf.js';

export interface CheckPolicy {
  warnWithinMs: number;
  workloadTtlMs: number;
  clockSkewMs: number;
  /**
   * With `--jwt-enabled`: the JWT settings the JWT pair is checked with (jwt-key.ts). Without,
   * the JWT files are not read at all (Dapr reads and fails on them even then).
   */
  jwtSettings?: JwtSettings | undefined;
}

export interface CheckedBundle {
  bundle: TrustBundle;
  /** Warning and info findings, for the log. */
  notes: Finding[];
}

const PARSE_REMEDY = 'fix the file (see "warden mtls verify") or replace the bundle with "warden mtls renew-certificate"';

/**
 * Parses and checks `texts` at `now`. Throws a WardenError whose code is the first error finding's
 * (or the parse error's) and whose message lists every error finding; each finding's message
 * already says what to run to fix it.
 */
export function checkBundleTexts(texts: BundleTexts, now: Date, policy: CheckPolicy, where: string): CheckedBundle {
  if (policy.jwtSettings !== undefined && !hasJwtTexts(texts)) {
    // Start-up generates a missing pair before this; on reload, keep the key that signs now.
    throw new WardenError('ERR_JWT_KEY_INVALID', `the trust bundle in ${where} has no JWT signing key (jwt.key and jwks.json), ` +
      'which --jwt-enabled needs; restore both files (they are in the backups), or restart the sentry to generate a new pair');
  }
  let bundle: TrustBundle;
  try {
    bundle = policy.jwtSettings === undefined
      ? TrustBundle.fromTexts({ ca: texts.ca, issuerCert: texts.issuerCert, issuerKey: texts.issuerKey })
      : TrustBundle.fromTexts(texts, policy.jwtSettings);
  } catch (err) {
    const code: ErrorCode = isWardenError(err) ? err.code : 'ERR_BUNDLE_INVALID';
    throw new WardenError(
      code,
      `the trust bundle in ${where} cannot be read: ${(err as Error).message}; ${PARSE_REMEDY}`,
      { cause: err },
    );
  }
  const findings = runChecks(bundle, now, policy);
  const errors = findings.filter((f) => f.severity === 'error');
  const first = errors[0];
  if (first !== undefined) {
    const code = toErrorCode(first.code);
    const list = errors.map((f) => `${f.code} (${f.subject}): ${f.message}`).join('\n');
    throw new WardenError(code, `the trust bundle in ${where} is not usable:\n${list}`);
  }
  try {
    verifyCanaryLeaf(bundle, now, policy);
  } catch (err) {
    const code: ErrorCode = isWardenError(err) ? err.code : 'ERR_BUNDLE_CANARY_FAILED';
    throw new WardenError(
      code,
      `the trust bundle in ${where} is not usable: ${(err as Error).message}; restore the matching issuer.crt and ` +
        'issuer.key, or replace the bundle with "warden mtls renew-certificate"',
      { cause: err },
    );
  }
  return { bundle, notes: findings.filter((f) => f.severity !== 'error') };
}

function toErrorCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'ERR_BUNDLE_INVALID';
}
