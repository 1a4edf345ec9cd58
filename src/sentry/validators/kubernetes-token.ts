/**
 * The two things the KUBERNETES validator reads from a service-account token after the TokenReview
 * accepted it (spec 1.5 steps 4–5): the service account in the reviewed username, and the pod the
 * token is bound to, from the JWT's `kubernetes.io` claim read **without** verifying the signature
 * (the TokenReview already did). Messages are Dapr's (`validator/kubernetes/kubernetes.go`).
 */
import { WardenError } from '../../core/errors.js';

export const MISSING_POD_CLAIM = 'kubernetes.io/pod/name claim is missing from Kubernetes token';
export const NOT_A_SERVICE_ACCOUNT = 'provided token is not a properly structured service account token';

export interface TokenServiceAccount {
  namespace: string;
  name: string;
}

export interface TokenPodClaim {
  name: string;
  /** The bound pod's UID, when the token carries it (projected tokens do). */
  uid: string | undefined;
}

/**
 * `system:serviceaccount:<ns>:<sa>` → `{ namespace, name }`. Dapr checks only "4 parts, the first
 * `system`"; Warden also requires the second to be `serviceaccount` (same message), so a
 * non-service-account user that happens to have that shape is not taken for one.
 */
export function serviceAccountOfUsername(username: string): TokenServiceAccount {
  const parts = username.split(':');
  if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount') {
    throw new WardenError('ERR_IDENTITY_DENIED', NOT_A_SERVICE_ACCOUNT);
  }
  return { namespace: parts[2]!, name: parts[3]! };
}

/** The `kubernetes.io.pod` claim of an unverified JWT; `ERR_IDENTITY_DENIED` with Dapr's texts. */
export function podClaimOfToken(token: string): TokenPodClaim {
  const claims = unverifiedClaims(token);
  const k8s = claims['kubernetes.io'];
  if (k8s === undefined) throw new WardenError('ERR_IDENTITY_DENIED', MISSING_POD_CLAIM);
  if (!isRecord(k8s)) throw parseError('the "kubernetes.io" claim is not an object');
  const pod = k8s['pod'];
  if (pod !== undefined && !isRecord(pod)) throw parseError('the "kubernetes.io.pod" claim is not an object');
  const name = pod?.['name'];
  if (typeof name !== 'string' || name === '') throw new WardenError('ERR_IDENTITY_DENIED', MISSING_POD_CLAIM);
  const uid = pod?.['uid'];
  return { name, uid: typeof uid === 'string' && uid !== '' ? uid : undefined };
}

function unverifiedClaims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw parseError(`a JWS in compact form has 3 parts, this token has ${parts.length}`);
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch (err) {
    throw parseError(`the payload is not base64url JSON: ${(err as Error).message}`);
  }
  if (!isRecord(payload)) throw parseError('the payload is not a JSON object');
  return payload;
}

function parseError(why: string): WardenError {
  return new WardenError('ERR_IDENTITY_DENIED', `failed to parse Kubernetes token: ${why}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
