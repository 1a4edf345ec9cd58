/**
 * In-place reload in Kubernetes mode (spec 4.1 improved): a renewed bundle written to the Secret is
 * picked up through the API watch while calls keep succeeding, on the same listener; bad Secret
 * data is refused (counted, logged) and the old CA keeps signing; ConfigMap drift during the run
 * is re-synced from the Secret; watches survive the API server ending them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadKubeClients } from '../../src/kube/client.js';
import { KubeTrustBundleStore } from '../../src/stores/kube-store.js';
import { buildBundle, withMismatchedKey, type BuiltBundle } from '../support/bundles.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { x509Chain, type SentryTestClient } from '../support/sentry-client.js';
import { NS, TD, configMapCa, kubeRequest, podToken, secretTexts, startCluster, startKubeSentry, waitFor, writeBundleObjects, type KubeSentry } from './harness.js';

const issuerOf = (b: BuiltBundle): string => x509Chain(b.texts.issuerCert)[0]!.fingerprint256;

/** Signs back to back until stopped; records failures and which issuer signed each leaf. */
function callLoop(client: SentryTestClient, token: string): { stop: () => Promise<void>; failures: unknown[]; issuers: string[] } {
  let running = true;
  const failures: unknown[] = [];
  const issuers: string[] = [];
  const done = (async () => {
    while (running) {
      try {
        const res = await client.sign(kubeRequest('loop-app', token));
        issuers.push(x509Chain(res.workload_certificate)[1]?.fingerprint256 ?? '');
      } catch (err) {
        failures.push(err);
      }
    }
  })();
  return { failures, issuers, stop: async () => { running = false; await done; } };
}

async function counter(k: KubeSentry, name: 'issuerCertChanged' | 'reloadFailures'): Promise<number> {
  return (await k.sentry.metrics[name].get()).values[0]?.value ?? 0;
}

describe('sentry --mode kubernetes: reload', () => {
  let server: KubeApiServer;
  let a: BuiltBundle;
  let k: KubeSentry;
  let token: string;

  before(async () => {
    a = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: a.texts });
    k = await startKubeSentry(server, { reloadDebounceMs: 500 });
    token = podToken(server, { pod: 'loop-app' });
  });
  after(async () => {
    await k?.close();
    await server?.close();
  });

  it('live reload after a renew: new leaves chain to the new issuer within seconds, zero failed calls, same listener', async () => {
    const b = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    const port = k.sentry.port;
    const changedBefore = await counter(k, 'issuerCertChanged');
    const loop = callLoop(k.client(a.texts.ca + b.texts.ca), token);
    await waitFor('calls signed by the first issuer', () => loop.issuers.includes(issuerOf(a)), 30_000);
    // What `warden mtls renew-certificate -k` does: both objects, resourceVersion-guarded, backed up.
    const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    await new KubeTrustBundleStore({ clients, namespace: NS }).write(b.texts);
    await waitFor('a leaf from the new issuer', () => loop.issuers.at(-1) === issuerOf(b), 30_000); // a bound for a hang; speed is the benchmark's
    await loop.stop();
    assert.deepEqual(loop.failures, [], 'no call failed during the reload');
    assert.equal(k.sentry.port, port);
    assert.ok((await counter(k, 'issuerCertChanged')) > changedBefore);
    assert.ok(k.logs.some((l) => l.msg === 'Issuer credentials changed; reloading' && l.level === 40));
    // The serving certificate now comes from the new issuer.
    const serving = x509Chain(k.sentry.servingCertificate()!.chainPem);
    assert.equal(serving[1]!.fingerprint256, issuerOf(b));
    a = b;
  });

  it('bad Secret data is refused and counted; the old CA keeps signing; the ConfigMap is not given the bad anchors', async () => {
    const failuresBefore = await counter(k, 'reloadFailures');
    const bad = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS }, withMismatchedKey());
    const configMapBefore = configMapCa(server);
    writeBundleObjects(server, bad.texts, { configMap: false });
    await waitFor('the refusal', async () => (await counter(k, 'reloadFailures')) === failuresBefore + 1, 60_000);
    const refusal = k.logs.find((l) => l.msg.startsWith('Refusing to reload the trust bundle; still signing with the previous CA: the trust bundle in Secret dapr-system/dapr-trust-bundle is not usable'));
    assert.ok(refusal, 'logged with the finding');
    assert.equal(refusal.code, 'ERR_BUNDLE_KEY_MISMATCH');
    const res = await k.client(a.texts.ca).sign(kubeRequest('loop-app', token));
    assert.equal(x509Chain(res.workload_certificate)[1]!.fingerprint256, issuerOf(a), 'still the previous issuer');
    assert.equal(configMapCa(server), configMapBefore, 'ConfigMap untouched');

    writeBundleObjects(server, { ca: a.texts.ca, issuerCert: a.texts.issuerCert }, { configMap: false });
    await waitFor('the partial bundle refused', async () => (await counter(k, 'reloadFailures')) === failuresBefore + 2, 60_000);
    assert.ok(k.logs.some((l) => l.code === 'ERR_BUNDLE_PARTIAL' && /is incomplete \(found .*issuer\.key missing\)/.test(l.msg)));
    const health = await k.get('/healthz');
    assert.equal(health.status, 200, 'still healthy: the old CA is fine');
  });

  it('a good bundle written to the Secret alone is installed, and the ConfigMap is re-synced to it', async () => {
    const c = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    writeBundleObjects(server, c.texts, { configMap: false });
    await waitFor('the new issuer installed', () => k.sentry.currentCa().bundle.issuer.der.equals(x509Chain(c.texts.issuerCert)[0]!.raw), 60_000);
    await waitFor('the ConfigMap re-synced', () => configMapCa(server) === c.texts.ca, 60_000);
    assert.deepEqual(secretTexts(server), c.texts);
    a = c;
  });

  it('ConfigMap drift during the run is re-synced from the Secret, without a reload', async () => {
    const changedBefore = await counter(k, 'issuerCertChanged');
    const stale = (await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS })).texts.ca;
    server.api.mutate('configmaps', NS, 'dapr-trust-bundle', (cm) => { (cm as { data?: Record<string, string> }).data = { 'ca.crt': stale }; });
    await waitFor('the ConfigMap re-synced', () => configMapCa(server) === a.texts.ca, 60_000);
    assert.ok(k.logs.some((l) => l.level === 40 && l.msg.includes('had a different ca.crt than Secret dapr-system/dapr-trust-bundle: re-synced it from the Secret and kept the CA')));
    assert.equal(await counter(k, 'issuerCertChanged'), changedBefore, 'not a CA change');
    assert.deepEqual(secretTexts(server), a.texts);
  });

  it('the ConfigMap watch survives the API server ending it; a Secret change right after is still picked up (no Secret watch: the chart grants none)', async () => {
    const d = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    assert.equal(server.dropWatches(), 1, 'only the ConfigMap watch was open');
    assert.equal(server.requests.count({ resource: 'secrets', verb: 'watch' }), 0);
    assert.equal(server.requests.count({ resource: 'secrets', verb: 'list' }), 0);
    writeBundleObjects(server, d.texts);
    await waitFor('the new issuer installed', () => k.sentry.currentCa().bundle.issuer.der.equals(x509Chain(d.texts.issuerCert)[0]!.raw), 60_000);
    await waitFor('the serving certificate re-issued', () => x509Chain(k.sentry.servingCertificate()!.chainPem)[1]?.fingerprint256 === issuerOf(d), 60_000);
    const res = await k.client(d.texts.ca).sign(kubeRequest('loop-app', token));
    assert.equal(x509Chain(res.workload_certificate)[1]!.fingerprint256, issuerOf(d));
  });
});
