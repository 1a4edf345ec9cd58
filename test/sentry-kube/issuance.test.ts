/**
 * `warden sentry --mode kubernetes` issuing through the KUBERNETES validator (spec 1.5, statements
 * 15 and 21) over real TCP+TLS gRPC against the Kubernetes API test server: app pods get
 * `spiffe://public/ns/<ns>/<app-id>` (or their Configuration's trust domain), control-plane pods in
 * the sentry's namespace get `dapr-<svc>` in the control-plane trust domain, the daprsystem
 * Configuration's TTL and skew are honoured, and only KUBERNETES is enabled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { buildBundle } from '../support/bundles.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { callError, x509Chain } from '../support/sentry-client.js';
import { NS, POD_RESOLV_CONF, TD, kubeRequest, leafUris, podToken, secretTexts, startCluster, startKubeSentry, type KubeSentry } from './harness.js';
import { assertTimeInWindow } from '../support/time-window.js';

describe('sentry --mode kubernetes: issuance', () => {
  let server: KubeApiServer;
  let k: KubeSentry;
  let issuerFingerprint: string;

  before(async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: texts, workloadCertTTL: '2h', allowedClockSkew: '5m' }, ['team-a']);
    server.api.create('configurations', 'team-a', {
      metadata: { name: 'appconfig' }, spec: { accessControl: { trustDomain: 'orders.example', defaultAction: 'allow' } },
    });
    server.api.create('configurations', 'team-a', { metadata: { name: 'plain' }, spec: { tracing: { samplingRate: '1' } } });
    k = await startKubeSentry(server);
    issuerFingerprint = x509Chain(texts.issuerCert)[0]!.fingerprint256;
  });
  after(async () => {
    await k?.close();
    await server?.close();
  });

  it('an app pod with a valid token gets spiffe://public/ns/<ns>/<app-id>, chained to the Secret\'s issuer', async () => {
    const token = podToken(server, { pod: 'orders-7d9f-abcde', annotations: { 'dapr.io/app-id': 'orders' }, serviceAccount: 'orders' });
    const res = await k.client().sign(kubeRequest('orders', token));
    const [leaf, issuer] = x509Chain(res.workload_certificate);
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/orders']);
    assert.equal(issuer!.fingerprint256, issuerFingerprint);
    assert.ok(leaf!.verify(issuer!.publicKey));
    assert.equal(res.trust_chain_certificates[0]!.toString(), secretTexts(server).ca);
  });

  it('UNKNOWN defaults to KUBERNETES, and the request\'s trust_domain is ignored', async () => {
    const token = podToken(server, { pod: 'cart-1', annotations: { 'dapr.io/app-id': 'cart' } });
    const res = await k.client().sign(kubeRequest('cart', token, 'default', { token_validator: 'UNKNOWN', trust_domain: 'evil.example' }));
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/cart']);
  });

  it('without dapr.io/app-id the expected ID is the pod name', async () => {
    const token = podToken(server, { pod: 'bare-pod' });
    const res = await k.client().sign(kubeRequest('bare-pod', token));
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/bare-pod']);
  });

  it('dapr.io/config → the Configuration\'s spec.accessControl.trustDomain (in the request namespace); without one → public', async () => {
    const a = podToken(server, { namespace: 'team-a', pod: 'pay-1', annotations: { 'dapr.io/app-id': 'pay', 'dapr.io/config': 'appconfig' } });
    const resA = await k.client().sign(kubeRequest('pay', a, 'team-a'));
    assert.deepEqual(leafUris(resA.workload_certificate), ['spiffe://orders.example/ns/team-a/pay']);
    const b = podToken(server, { namespace: 'team-a', pod: 'ship-1', annotations: { 'dapr.io/app-id': 'ship', 'dapr.io/config': 'plain' } });
    const resB = await k.client().sign(kubeRequest('ship', b, 'team-a'));
    assert.deepEqual(leafUris(resB.workload_certificate), ['spiffe://public/ns/team-a/ship']);
  });

  it('statement 15: dapr.io/control-plane: placement in the sentry namespace must ask for dapr-placement and gets the CP trust domain', async () => {
    const token = podToken(server, { namespace: NS, pod: 'dapr-placement-server-9', annotations: { 'dapr.io/control-plane': 'placement' }, serviceAccount: 'dapr-placement' });
    const res = await k.client().sign(kubeRequest('dapr-placement', token, NS, { trust_domain: TD }));
    const leaf = x509Chain(res.workload_certificate)[0]!;
    assert.deepEqual(leafUris(res.workload_certificate), [`spiffe://${TD}/ns/${NS}/dapr-placement`]);
    assert.doesNotMatch(leaf.subjectAltName ?? '', /DNS:/, 'placement gets no DNS SANs (spec 2.4)');
    const wrong = await callError(k.client().sign(kubeRequest('placement', token, NS)));
    assert.deepEqual(wrong, { code: grpc.status.PERMISSION_DENIED, details: 'app-id mismatch. expected: dapr-placement, received: placement' });
  });

  it('the seeded injector pod gets dapr-injector with its DNS SAN (spec 2.4)', async () => {
    const pods = server.api.select('pods', { namespace: NS, labelSelector: 'app=dapr-sidecar-injector' });
    const pod = pods[0]!.metadata.name!;
    const token = podToken(server, { namespace: NS, pod, create: false });
    const res = await k.client().sign(kubeRequest('dapr-injector', token, NS));
    const leaf = x509Chain(res.workload_certificate)[0]!;
    assert.deepEqual(leafUris(res.workload_certificate), [`spiffe://${TD}/ns/${NS}/dapr-injector`]);
    assert.match(leaf.subjectAltName ?? '', /DNS:dapr-sidecar-injector\.dapr-system\.svc/);
  });

  it('the scheduler gets DNS SANs in the cluster domain found through resolv.conf, not the trust domain (spec 2.4)', async () => {
    // A cluster whose domain (k8s.example) differs from the control-plane trust domain (cluster.local).
    const other = await startKubeSentry(server, {
      clusterDomainSources: { resolvConfPath: POD_RESOLV_CONF.replace('pod-resolv.conf', 'pod-resolv-k8s-example.conf'),
        resolves: async (fqdn) => fqdn === 'kubernetes.default.svc.k8s.example.' },
    });
    try {
      const token = podToken(server, { namespace: NS, pod: 'dapr-scheduler-server-7', annotations: { 'dapr.io/control-plane': 'scheduler' }, serviceAccount: 'dapr-scheduler' });
      const res = await other.client().sign(kubeRequest('dapr-scheduler', token, NS, { trust_domain: TD }));
      const leaf = x509Chain(res.workload_certificate)[0]!;
      assert.equal(leaf.subjectAltName, [0, 1, 2].map((i) => `DNS:dapr-scheduler-server-${i}.dapr-scheduler-server.${NS}.svc.k8s.example`).join(', ') +
        `, URI:spiffe://${TD}/ns/${NS}/dapr-scheduler`);
    } finally {
      await other.close();
    }
  });

  it('tokens carrying only the legacy audience, or only the sentry SPIFFE ID, are accepted (either one suffices)', async () => {
    for (const [pod, audiences] of [['legacy-aud', ['dapr.io/sentry']], ['spiffe-aud', [`spiffe://${TD}/ns/${NS}/dapr-sentry`]]] as const) {
      const token = podToken(server, { pod, audiences });
      const res = await k.client().sign(kubeRequest(pod, token));
      assert.deepEqual(leafUris(res.workload_certificate), [`spiffe://public/ns/default/${pod}`]);
    }
  });

  it('daprsystem workloadCertTTL (2h) and allowedClockSkew (5m) are honoured', async () => {
    const token = podToken(server, { pod: 'ttl-check' });
    const before = Date.now();
    const res = await k.client().sign(kubeRequest('ttl-check', token));
    const after = Date.now();
    const leaf = x509Chain(res.workload_certificate)[0]!;
    assertTimeInWindow('NotAfter', leaf.validTo, before, after, 2 * 3600_000);
    assertTimeInWindow('NotBefore', leaf.validFrom, before, after, -5 * 60_000);
  });

  it('INSECURE is not enabled in Kubernetes mode', async () => {
    const err = await callError(k.client().sign({ id: 'x', namespace: 'default', certificate_signing_request: kubeRequest('x', '').certificate_signing_request!, token_validator: 'INSECURE' }));
    assert.deepEqual(err, { code: grpc.status.INVALID_ARGUMENT, details: 'the requested validator is not enabled' });
  });

  it('health is 200 once the CA is loaded and the validator is ready', async () => {
    const res = await k.get('/healthz');
    assert.equal(res.status, 200);
  });
});
