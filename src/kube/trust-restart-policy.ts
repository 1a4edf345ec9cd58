/**
 * What a rotation may restart so that every running Dapr pod trusts the new root before the
 * issuer switches (issue 10): `warden mtls rotate -k --restarts` and the sentry's
 * `--auto-renew-restarts`.
 *  - `apps` (default): the control plane in order, then every Dapr app whose pods do not trust the
 *    new root yet (an app known to trust it — e.g. it mounts the distributed `dapr-root-ca.crt` —
 *    is left alone), then each pod still behind, once.
 *  - `control-plane`: the control plane only; apps are waited for (their owners restart them, or
 *    they read the distributed ConfigMap).
 *  - `none`: nothing is restarted; every pod is waited for.
 * Whatever the policy, the issuer is never switched while a pod does not trust the new root: the
 * wait ends with ERR_TRUST_NOT_CONVERGED naming the pods (docs/operations.md).
 */
import { WardenError } from '../core/errors.js';

export const TRUST_RESTART_POLICIES = ['none', 'control-plane', 'apps'] as const;
export type TrustRestartPolicy = (typeof TRUST_RESTART_POLICIES)[number];

/** Today's `rotate -k` behaviour, and what an unattended renewal needs to finish (docs/operations.md). */
export const DEFAULT_TRUST_RESTART_POLICY: TrustRestartPolicy = 'apps';

export function isTrustRestartPolicy(value: unknown): value is TrustRestartPolicy {
  return typeof value === 'string' && (TRUST_RESTART_POLICIES as readonly string[]).includes(value);
}

/** Parses a flag value; ERR_USAGE naming the choices otherwise. */
export function parseTrustRestartPolicy(value: string, flag = '--restarts'): TrustRestartPolicy {
  if (isTrustRestartPolicy(value)) return value;
  throw new WardenError('ERR_USAGE', `${flag} must be one of ${TRUST_RESTART_POLICIES.join(', ')} (got "${value}")`);
}

/** What a policy lets a phase restart, given what the phase would restart. */
export function allowedRestarts(policy: TrustRestartPolicy, wanted: { controlPlane: boolean; apps: boolean }): { controlPlane: boolean; apps: boolean } {
  return {
    controlPlane: wanted.controlPlane && policy !== 'none',
    apps: wanted.apps && policy === 'apps',
  };
}
