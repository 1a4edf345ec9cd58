/**
 * When the sentry renews its own CA (`warden sentry --auto-renew`), and whether it can: pure
 * functions of the bundle, the policy and the root key it was given.
 *
 * A certificate is due for renewal at the EARLIER of
 *   notBefore + renewAt × lifetime          (`--renew-at`, a fraction of its lifetime)
 *   notAfter − renewBefore                  (`--renew-before`, a duration)
 * The bundle is due when its root or its issuer is. Defaults (docs/operations.md, "Automatic
 * renewal"): renewAt 2/3 (cert-manager's default: a third of the lifetime is left), renewBefore
 * 7 days. A rotation needs add-anchor + propagation + switch-issuer before the old issuer ends
 * (seconds self-hosted, the rollouts' time in Kubernetes) and then workload TTL + clock skew
 * (24 h 15 m by default) before the old root can go; 7 days is that with room for a sentry or API
 * outage over a long weekend.
 */
import type { TrustBundle } from './bundle.js';
import type { KeyObject } from 'node:crypto';
import { publicKeysEqual } from './keys.js';
import { DAY_MS } from './thresholds.js';

export interface AutoRenewPolicy {
  /** Fraction of a certificate's lifetime after which it is renewed (0 < f < 1). */
  renewAt: number;
  /** Renew at the latest this long before a certificate's NotAfter. */
  renewBeforeMs: number;
}

export const DEFAULT_RENEW_AT = 2 / 3;
export const DEFAULT_RENEW_BEFORE_MS = 7 * DAY_MS;
export const DEFAULT_AUTO_RENEW_POLICY: Readonly<AutoRenewPolicy> = Object.freeze({ renewAt: DEFAULT_RENEW_AT, renewBeforeMs: DEFAULT_RENEW_BEFORE_MS });

interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** When one certificate is due: the earlier of the fraction and the duration rule (never before NotBefore). */
export function certificateRenewalTime(cert: Validity, policy: AutoRenewPolicy): Date {
  const start = cert.notBefore.getTime();
  const end = cert.notAfter.getTime();
  const byFraction = start + Math.floor((end - start) * policy.renewAt);
  const byDuration = end - policy.renewBeforeMs;
  return new Date(Math.max(start, Math.min(byFraction, byDuration)));
}

export interface RenewalDue {
  at: Date;
  /** Which certificate makes the bundle due first. */
  which: 'root' | 'issuer';
}

/** When the bundle is due: the earlier of its root's and its issuer's renewal times. */
export function bundleRenewalTime(bundle: TrustBundle, policy: AutoRenewPolicy): RenewalDue {
  const root = certificateRenewalTime(bundle.root, policy);
  const issuer = certificateRenewalTime(bundle.issuer, policy);
  return issuer.getTime() < root.getTime() ? { at: issuer, which: 'issuer' } : { at: root, which: 'root' };
}

export type Renewability =
  | { renewable: true; source: 'fresh' | 'private-key'; why: string }
  | { renewable: false; why: string };

/**
 * Can the sentry renew this bundle without a person's key?
 * - with a root key that matches the current root: yes, a new root certificate for the same key
 *   (as `renew-certificate --private-key`), so the anchors stay the same key;
 * - a root in the profile Dapr's and Warden's sentries generate (self-signed, subject exactly
 *   `O=<trust domain>`, the issuer signed by it directly): yes, with a freshly generated root, as
 *   the sentry made the first one; nobody outside the mesh trusts it;
 * - anything else (a bring-your-own root, an intermediate from a corporate CA): no; the sentry
 *   warns, counts and (Kubernetes) records Events instead, and a person rotates it.
 */
export function assessRenewability(bundle: TrustBundle, rootKey: KeyObject | undefined): Renewability {
  const root = bundle.root;
  if (rootKey !== undefined) {
    if (publicKeysEqual(rootKey, root.publicKey)) return { renewable: true, source: 'private-key', why: 'the root key was provided (--auto-renew-root-key)' };
    return { renewable: false, why: 'the provided root key (--auto-renew-root-key) does not belong to the current root' };
  }
  const generated = root.subject.text === root.issuer.text
    && /^O=[^,=]+$/.test(root.subject.text)
    && bundle.issuerChain.length === 1;
  if (generated) return { renewable: true, source: 'fresh', why: `the root (${root.subject.text}) is one a sentry generates: a fresh root replaces it` };
  return {
    renewable: false,
    why: `the root (${root.subject.text || 'no subject'}) was brought by its operator and its key was not given to the sentry; ` +
      'rotate it with `warden mtls rotate`, or start the sentry with --auto-renew-root-key',
  };
}
