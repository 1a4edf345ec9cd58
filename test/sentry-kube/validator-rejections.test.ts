/**
 * Every refusal of the KUBERNETES validator (spec 1.5) over real TCP+TLS gRPC, against the
 * Kubernetes API test server: the gRPC status (PermissionDenied) and Dapr's exact message, in
 * Dapr's order, for each step — TokenReview (errors, wrong audience, expiry, deleted pod), the pod
 * claim, the pod lookup, namespace, service account, app ID (statement 15), control-plane rules,
 * and the app's Configuration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { buildBundle } from '../support/bundles.js';
import { mintServiceAccountToken, type KubeApiServer } from '../support/kube-api/index.js';
import { callError } from '../support/sentry-client.js';
import { CSR, NS, TD, kubeRequest, leafUris, podToken, startCluster, startKubeSentry, type KubeSentry } from './harness.js';

const DENIED = grpc.status.PERMISSION_DENIED;

describe('sentry --mode kubernetes: every KUBERNETES validator refusal', () => {
  let server: KubeApiServer;
  let k: KubeSentry;
  const refusal = async (req: Parameters<ReturnType<KubeSentry['client']>['sign']>[0]) => callError(k.client().sign(req));

  before(async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: texts }, ['team-b']);
    server.api.create('configurations', 'default', { metadata: { name: 'badtd' }, spec: { accessControl: { trustDomain: 'Bad_TD!' } } });
    k = await startKubeSentry(server, { identityCacheTtlMs: 60_000 });
  });
  after(async () => {
    await k?.close();
    await server?.close();
  });

  it('common rules first (the request is not even reviewed): empty id, missing namespace', async () => {
    const token = podToken(server, { pod: 'common-1' });
    server.requests.clear();
    assert.deepEqual(await refusal(kubeRequest('', token)), { code: DENIED, details: 'invalid request: parameter app-id cannot be empty' });
    assert.deepEqual(await refusal(kubeRequest('common-1', token, '')), { code: DENIED, details: 'invalid request: namespace is required' });
    assert.deepEqual(await refusal(kubeRequest('a.b', token, 'default', { certificate_signing_request: Buffer.alloc(0) })),
      { code: DENIED, details: 'invalid request: parameter app-id cannot contain dots\nCSR is required' });
    assert.equal(server.requests.count({ resource: 'tokenreviews' }), 0);
  });

  it('token review failed: <the API error> when the TokenReview call itself fails', async () => {
    const token = podToken(server, { pod: 'review-500' });
    server.faults.failNext(1, { status: 500, message: 'etcd is sulking', match: { resource: 'tokenreviews' } });
    assert.deepEqual(await refusal(kubeRequest('review-500', token)),
      { code: DENIED, details: 'token review failed: Internal error occurred: etcd is sulking' });
  });

  it('an empty token: the API refuses the review (token review failed: …), as with Dapr', async () => {
    assert.deepEqual(await refusal(kubeRequest('no-token', '')),
      { code: DENIED, details: 'token review failed: token is required for TokenReview in authentication' });
  });

  it('invalid token: <status.error> for a token of the wrong audience — naming both audiences Sentry asked for', async () => {
    const token = podToken(server, { pod: 'wrong-aud', audiences: ['https://kubernetes.default.svc.cluster.local'] });
    assert.deepEqual(await refusal(kubeRequest('wrong-aud', token)), {
      code: DENIED,
      details: 'invalid token: [invalid bearer token, token audiences ["https://kubernetes.default.svc.cluster.local"] is invalid for the target audiences ' +
        `["dapr.io/sentry" "spiffe://${TD}/ns/${NS}/dapr-sentry"]]`,
    });
  });

  it('invalid token: for garbage, an expired token, and a token whose pod was deleted', async () => {
    assert.deepEqual(await refusal(kubeRequest('x', 'not-a-jwt')), { code: DENIED, details: 'invalid token: invalid bearer token' });
    const expired = podToken(server, { pod: 'expired-1' });
    const past = mintServiceAccountToken(server, { namespace: 'default', podName: 'expired-1', audiences: ['dapr.io/sentry'], expirationSeconds: -120 });
    assert.deepEqual(await refusal(kubeRequest('expired-1', past)), { code: DENIED, details: 'invalid token: [invalid bearer token, service account token has expired]' });
    server.api.delete('pods', 'default', 'expired-1');
    assert.deepEqual(await refusal(kubeRequest('expired-1', expired)),
      { code: DENIED, details: 'invalid token: [invalid bearer token, service account token has been invalidated]' });
  });

  it('a token not bound to a pod: kubernetes.io/pod/name claim is missing from Kubernetes token', async () => {
    const token = mintServiceAccountToken(server, { namespace: 'default', audiences: ['dapr.io/sentry'] });
    assert.deepEqual(await refusal(kubeRequest('anything', token)),
      { code: DENIED, details: 'kubernetes.io/pod/name claim is missing from Kubernetes token' });
  });

  it('failed to get pod of identity when the pod GET fails (the API error is logged, not sent)', async () => {
    const token = podToken(server, { pod: 'pod-500' });
    server.faults.failNext(1, { status: 500, message: 'pods are sulking', match: { resource: 'pods', verb: 'get' } });
    assert.deepEqual(await refusal(kubeRequest('pod-500', token)), { code: DENIED, details: 'failed to get pod of identity' });
    // Dapr's line: log.Errorf in pkg/sentry/server/validator/kubernetes, scope dapr.sentry.identity.kubernetes.
    const line = k.logs.find((l) => l.msg.startsWith('Failed to get pod default/pod-500 for requested identity: Internal error occurred: pods are sulking'));
    assert.deepEqual([line?.level, line?.['scope']], [50, 'dapr.sentry.identity.kubernetes']);
    // Errors are not cached: the next call finds the pod.
    assert.deepEqual(leafUris((await k.client().sign(kubeRequest('pod-500', token))).workload_certificate), ['spiffe://public/ns/default/pod-500']);
  });

  it('namespace mismatch; received namespace: <ns> when the request names another namespace', async () => {
    const token = podToken(server, { pod: 'ns-1' });
    assert.deepEqual(await refusal(kubeRequest('ns-1', token, 'team-b')), { code: DENIED, details: 'namespace mismatch; received namespace: team-b' });
  });

  it('pod service account mismatch when the token is for another service account than the pod runs as', async () => {
    const token = podToken(server, { pod: 'sa-1', serviceAccount: 'orders', tokenServiceAccount: 'intruder' });
    assert.deepEqual(await refusal(kubeRequest('sa-1', token)), { code: DENIED, details: 'pod service account mismatch' });
    const line = k.logs.find((l) => l.msg === 'Service account on pod default/sa-1 does not match token');
    assert.deepEqual([line?.level, line?.['scope']], [50, 'dapr.sentry.identity.kubernetes']);
  });

  it('statement 15: app-id mismatch. expected: a, received: b', async () => {
    const token = podToken(server, { pod: 'p', annotations: { 'dapr.io/app-id': 'a' } });
    assert.deepEqual(await refusal(kubeRequest('b', token)), { code: DENIED, details: 'app-id mismatch. expected: a, received: b' });
    const byName = podToken(server, { pod: 'named-pod' });
    assert.deepEqual(await refusal(kubeRequest('other', byName)), { code: DENIED, details: 'app-id mismatch. expected: named-pod, received: other' });
  });

  it('control plane: only in the sentry namespace, only the five services, never with dapr.io/app-id', async () => {
    const elsewhere = podToken(server, { pod: 'fake-placement', annotations: { 'dapr.io/control-plane': 'placement' } });
    assert.deepEqual(await refusal(kubeRequest('dapr-placement', elsewhere)),
      { code: DENIED, details: 'control plane service in namespace \'default\' is not allowed' });
    const unknown = podToken(server, { namespace: NS, pod: 'dapr-dashboard-1', annotations: { 'dapr.io/control-plane': 'dashboard' } });
    assert.deepEqual(await refusal(kubeRequest('dapr-dashboard', unknown, NS)),
      { code: DENIED, details: 'unknown control plane service \'dapr-dashboard-1\'' });
    const both = podToken(server, { namespace: NS, pod: 'dapr-operator-x', annotations: { 'dapr.io/control-plane': 'operator', 'dapr.io/app-id': 'dapr-operator' } });
    assert.deepEqual(await refusal(kubeRequest('dapr-operator', both, NS)),
      { code: DENIED, details: 'control plane service \'dapr-operator-x\' cannot have annotation \'dapr.io/app-id\'' });
    const line = k.logs.find((l) => l.msg === 'Failed to get expected ID for pod dapr-system/dapr-operator-x: control plane service \'dapr-operator-x\' cannot have annotation \'dapr.io/app-id\'');
    assert.deepEqual([line?.level, line?.['scope']], [50, 'dapr.sentry.identity.kubernetes']);
  });

  it('failed to get configuration for a dapr.io/config that does not exist; a bad trust domain in one is refused too', async () => {
    const missing = podToken(server, { pod: 'cfg-1', annotations: { 'dapr.io/config': 'nope' } });
    assert.deepEqual(await refusal(kubeRequest('cfg-1', missing)), { code: DENIED, details: 'failed to get configuration' });
    const bad = podToken(server, { pod: 'cfg-2', annotations: { 'dapr.io/config': 'badtd' } });
    assert.deepEqual(await refusal(kubeRequest('cfg-2', bad)), {
      code: DENIED,
      details: 'failed to parse trust domain "Bad_TD!": trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    });
  });

  it('a pod recreated under the same name (new UID) is looked up again, not taken from the cache', async () => {
    const first = podToken(server, { pod: 'sts-0', annotations: { 'dapr.io/app-id': 'v1' } });
    assert.deepEqual(leafUris((await k.client().sign(kubeRequest('v1', first))).workload_certificate), ['spiffe://public/ns/default/v1']);
    server.api.delete('pods', 'default', 'sts-0');
    const second = podToken(server, { pod: 'sts-0', annotations: { 'dapr.io/app-id': 'v2' } });
    assert.deepEqual(await refusal(kubeRequest('v1', second)), { code: DENIED, details: 'app-id mismatch. expected: v2, received: v1' });
    server.requests.clear();
    assert.deepEqual(leafUris((await k.client().sign(kubeRequest('v2', second))).workload_certificate), ['spiffe://public/ns/default/v2']);
    assert.equal(server.requests.count({ resource: 'pods', verb: 'get' }), 0, 'the same pod (same UID) is served from the cache');
  });

  it('refusals are counted as validator failures; a CSR problem after a valid token is InvalidArgument', async () => {
    const token = podToken(server, { pod: 'csr-1' });
    const before = (await k.sentry.metrics.signFailures.get()).values.find((v) => v.labels['reason'] === 'validator')?.value ?? 0;
    await refusal(kubeRequest('wrong', token));
    const afterCount = (await k.sentry.metrics.signFailures.get()).values.find((v) => v.labels['reason'] === 'validator')?.value ?? 0;
    assert.equal(afterCount, before + 1);
    const notCsr = Buffer.from(CSR.toString().replace(/CERTIFICATE REQUEST/g, 'PRIVATE KEY'));
    assert.deepEqual(await refusal(kubeRequest('csr-1', token, 'default', { certificate_signing_request: notCsr })),
      { code: grpc.status.INVALID_ARGUMENT, details: 'invalid certificate signing request' });
  });
});
