/**
 * @kubernetes/client-node 1.4 against the test API server: the calls Warden's Kubernetes code makes
 * (read/replace with resourceVersion, patches, list with selectors, watch) and the errors it must
 * handle (409, 404, 500), as ApiException with the real Status bodies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListWatch, type V1Secret } from '@kubernetes/client-node';
import { seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { isApiException, makeClients, patchOptions, PatchStrategy, statusOf, type KubeClients } from '../support/kube-api/client.js';

const NS = 'dapr-system';
const BUNDLE = { ca: 'root-pem\n', issuerCert: 'issuer-pem\n', issuerKey: 'key-pem\n' };

async function until(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('@kubernetes/client-node 1.4 against the Kubernetes API test server', () => {
  let server: KubeApiServer;
  let c: KubeClients;

  before(async () => {
    server = await startKubeApiServer();
    seedDaprControlPlane(server, { trustBundle: BUNDLE });
    seedDaprApps(server, { namespaces: ['team-a', 'team-b'], count: 4, nonDaprCount: 2 });
    c = makeClients(server.kubeconfigPath);
  });
  after(() => server.close());

  it('reads and replaces a Secret; the resourceVersion moves on and the data is stored base64', async () => {
    const secret = await c.core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NS });
    assert.equal(Buffer.from(secret.data!['ca.crt']!, 'base64').toString(), BUNDLE.ca);
    const rv = Number(secret.metadata!.resourceVersion);
    secret.data!['ca.crt'] = Buffer.from('new-root\n').toString('base64');
    const replaced = await c.core.replaceNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NS, body: secret });
    assert.ok(Number(replaced.metadata!.resourceVersion) > rv);
    assert.equal(replaced.metadata!.uid, secret.metadata!.uid);
    assert.equal(Buffer.from(String((server.api.get('secrets', NS, 'dapr-trust-bundle').data as Record<string, string>)['ca.crt']), 'base64').toString(), 'new-root\n');
  });

  it('a stale resourceVersion is a 409 ApiException with the real Conflict Status, and nothing is written', async () => {
    const secret = await c.core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NS });
    server.api.mutate('secrets', NS, 'dapr-trust-bundle', (s) => {
      s.metadata.annotations = { 'other-writer': 'yes' };
    });
    const current = server.api.get('secrets', NS, 'dapr-trust-bundle');
    secret.data!['issuer.key'] = Buffer.from('mine').toString('base64');
    const err = await rejection(c.core.replaceNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NS, body: secret }));
    assert.ok(isApiException(err, 409), String(err));
    const status = statusOf(err);
    assert.equal(status?.reason, 'Conflict');
    assert.equal(status?.message, 'Operation cannot be fulfilled on secrets "dapr-trust-bundle": the object has been modified; please apply your changes to the latest version and try again');
    assert.deepEqual(status?.details, { name: 'dapr-trust-bundle', kind: 'secrets' });
    assert.deepEqual(server.api.get('secrets', NS, 'dapr-trust-bundle'), current);
  });

  it('a missing object is a 404 ApiException with the NotFound Status', async () => {
    const err = await rejection(c.core.readNamespacedConfigMap({ name: 'dapr-root-ca.crt', namespace: NS }));
    assert.ok(isApiException(err, 404));
    assert.deepEqual(statusOf(err), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "dapr-root-ca.crt" not found',
      reason: 'NotFound', details: { name: 'dapr-root-ca.crt', kind: 'configmaps' }, code: 404,
    });
    const grouped = await rejection(c.apps.readNamespacedDeployment({ name: 'dapr-nope', namespace: NS }));
    assert.equal(statusOf(grouped)?.message, 'deployments.apps "dapr-nope" not found');
  });

  it('merge patch on a deployment needs the Content-Type middleware; generation moves, status does not', async () => {
    const before = await c.apps.readNamespacedDeployment({ name: 'dapr-sentry', namespace: NS });
    const body = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } } } } };
    // Without the middleware client-node sends application/json-patch+json, and the server rejects an object body.
    const wrong = await rejection(c.apps.patchNamespacedDeployment({ name: 'dapr-sentry', namespace: NS, body }));
    assert.ok(isApiException(wrong, 400));
    assert.equal(server.requests.filter({ verb: 'patch', name: 'dapr-sentry' }).at(-1)?.contentType, 'application/json-patch+json');
    const patched = await c.apps.patchNamespacedDeployment({ name: 'dapr-sentry', namespace: NS, body }, patchOptions(PatchStrategy.MergePatch));
    assert.equal(server.requests.filter({ verb: 'patch', name: 'dapr-sentry' }).at(-1)?.contentType, 'application/merge-patch+json');
    assert.equal(patched.metadata!.generation, before.metadata!.generation! + 1);
    assert.equal(patched.spec!.template.metadata!.annotations!['kubectl.kubernetes.io/restartedAt'], '2026-01-01T00:00:00Z');
    assert.equal(patched.spec!.template.metadata!.annotations!['dapr.io/control-plane'], 'sentry', 'merge keeps other annotations');
    assert.equal(patched.status!.observedGeneration, before.metadata!.generation);
    await server.rollout.waitFor({ type: 'completed', name: 'dapr-sentry', namespace: NS });
    const strategic = await c.apps.patchNamespacedDeployment({
      name: 'dapr-sentry', namespace: NS,
      body: { spec: { template: { spec: { containers: [{ name: 'dapr-sentry', image: 'ghcr.io/dapr/sentry:1.16.3' }] } } } },
    }, patchOptions(PatchStrategy.StrategicMergePatch));
    const [container] = strategic.spec!.template.spec!.containers;
    assert.equal(container!.image, 'ghcr.io/dapr/sentry:1.16.3');
    assert.deepEqual(container!.args, ['--log-level', 'info', '--trust-domain', 'cluster.local'], 'strategic merge keeps the rest of the container');
  });

  it('custom resources: read the daprsystem Configuration; merge patch works, strategic merge is 415', async () => {
    const config = await c.custom.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace: NS, plural: 'configurations', name: 'daprsystem' }) as { spec: { mtls: Record<string, unknown> } };
    assert.equal(config.spec.mtls.enabled, true);
    assert.equal(config.spec.mtls.workloadCertTTL, '24h');
    const patched = await c.custom.patchNamespacedCustomObject({
      group: 'dapr.io', version: 'v1alpha1', namespace: NS, plural: 'configurations', name: 'daprsystem', body: { spec: { mtls: { enabled: false } } },
    }, patchOptions(PatchStrategy.MergePatch)) as { spec: { mtls: Record<string, unknown> } };
    assert.equal(patched.spec.mtls.enabled, false);
    assert.equal(patched.spec.mtls.allowedClockSkew, '15m');
    const err = await rejection(c.custom.patchNamespacedCustomObject({
      group: 'dapr.io', version: 'v1alpha1', namespace: NS, plural: 'configurations', name: 'daprsystem', body: { spec: {} },
    }, patchOptions(PatchStrategy.StrategicMergePatch)));
    assert.ok(isApiException(err, 415));
  });

  it('list with labelSelector and fieldSelector', async () => {
    const all = await c.apps.listDeploymentForAllNamespaces({ labelSelector: 'app in (app-0,app-1,app-5),app!=app-1' });
    assert.deepEqual(all.items.map((d) => `${d.metadata!.namespace}/${d.metadata!.name}`), ['team-a/app-0', 'team-b/app-5']);
    const byName = await c.core.listNamespacedSecret({ namespace: NS, fieldSelector: 'metadata.name=dapr-trust-bundle' });
    assert.equal(byName.items.length, 1);
    assert.equal(byName.items[0]!.metadata!.name, 'dapr-trust-bundle');
    const bad = await rejection(c.core.listNamespacedSecret({ namespace: NS, fieldSelector: 'data.ca=1' }));
    assert.ok(isApiException(bad, 400));
    assert.equal(statusOf(bad)?.message, 'field label not supported: data.ca');
  });

  it('a watch on secrets receives MODIFIED after an update', async () => {
    const start = await c.core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NS });
    const events: { type: string; obj: V1Secret }[] = [];
    let notify = () => {};
    const arrived = new Promise<void>((resolve) => {
      notify = resolve;
    });
    const controller = await c.watch.watch(`/api/v1/namespaces/${NS}/secrets`, { resourceVersion: start.metadata!.resourceVersion }, (type, obj: V1Secret) => {
      events.push({ type, obj });
      notify();
    }, () => {});
    try {
      start.data!['ca.crt'] = Buffer.from('watched\n').toString('base64');
      const updated = await c.core.replaceNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NS, body: start });
      await arrived;
      assert.equal(events[0]!.type, 'MODIFIED');
      assert.equal(events[0]!.obj.metadata!.resourceVersion, updated.metadata!.resourceVersion);
      assert.equal(Buffer.from(events[0]!.obj.data!['ca.crt']!, 'base64').toString(), 'watched\n');
    } finally {
      controller.abort();
    }
  });

  it('a ListWatch on one Secret follows updates, and recovers through a dropped watch and a 410', async () => {
    const small = await startKubeApiServer({ watchHistory: 2 });
    seedDaprControlPlane(small, { trustBundle: BUNDLE });
    const sc = makeClients(small.kubeconfigPath);
    const path = `/api/v1/namespaces/${NS}/secrets`;
    const informer = new ListWatch<V1Secret>(path, sc.watch,
      () => sc.core.listNamespacedSecret({ namespace: NS, fieldSelector: 'metadata.name=dapr-trust-bundle' }), false, undefined, 'metadata.name=dapr-trust-bundle');
    const versions: string[] = [];
    informer.on('update', (o) => versions.push(o.metadata!.resourceVersion!));
    try {
      await informer.start();
      const annotate = (n: number) => small.api.mutate('secrets', NS, 'dapr-trust-bundle', (o) => {
        o.metadata.annotations = { n: String(n) };
      });
      annotate(1);
      await until(() => versions.length === 1);
      assert.equal(small.dropWatches(), 1);
      for (let i = 2; i <= 5; i += 1) annotate(i); // more changes than the watch history holds
      const latest = small.api.get('secrets', NS, 'dapr-trust-bundle').metadata.resourceVersion!;
      await until(() => informer.get('dapr-trust-bundle', NS)?.metadata?.resourceVersion === latest);
      assert.ok(small.requests.count({ verb: 'list', resource: 'secrets' }) >= 2, 'relisted after the 410');
      assert.equal(informer.get('dapr-trust-bundle', NS)?.metadata?.annotations?.n, '5');
    } finally {
      await informer.stop();
      await small.close();
    }
  });

  it('an injected 500 surfaces as code 500, then the next call succeeds', async () => {
    const rule = server.faults.failNext(1, { match: { resource: 'configmaps', name: 'dapr-trust-bundle' } });
    const err = await rejection(c.core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: NS }));
    assert.ok(isApiException(err, 500));
    assert.equal(statusOf(err)?.reason, 'InternalError');
    assert.equal(rule.remaining, 0);
    const cm = await c.core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: NS });
    assert.equal(cm.data!['ca.crt'], BUNDLE.ca);
  });

  it('TokenReview through the authentication API authenticates a minted token', async () => {
    const pod = server.api.create('pods', 'team-a', { metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } });
    const token = server.tokens.mint({ namespace: 'team-a', serviceAccount: 'default', podName: 'p1', audiences: ['dapr.io/sentry'] }).token;
    const review = await c.auth.createTokenReview({ body: { spec: { token, audiences: ['dapr.io/sentry', 'other'] } } });
    assert.equal(review.status?.authenticated, true);
    assert.equal(review.status?.user?.username, 'system:serviceaccount:team-a:default');
    assert.deepEqual(review.status?.audiences, ['dapr.io/sentry']);
    assert.deepEqual(review.status?.user?.extra?.['authentication.kubernetes.io/pod-uid'], [pod.metadata.uid]);
  });
});
