/**
 * Service-account tokens and TokenReview, as the KUBERNETES validator (spec 1.5) will meet them:
 * token shape and signature (checked independently with node:crypto and the published JWKS),
 * audiences, expiry, bound pod and service account lifecycle, and the TokenRequest API.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import {
  API_AUDIENCES, createPod, mintServiceAccountToken, seedDaprControlPlane, sentryAudiences, startKubeApiServer, type KubeApiServer,
} from '../support/kube-api/index.js';
import { call } from './http.js';

function decode(token: string) {
  const [h, p, s] = token.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(p, 'base64url').toString()),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

describe('Kubernetes API test server: service-account tokens and TokenReview', () => {
  const clock = new FixedClock(new Date('2026-03-01T12:00:00Z'));
  let server: KubeApiServer;
  const AUDS = sentryAudiences('cluster.local', 'dapr-system');

  before(async () => {
    server = await startKubeApiServer({ clock });
    seedDaprControlPlane(server);
    createPod(server, { namespace: 'default', name: 'orders-1', serviceAccount: 'orders', annotations: { 'dapr.io/app-id': 'orders' } });
  });
  after(() => server.close());

  it('a minted token looks like a projected token and verifies against /openid/v1/jwks', async () => {
    const token = mintServiceAccountToken(server, { namespace: 'default', podName: 'orders-1', audiences: AUDS });
    const { header, claims, signingInput, signature } = decode(token);
    const pod = server.api.get('pods', 'default', 'orders-1');
    const sa = server.api.get('serviceaccounts', 'default', 'orders');
    assert.equal(claims.sub, 'system:serviceaccount:default:orders');
    assert.deepEqual(claims.aud, AUDS);
    assert.equal(claims.iat, Date.parse('2026-03-01T12:00:00Z') / 1000);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(claims['kubernetes.io'].pod.name, 'orders-1', 'the nested claim Dapr reads as kubernetes.io.pod.name');
    assert.equal(claims['kubernetes.io'].pod.uid, pod.metadata.uid);
    assert.deepEqual(claims['kubernetes.io'].serviceaccount, { name: 'orders', uid: sa.metadata.uid });
    assert.equal(claims['kubernetes.io'].node.name, 'node-1');
    const jwks = await call(server, 'GET', '/openid/v1/jwks', { token: null });
    const [jwk] = jwks.json.keys;
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, jwk.kid);
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from(signingInput), key, signature));
    const discovery = await call(server, 'GET', '/.well-known/openid-configuration', { token: null });
    assert.equal(discovery.json.issuer, claims.iss);
  });

  it('TokenReview authenticates it for the requested audiences it carries', async () => {
    const token = mintServiceAccountToken(server, { namespace: 'default', podName: 'orders-1', audiences: AUDS });
    const r = await call(server, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...AUDS, 'unrelated'] } },
    });
    assert.equal(r.status, 201);
    assert.equal(r.json.kind, 'TokenReview');
    const { status } = r.json;
    assert.equal(status.authenticated, true);
    assert.equal(status.user.username, 'system:serviceaccount:default:orders');
    assert.equal(status.user.uid, server.api.get('serviceaccounts', 'default', 'orders').metadata.uid);
    assert.deepEqual(status.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.deepEqual(status.audiences, AUDS);
    assert.deepEqual(status.user.extra['authentication.kubernetes.io/pod-name'], ['orders-1']);
    assert.match(status.user.extra['authentication.kubernetes.io/credential-id'][0], /^JTI=/);
    const missing = await call(server, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { body: { spec: {} } });
    assert.equal(missing.status, 400);
  });

  it('a token for other audiences is refused with the real error text; no audiences means the API server\'s', () => {
    const apiToken = mintServiceAccountToken(server, { namespace: 'default', podName: 'orders-1' });
    assert.deepEqual(server.tokens.review(apiToken, AUDS), {
      authenticated: false,
      error: `[invalid bearer token, token audiences ["${API_AUDIENCES[0]}"] is invalid for the target audiences ["dapr.io/sentry" "spiffe://cluster.local/ns/dapr-system/dapr-sentry"]]`,
    });
    assert.deepEqual(server.tokens.review(apiToken, []).audiences, [...API_AUDIENCES]);
  });

  it('expiry follows the server clock with Go-jose\'s one-minute leeway', () => {
    const token = mintServiceAccountToken(server, { namespace: 'default', podName: 'orders-1', audiences: AUDS, expirationSeconds: 600 });
    try {
      clock.advance(600_000 + 59_000);
      assert.equal(server.tokens.review(token, AUDS).authenticated, true);
      clock.advance(2000);
      assert.deepEqual(server.tokens.review(token, AUDS), { authenticated: false, error: '[invalid bearer token, service account token has expired]' });
    } finally {
      clock.set(new Date('2026-03-01T12:00:00Z'));
    }
  });

  it('deleting or recreating the bound pod or the service account invalidates the token', () => {
    createPod(server, { namespace: 'default', name: 'short-lived', serviceAccount: 'temp' });
    const token = mintServiceAccountToken(server, { namespace: 'default', podName: 'short-lived', audiences: AUDS });
    assert.equal(server.tokens.review(token, AUDS).authenticated, true);
    const oldUid = server.api.get('pods', 'default', 'short-lived').metadata.uid;
    server.api.delete('pods', 'default', 'short-lived');
    assert.deepEqual(server.tokens.review(token, AUDS), { authenticated: false, error: '[invalid bearer token, service account token has been invalidated]' });
    const recreated = createPod(server, { namespace: 'default', name: 'short-lived', serviceAccount: 'temp' });
    assert.equal(server.tokens.review(token, AUDS).error,
      `[invalid bearer token, pod UID (${recreated.metadata.uid}) does not match service account pod ref claim (${oldUid})]`);
    const saToken = mintServiceAccountToken(server, { namespace: 'default', serviceAccount: 'temp', audiences: AUDS });
    server.api.delete('serviceaccounts', 'default', 'temp');
    assert.equal(server.tokens.review(saToken, AUDS).error, '[invalid bearer token, serviceaccounts "temp" not found]');
  });

  it('tampered, foreign and malformed tokens are not authenticated', () => {
    const token = mintServiceAccountToken(server, { namespace: 'default', podName: 'orders-1', audiences: AUDS });
    const { header, claims } = decode(token);
    const forged = [header, { ...claims, 'kubernetes.io': { ...claims['kubernetes.io'], namespace: 'dapr-system' } }]
      .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + `.${token.split('.')[2]}`;
    assert.deepEqual(server.tokens.review(forged, AUDS), { authenticated: false, error: '[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]' });
    const foreign = mintServiceAccountToken(server, { namespace: 'default', podName: 'orders-1', audiences: AUDS, claims: { iss: 'https://elsewhere' } });
    assert.deepEqual(server.tokens.review(foreign, AUDS), { authenticated: false, error: 'invalid bearer token' });
    assert.deepEqual(server.tokens.review('not-a-jwt', AUDS), { authenticated: false, error: 'invalid bearer token' });
  });

  it('a token without a pod binding is authenticated and simply has no pod claim', () => {
    const token = mintServiceAccountToken(server, { namespace: 'default', serviceAccount: 'orders', audiences: AUDS });
    assert.equal(decode(token).claims['kubernetes.io'].pod, undefined);
    const review = server.tokens.review(token, AUDS);
    assert.equal(review.authenticated, true);
    assert.equal(review.user?.extra?.['authentication.kubernetes.io/pod-name'], undefined);
  });

  it('control-plane pods are seeded with Helm\'s service accounts and dapr.io/control-plane annotations', () => {
    const operatorPod = server.api.select('pods', { namespace: 'dapr-system', labelSelector: 'app=dapr-operator' });
    assert.equal(operatorPod.length, 1);
    assert.equal((operatorPod[0]!.spec as { serviceAccountName: string }).serviceAccountName, 'dapr-operator');
    assert.equal(operatorPod[0]!.metadata.annotations?.['dapr.io/control-plane'], 'operator');
    assert.equal((operatorPod[0]!.status as { phase: string }).phase, 'Running');
    const token = mintServiceAccountToken(server, { namespace: 'dapr-system', podName: operatorPod[0]!.metadata.name, audiences: AUDS });
    assert.equal(server.tokens.review(token, AUDS).user?.username, 'system:serviceaccount:dapr-system:dapr-operator');
  });

  it('the TokenRequest API (serviceaccounts/<sa>/token) issues bound tokens and validates its input', async () => {
    const pod = server.api.get('pods', 'default', 'orders-1');
    const path = '/api/v1/namespaces/default/serviceaccounts/orders/token';
    const r = await call(server, 'POST', path, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: AUDS, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'orders-1', uid: pod.metadata.uid } } },
    });
    assert.equal(r.status, 201);
    assert.equal(r.json.status.expirationTimestamp, '2026-03-01T13:00:00Z');
    assert.equal(server.tokens.review(r.json.status.token, AUDS).user?.extra?.['authentication.kubernetes.io/pod-name']?.[0], 'orders-1');
    const short = await call(server, 'POST', path, { body: { spec: { expirationSeconds: 60 } } });
    assert.equal(short.status, 422);
    assert.match(short.json.message, /spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/);
    const wrongUid = await call(server, 'POST', path, { body: { spec: { boundObjectRef: { kind: 'Pod', name: 'orders-1', uid: 'other' } } } });
    assert.equal(wrongUid.status, 409);
    const noSa = await call(server, 'POST', '/api/v1/namespaces/default/serviceaccounts/ghost/token', { body: { spec: {} } });
    assert.equal(noSa.status, 404);
    assert.equal(noSa.json.message, 'serviceaccounts "ghost" not found');
  });
});
