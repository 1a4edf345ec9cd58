/**
 * Health in Kubernetes mode (spec 5.3 + 1.5 step 1): `/healthz` is 503 while the KUBERNETES
 * validator cannot reach the API (Dapr: its informer caches have not synced), and requests then
 * get PermissionDenied `validator not ready`; once the API answers, 200 and issuance work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { buildBundle } from '../support/bundles.js';
import type { FaultRule, KubeApiServer } from '../support/kube-api/index.js';
import { callError } from '../support/sentry-client.js';
import { NS, TD, kubeRequest, leafUris, podToken, startCluster, startKubeSentry, waitFor, type KubeSentry } from './harness.js';

describe('sentry --mode kubernetes: health and validator readiness', () => {
  let server: KubeApiServer;
  let k: KubeSentry;
  let outage: FaultRule;

  before(async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: texts });
    // Pods cannot be listed: the validator's readiness probe keeps failing.
    outage = server.faults.failNext(10_000, { status: 503, message: 'pods unavailable', match: { resource: 'pods', verb: 'list' } });
    k = await startKubeSentry(server, {}, { waitReady: false });
  });
  after(async () => {
    await k?.close();
    await server?.close();
  });

  it('503 with the reason, and PermissionDenied "validator not ready", while the API cannot be read', async () => {
    await waitFor('a failed probe', () => outage.hits > 0, 60_000);
    const health = await k.get('/healthz');
    assert.equal(health.status, 503);
    assert.equal(health.body, 'KUBERNETES validator not ready (waiting for the Kubernetes API)\n');
    const token = podToken(server, { pod: 'early-app' });
    assert.deepEqual(await callError(k.client().sign(kubeRequest('early-app', token))),
      { code: grpc.status.PERMISSION_DENIED, details: 'validator not ready' });
    assert.ok(k.logs.some((l) => l.level === 40 && l.msg.startsWith('KUBERNETES validator not ready: the Kubernetes API cannot be read')));
    const metrics = await k.get('/', k.sentry.metricsPort);
    assert.match(metrics.body, /dapr_sentry_cert_sign_failure_total\{reason="sign"\} 1/);
  });

  it('once the API answers: 200, and the same request is signed', async () => {
    outage.cancel();
    await waitFor('healthy', async () => (await k.get('/healthz')).status === 200, 60_000);
    const token = podToken(server, { pod: 'early-app', create: false });
    const res = await k.client().sign(kubeRequest('early-app', token));
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/early-app']);
  });
});
