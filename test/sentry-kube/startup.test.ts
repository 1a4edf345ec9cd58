/**
 * Start-up in Kubernetes mode (spec 3.3 with Warden's fixes, statement 21): missing objects are
 * fatal and never created; an empty Secret gets a generated CA persisted byte-identical to the
 * Secret and ConfigMap (and a concurrent replica's CA is adopted, not fought); a partial or bad
 * bundle is refused; a ConfigMap that disagrees with the Secret is re-synced from it and the CA
 * is kept; the Configuration CR named by --config gives TTL and skew.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import { buildBundle, withExpiredIssuer, withMismatchedKey } from '../support/bundles.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { x509Chain } from '../support/sentry-client.js';
import type { LogRecord } from '../support/sentry-harness.js';
import {
  NS, TD, configMapCa, kubeRequest, leafUris, podToken, secretTexts, startCluster, startKubeSentry, waitFor, writeBundleObjects, type KubeSentry,
} from './harness.js';
import { assertTimeInWindow } from '../support/time-window.js';

const servers: KubeApiServer[] = [];
const sentries: KubeSentry[] = [];
after(async () => {
  for (const k of sentries) await k.close();
  for (const s of servers) await s.close();
});

async function cluster(...args: Parameters<typeof startCluster>): Promise<KubeApiServer> {
  const server = await startCluster(...args);
  servers.push(server);
  return server;
}

async function sentry(server: KubeApiServer, ...rest: Parameters<typeof startKubeSentry> extends [unknown, ...infer R] ? R : never): Promise<KubeSentry> {
  const k = await startKubeSentry(server, ...rest);
  sentries.push(k);
  return k;
}

async function startFailure(server: KubeApiServer, options: Parameters<typeof startKubeSentry>[1] = {}): Promise<Error & { code?: string }> {
  try {
    const k = await startKubeSentry(server, options);
    await k.close();
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected the sentry to refuse to start');
}

const msgs = (logs: LogRecord[]): string[] => logs.map((l) => l.msg);

describe('sentry --mode kubernetes: start-up', () => {
  it('a missing Secret, ConfigMap or both: fatal, naming them; nothing is created', async () => {
    const server = await cluster();
    server.api.delete('secrets', NS, 'dapr-trust-bundle');
    let err = await startFailure(server);
    assert.ok(isWardenError(err, 'ERR_KUBE_NOT_FOUND'), String(err));
    assert.match(err.message, /^Secret dapr-system\/dapr-trust-bundle does not exist; warden sentry reads the trust bundle from them and never creates them/);
    server.api.delete('configmaps', NS, 'dapr-trust-bundle');
    err = await startFailure(server);
    assert.match(err.message, /^Secret dapr-system\/dapr-trust-bundle and ConfigMap dapr-system\/dapr-trust-bundle do not exist/);
    server.api.create('secrets', NS, { metadata: { name: 'dapr-trust-bundle' } });
    err = await startFailure(server);
    assert.match(err.message, /^ConfigMap dapr-system\/dapr-trust-bundle does not exist/);
    assert.equal(server.api.find('configmaps', NS, 'dapr-trust-bundle'), undefined, 'never created');
    assert.equal(server.requests.count({ verb: 'create', resource: 'configmaps' }) + server.requests.count({ verb: 'create', resource: 'secrets' }), 0);
  });

  it('the empty objects Helm renders without certificates: a CA is generated and persisted to both, ca.crt byte-identical', async () => {
    const server = await cluster();
    const logs: LogRecord[] = [];
    const k = await sentry(server, {}, { logs });
    const texts = secretTexts(server);
    assert.ok(texts.ca && texts.issuerCert && texts.issuerKey, 'all three keys written');
    assert.equal(configMapCa(server), texts.ca, 'ConfigMap ca.crt byte-identical to the Secret\'s');
    const root = new X509Certificate(texts.ca);
    assert.equal(root.subject, `O=${TD}`);
    assert.ok(root.verify(root.publicKey), 'self-signed root');
    const issuer = new X509Certificate(texts.issuerCert);
    assert.equal(issuer.subject, `O=spiffe://${TD}/ns/${NS}/dapr-sentry`);
    assert.ok(issuer.verify(root.publicKey));
    assert.deepEqual(
      msgs(logs).filter((m) => /Root and issuer certs not found|Generating self-signed|persisted successfully/.test(m)).length, 3,
      'Dapr\'s three log lines',
    );
    const labels = server.api.get('secrets', NS, 'dapr-trust-bundle').metadata.labels;
    assert.equal(labels?.['app'], 'dapr-sentry', 'the Secret was updated in place, not recreated');
    const res = await k.client(configMapCa(server)).sign(kubeRequest('gen-app', podToken(server, { pod: 'gen-app' })));
    assert.equal(x509Chain(res.workload_certificate)[1]!.fingerprint256, issuer.fingerprint256);
  });

  it('another replica storing its CA first (between our read and our write): ours is dropped, theirs is used', async () => {
    const server = await cluster();
    const theirs = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    // Hold our Secret update long enough for "the other replica" to write first.
    const latency = server.faults.addLatency(400, { verb: 'update', resource: 'secrets', name: 'dapr-trust-bundle' });
    const logs: LogRecord[] = [];
    const starting = sentry(server, {}, { logs });
    await waitFor('our Secret update to be in flight', () => server.requests.count({ verb: 'update', resource: 'secrets' }) > 0, 60_000);
    writeBundleObjects(server, theirs.texts);
    const k = await starting;
    latency.cancel();
    assert.deepEqual(secretTexts(server), theirs.texts, 'the Secret holds the other replica\'s bundle');
    assert.equal(configMapCa(server), theirs.texts.ca);
    assert.ok(msgs(logs).some((m) => m.includes('stored a trust bundle in Secret dapr-system/dapr-trust-bundle first; using it')));
    const res = await k.client(theirs.texts.ca).sign(kubeRequest('race-app', podToken(server, { pod: 'race-app' })));
    assert.equal(x509Chain(res.workload_certificate)[1]!.fingerprint256, x509Chain(theirs.texts.issuerCert)[0]!.fingerprint256);
  });

  it('a partial Secret is refused (ERR_BUNDLE_PARTIAL) and left as it is', async () => {
    const server = await cluster();
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    writeBundleObjects(server, { ca: texts.ca, issuerCert: texts.issuerCert });
    const err = await startFailure(server);
    assert.ok(isWardenError(err, 'ERR_BUNDLE_PARTIAL'), String(err));
    assert.match(err.message, /found Secret dapr-system\/dapr-trust-bundle key ca\.crt, Secret dapr-system\/dapr-trust-bundle key issuer\.crt but Secret dapr-system\/dapr-trust-bundle key issuer\.key missing/);
    assert.deepEqual(secretTexts(server), { ...texts, issuerKey: '' });
  });

  it('a ConfigMap that differs from the Secret, or lacks ca.crt, is re-synced from the Secret: the CA is NOT regenerated', async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    const stale = (await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS })).texts.ca;
    for (const configMap of [stale, false] as const) {
      const server = await cluster({ trustBundle: texts });
      if (configMap === false) server.api.mutate('configmaps', NS, 'dapr-trust-bundle', (c) => { (c as { data?: object }).data = {}; });
      else writeBundleObjects(server, texts, { configMap });
      const logs: LogRecord[] = [];
      const k = await sentry(server, {}, { logs });
      assert.deepEqual(secretTexts(server), texts, 'same root, issuer and key before and after');
      assert.equal(configMapCa(server), texts.ca, 'ConfigMap re-synced byte-identical');
      assert.equal(new X509Certificate(k.sentry.currentCa().bundle.root.der).fingerprint256, x509Chain(texts.ca)[0]!.fingerprint256, 'serving the Secret\'s root');
      const warning = logs.find((l) => l.msg.includes('re-synced it from the Secret and kept the CA'));
      assert.ok(warning, msgs(logs).join('\n'));
      assert.equal(warning.level, 40);
      assert.match(warning.msg, configMap === false ? /had no ca\.crt/ : /had a different ca\.crt/);
      assert.ok(!msgs(logs).some((m) => m.includes('generating self signed CA')));
      const res = await k.client(texts.ca).sign(kubeRequest('sync-app', podToken(server, { pod: 'sync-app' })));
      assert.equal(x509Chain(res.workload_certificate)[1]!.fingerprint256, x509Chain(texts.issuerCert)[0]!.fingerprint256);
    }
  });

  it('a bundle failing the checks is refused with the finding\'s code; a mismatching ConfigMap is then left alone', async () => {
    for (const [modifier, code] of [[withMismatchedKey(), 'ERR_BUNDLE_KEY_MISMATCH'], [withExpiredIssuer(), 'ERR_ISSUER_EXPIRED']] as const) {
      const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS }, modifier);
      const server = await cluster({ trustBundle: texts });
      writeBundleObjects(server, texts, { configMap: 'something else\n' });
      const err = await startFailure(server);
      assert.ok(isWardenError(err, code), `${code}: ${String(err)}`);
      assert.match(err.message, /^the trust bundle in Secret dapr-system\/dapr-trust-bundle is not usable:/);
      assert.deepEqual(secretTexts(server), texts);
      assert.equal(configMapCa(server), 'something else\n');
    }
  });

  it('--config names the Configuration (TTL, skew); a missing one means the defaults, a bad one is fatal', async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    const server = await cluster({ trustBundle: texts });
    server.api.create('configurations', NS, { metadata: { name: 'custom' }, spec: { mtls: { workloadCertTTL: '90m', allowedClockSkew: '1m' } } });
    server.api.create('configurations', NS, { metadata: { name: 'broken' }, spec: { mtls: { workloadCertTTL: 'soon' } } });
    const k = await sentry(server, { config: 'custom' });
    const before = Date.now();
    const res = await k.client(texts.ca).sign(kubeRequest('ttl-app', podToken(server, { pod: 'ttl-app' })));
    const after = Date.now();
    const leaf = x509Chain(res.workload_certificate)[0]!;
    assertTimeInWindow('NotAfter', leaf.validTo, before, after, 90 * 60_000);
    assertTimeInWindow('NotBefore', leaf.validFrom, before, after, -60_000);
    assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/ttl-app']);

    const logs: LogRecord[] = [];
    const d = await sentry(server, { config: 'absent' }, { logs });
    assert.ok(msgs(logs).some((m) => m.startsWith('Configuration dapr-system/absent not found; using the defaults')));
    const res2 = await d.client(texts.ca).sign(kubeRequest('ttl-app', podToken(server, { pod: 'ttl-app', create: false })));
    const leaf2 = x509Chain(res2.workload_certificate)[0]!;
    assert.ok(Math.abs(Date.parse(leaf2.validTo) - Date.parse(leaf2.validFrom) - (24 * 60 + 15) * 60_000) < 2_000);

    const err = await startFailure(server, { config: 'broken' });
    assert.ok(isWardenError(err, 'ERR_CONFIG_INVALID'), String(err));
    assert.match(err.message, /^invalid Sentry configuration Configuration dapr-system\/broken: spec\.mtls\.workloadCertTTL: /);
  });

  it('a --trust-domain other than the Configuration\'s controlPlaneTrustDomain is warned about (sidecars would refuse Sentry)', async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    const server = await cluster({ trustBundle: texts });
    const logs: LogRecord[] = [];
    await sentry(server, { trustDomain: 'localhost' }, { logs });
    const warning = logs.find((l) => l.msg.startsWith('--trust-domain is "localhost" but the Configuration\'s spec.mtls.controlPlaneTrustDomain is "cluster.local"'));
    assert.equal(warning?.level, 40);
    const quiet: LogRecord[] = [];
    await sentry(server, {}, { logs: quiet });
    assert.ok(!quiet.some((l) => l.msg.startsWith('--trust-domain is')));
  });

  it('an unreachable API server is a clear error', async () => {
    const server = await cluster();
    const dead = await startCluster();
    const kubeconfig = dead.kubeconfigPath.replace(/kubeconfig$/, 'kubeconfig.copy');
    const { copyFileSync } = await import('node:fs');
    copyFileSync(dead.kubeconfigPath, kubeconfig);
    await dead.close();
    const err = await startFailure(server, { kubeconfig });
    assert.ok(isWardenError(err, 'ERR_KUBE_UNREACHABLE'), String(err));
  });
});
