/**
 * The KUBERNETES validator's branches the API test server cannot produce (a TokenReview that is
 * neither authenticated nor in error; a user that is not a service account), its readiness, the
 * unverified pod claim, and the TTL cache it reads pods and Configurations through.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { isWardenError } from '../../src/core/errors.js';
import { TtlCache } from '../../src/sentry/validators/kubernetes-cache.js';
import { podClaimOfToken, serviceAccountOfUsername } from '../../src/sentry/validators/kubernetes-token.js';
import { KubernetesValidator } from '../../src/sentry/validators/kubernetes.js';
import type { ValidatorKubeClients } from '../../src/sentry/validators/kubernetes-api.js';
import type { SignCertificateRequest } from '../../src/wire/sentry-proto.js';

const silent = pino({ level: 'silent' });
const jwt = (claims: unknown): string =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const request = (token: string): SignCertificateRequest => ({
  id: 'app', namespace: 'default', token, trust_domain: '', certificate_signing_request: Buffer.from('csr'), token_validator: 'KUBERNETES', jwt_audiences: [],
});

/** Clients whose TokenReview answers `status`; pods and Configurations answer from the maps; probe succeeds unless `probeFails`. */
function fakeClients(status: Record<string, unknown>, opts: { probeFails?: { n: number } } = {}): ValidatorKubeClients & { reviews: unknown[] } {
  const reviews: unknown[] = [];
  const fail = () => {
    if (opts.probeFails && opts.probeFails.n > 0) {
      opts.probeFails.n -= 1;
      return Promise.reject(Object.assign(new Error('HTTP-Code: 503'), { code: 503, body: JSON.stringify({ kind: 'Status', message: 'the server is starting' }) }));
    }
    return Promise.resolve({ items: [] });
  };
  return {
    reviews,
    auth: { createTokenReview: async (p: { body: unknown }) => (reviews.push(p.body), { status }) },
    core: {
      listPodForAllNamespaces: fail,
      readNamespacedPod: async ({ name, namespace }: { name: string; namespace: string }) => ({
        metadata: { name, namespace, uid: 'u1', annotations: {} }, spec: { serviceAccountName: 'default' },
      }),
    },
    custom: { listClusterCustomObject: fail },
  } as unknown as ValidatorKubeClients & { reviews: unknown[] };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a refusal');
}

function validatorWith(clients: ValidatorKubeClients, probeRetryMs = 10): KubernetesValidator {
  return new KubernetesValidator({ clients, logger: silent, sentryNamespace: 'dapr-system', trustDomain: 'cluster.local', probeRetryMs, maxProbeRetryMs: 20 });
}

describe('KUBERNETES validator (unit)', () => {
  it('validator not ready until the API probe succeeds; the probe is retried', async () => {
    const probeFails = { n: 3 };
    const v = validatorWith(fakeClients({ authenticated: true, user: { username: 'system:serviceaccount:default:default' } }, { probeFails }));
    assert.equal(await refusal(v.validate(request(jwt({})))), 'validator not ready');
    v.start();
    await v.whenReady();
    assert.equal(probeFails.n, 0, 'three failed probes, then success');
    assert.equal(v.ready, true);
    v.stop();
  });

  it('authentication failed when the review is not authenticated and names no error; the review asks for both audiences', async () => {
    const clients = fakeClients({ authenticated: false });
    const v = validatorWith(clients);
    v.start();
    await v.whenReady();
    assert.equal(await refusal(v.validate(request(jwt({})))), 'authentication failed');
    assert.deepEqual(clients.reviews, [{
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview',
      spec: { token: jwt({}), audiences: ['dapr.io/sentry', 'spiffe://cluster.local/ns/dapr-system/dapr-sentry'] },
    }]);
    v.stop();
  });

  it('a reviewed user that is not system:serviceaccount:<ns>:<sa> is refused with Dapr\'s text', async () => {
    for (const username of ['alice', 'system:node:worker-1', 'system:serviceaccount:default', 'system:bootstrap:abc:def', 'sys:serviceaccount:a:b']) {
      const v = validatorWith(fakeClients({ authenticated: true, user: { username } }));
      v.start();
      await v.whenReady();
      const message = await refusal(v.validate(request(jwt({ 'kubernetes.io': { pod: { name: 'p' } } }))));
      assert.equal(message, 'provided token is not a properly structured service account token', username);
      v.stop();
    }
  });

  it('serviceAccountOfUsername and podClaimOfToken', () => {
    assert.deepEqual(serviceAccountOfUsername('system:serviceaccount:team-a:orders'), { namespace: 'team-a', name: 'orders' });
    assert.deepEqual(podClaimOfToken(jwt({ 'kubernetes.io': { pod: { name: 'p-1', uid: 'abc' } } })), { name: 'p-1', uid: 'abc' });
    assert.deepEqual(podClaimOfToken(jwt({ 'kubernetes.io': { pod: { name: 'p-1' } } })), { name: 'p-1', uid: undefined });
    const missing = 'kubernetes.io/pod/name claim is missing from Kubernetes token';
    for (const claims of [{}, { 'kubernetes.io': {} }, { 'kubernetes.io': { pod: {} } }, { 'kubernetes.io': { pod: { name: '' } } }]) {
      assert.throws(() => podClaimOfToken(jwt(claims)), (e) => isWardenError(e, 'ERR_IDENTITY_DENIED') && e.message === missing);
    }
    assert.throws(() => podClaimOfToken('a.b'), /^WardenError: failed to parse Kubernetes token: a JWS in compact form has 3 parts, this token has 2$/);
    assert.throws(() => podClaimOfToken('a.!!!.c'), /failed to parse Kubernetes token: the payload is not base64url JSON/);
    assert.throws(() => podClaimOfToken(jwt({ 'kubernetes.io': 'pod' })), /failed to parse Kubernetes token/);
  });
});

describe('TtlCache', () => {
  it('reuses a value for its TTL, reloads after, and never caches failures', async () => {
    let now = 0;
    const cache = new TtlCache<number>({ ttlMs: 100, now: () => now });
    let loads = 0;
    const load = async () => ++loads;
    assert.equal(await cache.get('k', load), 1);
    now = 99;
    assert.equal(await cache.get('k', load), 1);
    now = 100;
    assert.equal(await cache.get('k', load), 2);
    await assert.rejects(cache.get('e', async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await cache.get('e', load), 3, 'the failure was not cached');
  });

  it('shares one load between concurrent callers, and reloads a value the caller does not accept', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1_000 });
    let loads = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const load = async () => { loads += 1; await gate; return `v${loads}`; };
    const all = Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)]);
    release();
    assert.deepEqual(await all, ['v1', 'v1', 'v1']);
    assert.equal(loads, 1);
    assert.equal(await cache.get('k', load, (v) => v === 'v1'), 'v1');
    assert.equal(await cache.get('k', load, (v) => v === 'v2'), 'v2', 'rejected entry reloaded');
  });

  it('keeps at most maxEntries, dropping the oldest; TTL 0 caches nothing', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1_000, maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k);
    assert.equal(cache.size, 2);
    let reloaded = false;
    await cache.get('a', async () => { reloaded = true; return 'a'; });
    assert.ok(reloaded, 'a was evicted');
    const none = new TtlCache<string>({ ttlMs: 0 });
    await none.get('x', async () => 'x');
    assert.equal(none.size, 0);
  });
});
