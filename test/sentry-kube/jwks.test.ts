/**
 * The JWKS validator in Kubernetes mode (spec 1.5): listed in the Configuration CR, it is enabled
 * next to KUBERNETES, which stays the default for `UNKNOWN`; a JWKS token is checked against the
 * sentry's SPIFFE ID in its cluster trust domain. Listing `kubernetes` is a start-up error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isWardenError } from '../../src/core/errors.js';
import { buildBundle } from '../support/bundles.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { claimsFor, jwksOf, rsaKey, signJwt } from '../support/jwt-tokens.js';
import { callError } from '../support/sentry-client.js';
import { CSR, NS, SENTRY_ID, TD, kubeRequest, leafUris, podToken, startCluster, startKubeSentry, type KubeSentry } from './harness.js';

describe('sentry --mode kubernetes with the JWKS validator', () => {
  const key = rsaKey('idp-1');
  let server: KubeApiServer;
  let k: KubeSentry;

  before(async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: texts });
    server.api.create('configurations', NS, {
      metadata: { name: 'with-jwks' },
      spec: { mtls: { workloadCertTTL: '24h', tokenValidators: [{ name: 'jwks', options: { source: JSON.stringify(jwksOf(key)) } }] } },
    });
    k = await startKubeSentry(server, { config: 'with-jwks' });
  });
  after(async () => {
    await k?.close();
    await server?.close();
  });

  it('UNKNOWN is still KUBERNETES; INSECURE is not enabled', async () => {
    const res = await k.client().sign(kubeRequest('kube-app', podToken(server, { pod: 'kube-app' })));
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/kube-app']);
    assert.deepEqual(await callError(k.client().sign({ ...kubeRequest('kube-app', 'x'), token_validator: 'INSECURE' })),
      { code: grpc.status.INVALID_ARGUMENT, details: 'the requested validator is not enabled' });
  });

  it('JWKS: a token for the sentry\'s cluster SPIFFE ID is accepted; one for another audience is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const request = (token: string) => ({ id: 'vm-app', namespace: 'default', certificate_signing_request: CSR, token_validator: 'JWKS' as const, token });
    const res = await k.client().sign(request(signJwt(key, claimsFor(now, { sub: 'spiffe://public/ns/default/vm-app', aud: [SENTRY_ID] }))));
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/vm-app']);
    assert.deepEqual(await callError(k.client().sign(request(signJwt(key, claimsFor(now, { sub: 'spiffe://public/ns/default/vm-app' }))))),
      { code: grpc.status.PERMISSION_DENIED, details: 'token validation failed: "aud" not satisfied' });
    assert.ok(k.logs.some((l) => l.msg === 'Using validator \'jwks\''));
  });

  it('listing `kubernetes` in tokenValidators stops the start (Dapr\'s message)', async () => {
    server.api.create('configurations', NS, {
      metadata: { name: 'with-kube' },
      spec: { mtls: { tokenValidators: [{ name: 'kubernetes' }] } },
    });
    await assert.rejects(startKubeSentry(server, { config: 'with-kube' }), (err: unknown) =>
      isWardenError(err) && err.code === 'ERR_CONFIG_INVALID' && err.message.includes('the built-in \'kubernetes\' and \'insecure\' validators cannot be configured manually'));
  });
});
