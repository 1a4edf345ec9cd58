/**
 * Service-account tokens as kube-apiserver issues and reviews them: RS256 JWTs with the claims
 * of projected tokens (`sub: system:serviceaccount:<ns>:<sa>`, `aud`, `exp`/`iat`/`nbf`, `jti`,
 * nested `kubernetes.io: {namespace, serviceaccount, pod, node}`), signed with a per-process key
 * published at `/openid/v1/jwks`. TokenReview follows pkg/serviceaccount (jwt.go, claims.go):
 * signature and issuer, audience intersection, expiry, and that the service account and bound pod
 * still exist with the UIDs in the token.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { Clock } from '../../../src/core/clock.js';
import type { KubeApi } from './kube-api.js';
import { isJsonObject, kubeTime, type JsonObject } from './objects.js';

export const TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** The API server's own audiences (`--api-audiences`), used when a request names none. */
export const API_AUDIENCES: readonly string[] = ['https://kubernetes.default.svc.cluster.local'];

export interface MintTokenOptions {
  namespace: string;
  serviceAccount: string;
  /** Default: the API server audiences. */
  audiences?: readonly string[];
  /** Default 3600. The TokenRequest API refuses less than 600; the helper does not. */
  expirationSeconds?: number;
  /** Bind the token to this pod (it must exist): adds the `kubernetes.io.pod` claim. */
  podName?: string;
  /** Claims merged over the generated ones (top level; `kubernetes.io` replaces the whole object). */
  claims?: JsonObject;
}

export interface MintedToken {
  token: string;
  expirationTimestamp: string;
  claims: JsonObject;
}

export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username: string; uid: string; groups: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
  error?: string;
}

interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

let sharedKey: SigningKey | undefined;

function signingKey(): SigningKey {
  if (!sharedKey) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // kube-apiserver's key id: base64url(SHA-256(DER SubjectPublicKeyInfo)).
    const kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
    sharedKey = { privateKey, publicKey, kid };
  }
  return sharedKey;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class TokenAuthority {
  constructor(private readonly api: KubeApi, private readonly clock: Clock) {}

  /** Issues a token for an existing service account (as the TokenRequest API does). Throws a 404 Status when it or the pod is missing. */
  mint(opts: MintTokenOptions): MintedToken {
    const sa = this.api.get('serviceaccounts', opts.namespace, opts.serviceAccount);
    const pod = opts.podName ? this.api.get('pods', opts.namespace, opts.podName) : undefined;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const exp = now + (opts.expirationSeconds ?? 3600);
    const k8s: JsonObject = {
      namespace: opts.namespace,
      serviceaccount: { name: opts.serviceAccount, uid: sa.metadata.uid },
    };
    if (pod) {
      k8s.pod = { name: pod.metadata.name, uid: pod.metadata.uid };
      const nodeName = (pod.spec as JsonObject | undefined)?.nodeName;
      if (typeof nodeName === 'string') k8s.node = { name: nodeName, uid: createHash('sha1').update(nodeName).digest('hex') };
    }
    const claims: JsonObject = {
      aud: [...(opts.audiences ?? API_AUDIENCES)], exp, iat: now, iss: TOKEN_ISSUER, jti: randomUUID(),
      'kubernetes.io': k8s, nbf: now, sub: `system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`,
      ...opts.claims,
    };
    const key = signingKey();
    const signingInput = `${b64url({ alg: 'RS256', kid: key.kid })}.${b64url(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), key.privateKey).toString('base64url');
    return { token: `${signingInput}.${signature}`, expirationTimestamp: kubeTime(new Date(exp * 1000)), claims };
  }

  /** The `status` of a TokenReview for `token` and the requested audiences. */
  review(token: string, requested: readonly string[] | undefined): TokenReviewStatus {
    const fail = (why: string): TokenReviewStatus => ({ authenticated: false, error: `[invalid bearer token, ${why}]` });
    const parts = token.split('.');
    let header: JsonObject;
    let claims: JsonObject;
    try {
      if (parts.length !== 3) throw new Error('not a JWS');
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as JsonObject;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as JsonObject;
      if (!isJsonObject(header) || !isJsonObject(claims)) throw new Error('not JSON objects');
    } catch {
      // Not a JWT of this issuer: no authenticator claims it.
      return { authenticated: false, error: 'invalid bearer token' };
    }
    if (claims.iss !== TOKEN_ISSUER) return { authenticated: false, error: 'invalid bearer token' };
    const key = signingKey();
    if (header.kid !== undefined && header.kid !== key.kid) return fail('invalid signature, no keys found');
    const valid = header.alg === 'RS256'
      && verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!valid) return fail('go-jose/go-jose: error in cryptographic primitive');

    const tokenAudiences = Array.isArray(claims.aud) ? claims.aud.map(String) : typeof claims.aud === 'string' ? [claims.aud] : [...API_AUDIENCES];
    const wanted = requested && requested.length > 0 ? [...requested] : [...API_AUDIENCES];
    const audiences = tokenAudiences.filter((a) => wanted.includes(a));
    if (audiences.length === 0) {
      return fail(`token audiences ${goQuote(tokenAudiences)} is invalid for the target audiences ${goQuote(wanted)}`);
    }
    const now = this.clock.now().getTime() / 1000;
    const leeway = 60; // go-jose jwt.DefaultLeeway
    if (typeof claims.exp === 'number' && now > claims.exp + leeway) return fail('service account token has expired');
    if (typeof claims.nbf === 'number' && now < claims.nbf - leeway) return fail('service account token is not valid yet');

    const k8s = isJsonObject(claims['kubernetes.io']) ? claims['kubernetes.io'] : {};
    const namespace = String(k8s.namespace ?? '');
    const saRef = isJsonObject(k8s.serviceaccount) ? k8s.serviceaccount : {};
    const sa = this.api.find('serviceaccounts', namespace, String(saRef.name ?? ''));
    if (!sa) return fail(`serviceaccounts "${String(saRef.name ?? '')}" not found`);
    if (sa.metadata.uid !== saRef.uid) return fail(`service account UID (${sa.metadata.uid}) does not match claim (${String(saRef.uid)})`);
    const extra: Record<string, string[]> = {};
    if (typeof claims.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
    if (isJsonObject(k8s.pod)) {
      const pod = this.api.find('pods', namespace, String(k8s.pod.name ?? ''));
      if (!pod) return fail('service account token has been invalidated');
      if (pod.metadata.uid !== k8s.pod.uid) {
        return fail(`pod UID (${pod.metadata.uid}) does not match service account pod ref claim (${String(k8s.pod.uid)})`);
      }
      if (isJsonObject(k8s.node)) {
        extra['authentication.kubernetes.io/node-name'] = [String(k8s.node.name)];
        extra['authentication.kubernetes.io/node-uid'] = [String(k8s.node.uid)];
      }
      extra['authentication.kubernetes.io/pod-name'] = [String(k8s.pod.name)];
      extra['authentication.kubernetes.io/pod-uid'] = [String(k8s.pod.uid)];
    }
    const saName = String(saRef.name);
    return {
      authenticated: true,
      user: {
        username: `system:serviceaccount:${namespace}:${saName}`,
        uid: String(saRef.uid),
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        extra,
      },
      audiences,
    };
  }

  /** `/openid/v1/jwks`. */
  jwks(): { keys: JsonObject[] } {
    const key = signingKey();
    const jwk = key.publicKey.export({ format: 'jwk' });
    return { keys: [{ use: 'sig', kty: 'RSA', kid: key.kid, alg: 'RS256', n: jwk.n, e: jwk.e }] };
  }

  /** `/.well-known/openid-configuration`. */
  openidConfiguration(serverUrl: string): JsonObject {
    return {
      issuer: TOKEN_ISSUER, jwks_uri: `${serverUrl}/openid/v1/jwks`, response_types_supported: ['id_token'],
      subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
    };
  }
}

/** Go's `%q` of a []string: `["a" "b"]`. */
function goQuote(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}
