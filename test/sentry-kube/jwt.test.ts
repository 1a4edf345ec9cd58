/**
 * `--jwt-enabled` in Kubernetes mode (spec 3.2): the JWT pair is generated into the Secret
 * `dapr-trust-bundle` (keys `jwt.key`, `jwks.json`, Dapr's) with `jwks.json` also in the ConfigMap,
 * kept across restarts, and the tokens carry the trust domain the KUBERNETES validator decided.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { decodeJwt, verifyJwtSignature } from '../support/jwt.js';
import { NS, kubeRequest, podToken, startCluster, startKubeSentry, type KubeSentry } from './harness.js';

const servers: KubeApiServer[] = [];
const sentries: KubeSentry[] = [];
after(async () => {
  for (const k of sentries) await k.close();
  for (const s of servers) await s.close();
});

function secretData(server: KubeApiServer): Record<string, string> {
  const data = (server.api.get('secrets', NS, 'dapr-trust-bundle').data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

describe('sentry --mode kubernetes --jwt-enabled', () => {
  it('generates the pair into the Secret (jwt.key, jwks.json) and the ConfigMap (jwks.json), keeps it on restart, signs verifiable tokens', async () => {
    const server = await startCluster();
    servers.push(server);
    const first = await startKubeSentry(server, { jwtEnabled: true });
    sentries.push(first);
    const data = secretData(server);
    assert.match(data['jwt.key'] ?? '', /^-----BEGIN PRIVATE KEY-----/);
    const jwks = JSON.parse(data['jwks.json'] ?? '{}') as { keys: JsonWebKey[] };
    assert.equal(jwks.keys.length, 1);
    const cm = (server.api.get('configmaps', NS, 'dapr-trust-bundle').data ?? {}) as Record<string, string>;
    assert.equal(cm['jwks.json'], data['jwks.json'], 'the ConfigMap publishes the same JWKS');
    assert.equal(cm['ca.crt'], data['ca.crt']);

    const token = podToken(server, { pod: 'app-pod', annotations: { 'dapr.io/app-id': 'myapp' } });
    const res = await first.client().sign(kubeRequest('myapp', token, 'default', { jwt_audiences: ['extra'] }));
    const jwt = decodeJwt(res.jwt!.value);
    assert.equal(jwt.claims.sub, 'spiffe://public/ns/default/myapp');
    assert.deepEqual(jwt.claims.aud, ['public', 'extra']);
    assert.ok(verifyJwtSignature(res.jwt!.value, jwks.keys[0]!));
    assert.deepEqual(Object.keys(res.per_audience_jwts).sort(), ['extra', 'public']);
    await first.close();
    sentries.pop();

    // A restart reads the pair back instead of generating another.
    const second = await startKubeSentry(server, { jwtEnabled: true });
    sentries.push(second);
    assert.equal(secretData(server)['jwt.key'], data['jwt.key']);
    assert.equal(second.sentry.currentCa().bundle.jwt?.keyId, jwks.keys[0]!.kid);
  });
});

type JsonWebKey = import('node:crypto').JsonWebKey;
