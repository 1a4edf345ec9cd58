/**
 * The trust-bundle check chain (design §4): one ordered list of small named checks, run the same
 * way by `warden mtls verify`, the sentry's start-up and reload paths and the expiry monitoring.
 *
 * Order: structure of ca.crt, then of issuer.crt, the key, the path to the anchors and what that
 * path allows, then time, then advice. It follows Dapr's own validation order (spec 2.7: anchors
 * self-signed → chain order → key match → verification) where the two overlap, and it is the order
 * of `runChecks`' findings.
 */
import type { TrustBundle } from '../bundle.js';
import { WardenError, type ErrorCode } from '../errors.js';
import { checkAnchorDuplicates, checkAnchorsSelfSigned } from './anchors.js';
import { checkIssuerIsCa, checkPathLength } from './ca-constraints.js';
import { checkChainOrder, checkIssuerFromAnchors } from './chain.js';
import { checkExtKeyUsage } from './ext-key-usage.js';
import { checkIssuerKeyMatches } from './issuer-key.js';
import { checkJwtKey } from './jwt-key.js';
import { checkIssuerCoversTtl, checkIssuerOutlivesRoot } from './lifetimes.js';
import { checkLegacyProfile, checkMultiRoot } from './provenance.js';
import { errorFinding, type Check, type CheckPolicy, type Finding } from './types.js';
import { checkIssuerExpiry, checkNotYetValid, checkRootExpiry } from './validity.js';

export * from './types.js';
export { resolveTrustPath, type TrustPath } from './trust-path.js';
export {
  checkAnchorsSelfSigned, checkAnchorDuplicates, checkChainOrder, checkIssuerKeyMatches, checkIssuerIsCa,
  checkIssuerFromAnchors, checkPathLength, checkExtKeyUsage, checkNotYetValid, checkRootExpiry, checkIssuerExpiry,
  checkIssuerOutlivesRoot, checkIssuerCoversTtl, checkLegacyProfile, checkMultiRoot, checkJwtKey,
};

/** Every check, in the order its findings are reported. */
export const CHECKS: readonly Check[] = Object.freeze([
  checkAnchorsSelfSigned, //  ERR_ANCHOR_NOT_SELF_SIGNED
  checkAnchorDuplicates, //   WARN_ANCHOR_DUPLICATE
  checkChainOrder, //         ERR_CHAIN_ORDER
  checkIssuerIsCa, //         ERR_ISSUER_NOT_CA
  checkIssuerKeyMatches, //   ERR_BUNDLE_KEY_MISMATCH
  checkIssuerFromAnchors, //  ERR_ISSUER_NOT_FROM_ANCHORS
  checkPathLength, //         ERR_PATH_LEN_EXCEEDED
  checkExtKeyUsage, //        ERR_EKU_NOT_SERVER_AUTH
  checkNotYetValid, //        ERR_NOT_YET_VALID, WARN_ANCHOR_NOT_YET_VALID
  checkRootExpiry, //         ERR_ROOT_EXPIRED, WARN_ROOT_EXPIRING, WARN_ANCHOR_EXPIRED
  checkIssuerExpiry, //       ERR_ISSUER_EXPIRED, WARN_ISSUER_EXPIRING
  checkIssuerOutlivesRoot, // WARN_ISSUER_OUTLIVES_ROOT
  checkIssuerCoversTtl, //    WARN_ISSUER_SHORTER_THAN_TTL
  checkLegacyProfile, //      WARN_LEGACY_PROFILE
  checkMultiRoot, //          INFO_MULTI_ROOT
  checkJwtKey, //             INFO_JWT_KEY, WARN_JWT_RETIRED_KEY_EXPIRED
]);

/**
 * Runs `checks` (default: the whole chain) in order and concatenates their findings. Never throws:
 * a check that fails unexpectedly becomes an ERR_BUNDLE_INVALID finding naming it.
 */
export function runChecks(bundle: TrustBundle, now: Date, policy: CheckPolicy = {}, checks: readonly Check[] = CHECKS): Finding[] {
  const findings: Finding[] = [];
  for (const check of checks) {
    try {
      findings.push(...check(bundle, now, policy));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      findings.push(errorFinding('ERR_BUNDLE_INVALID', 'bundle', `check ${check.name || '(anonymous)'} could not run: ${why}`));
    }
  }
  return findings;
}

/** True when any finding is an error (the bundle must not be used to sign). */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/**
 * Throws a `WardenError` carrying the first error finding's code, its message listing every error
 * finding (`subject: message`, one per line); returns when there is none.
 */
export function assertNoErrors(findings: readonly Finding[]): void {
  const errors = findings.filter((f) => f.severity === 'error');
  const first = errors[0];
  if (first === undefined) return;
  const lines = errors.map((f) => `${f.subject}: ${f.message}`);
  throw new WardenError(first.code as ErrorCode, lines.join('\n'));
}
