/**
 * deploy/kubernetes/sentry-auto-renew-rbac.yaml: with Dapr's chart RBAC for Sentry (seedDaprSentryRbac)
 * plus that manifest, a sentry running as the dapr-sentry ServiceAccount (its token, not an admin)
 * renews a due CA end to end — Lease, Events, journal Secret, trust gate over every pod, app restarts
 * (`--auto-renew-restarts apps`) and `--distribute-trust` ConfigMaps. With the chart's RBAC alone it
 * does not: the API server's 403 is logged, naming the Lease it may not read. Also: the values file
 * documents the environment forms the chart can pass, and the CLI takes them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../../src/cli/io.js';
import type { RotationRecord } from '../../src/core/rotation-phases/record.js';
import type { LogRecord } from '../support/sentry-harness.js';
import { ROOT_CA_CONFIGMAP, seedDaprSentryRbac, type KubeApiServer } from '../support/kube-api/index.js';
import type { JsonObject } from '../support/kube-api/objects.js';
import { dueCluster } from '../sentry-kube/due-cluster.js';
import { NS, secretTexts, startKubeSentry, waitFor } from '../sentry-kube/harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MANIFEST = join(REPO, 'deploy', 'kubernetes', 'sentry-auto-renew-rbac.yaml');
const LONG = 120_000;

const PLURAL: Record<string, string> = { Role: 'roles', RoleBinding: 'rolebindings', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings' };

/** `kubectl apply -f` of the manifest, as the admin. */
function applyManifest(server: KubeApiServer): void {
  for (const doc of parseAllDocuments(readFileSync(MANIFEST, 'utf8'))) {
    const obj = doc.toJS() as JsonObject & { kind: string; metadata: { namespace?: string } };
    const plural = PLURAL[obj.kind];
    assert.ok(plural, `unexpected kind ${obj.kind}`);
    server.api.create(plural, obj.metadata.namespace, obj);
  }
}

function journal(server: KubeApiServer): RotationRecord | undefined {
  const s = server.api.find('secrets', NS, 'dapr-trust-bundle-rotation');
  if (!s) return undefined;
  return JSON.parse(Buffer.from(String((s.data as Record<string, string>)['journal.json']), 'base64').toString('utf8')) as RotationRecord;
}

/** A cluster whose CA is due (a 30-day CA born 21 days ago), two Dapr apps whose pods read DAPR_TRUST_ANCHORS; a kubeconfig with the sentry's token. */
async function dueClusterAsSentry(t: { after(fn: () => unknown): void }, withManifest: boolean) {
  const { server, old } = await dueCluster(t);
  const { token } = seedDaprSentryRbac(server, { namespace: NS });
  if (withManifest) applyManifest(server);
  const dir = mkdtempSync(join(tmpdir(), 'warden-rbac-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfigWith([{ name: 'pod', token, namespace: NS }], 'pod'));
  return { server, old, kubeconfig };
}

const AUTO_RENEW = {
  autoRenew: true, autoRenewLeaseDurationMs: 3_000, autoRenewPropagationDelayMs: 300, autoRenewRetryDelayMs: 500,
  autoRenewTimeoutMs: LONG, autoRenewRestarts: 'apps' as const, autoRenewIdentity: 'sentry-0_1',
  distributeTrust: true, distributeTrustIntervalMs: 200,
};

describe('deploy/kubernetes/sentry-auto-renew-rbac.yaml', () => {
  it('with the chart\'s Sentry RBAC, lets the dapr-sentry ServiceAccount renew a due CA end to end (Lease, Events, journal, gate, app restarts, dapr-root-ca.crt)', { timeout: 180_000 }, async (t) => {
    const { server, old, kubeconfig } = await dueClusterAsSentry(t, true);
    const logs: LogRecord[] = [];
    const k = await startKubeSentry(server, { kubeconfig, ...AUTO_RENEW }, { logs });
    t.after(() => k.close());
    await waitFor('the rotation to finish', () => journal(server)?.status === 'done', LONG)
      .catch((err: Error) => { throw new Error(`${err.message}\n${logs.filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l)).join('\n')}`); });
    assert.notEqual(secretTexts(server).issuerCert, old.toTexts().issuerCert);
    assert.ok(server.api.find('leases', NS, AUTO_RENEW_LEASE(server)), 'the Lease was created');
    assert.ok(server.api.list('events', { namespace: NS }).items.some((e) => e.reason === 'AutoRenewStarted'));
    assert.ok(server.rollout.restarts.some((r) => r.name.startsWith('app-')), 'apps restarted by the sentry');
    await waitFor('dapr-root-ca.crt in team-a', () => (server.api.find('configmaps', 'team-a', ROOT_CA_CONFIGMAP)?.data as Record<string, string> | undefined)?.['ca.crt'] === secretTexts(server).ca, LONG);
    const forbidden = logs.filter((l) => /forbidden|HTTP-Code: 403/i.test(JSON.stringify(l)));
    assert.deepEqual(forbidden, [], 'no request was refused');
  });

  it('the chart\'s RBAC alone does not let it renew: the 403 on the Lease is logged and nothing is rotated', { timeout: 60_000 }, async (t) => {
    const { server, old, kubeconfig } = await dueClusterAsSentry(t, false);
    const logs: LogRecord[] = [];
    const k = await startKubeSentry(server, { kubeconfig, ...AUTO_RENEW }, { logs });
    t.after(() => k.close());
    // The API server's Status message, said as every Kubernetes error is (not the client library's dump of headers and body).
    const refused = () => logs.find((l) => l.msg === 'Auto-renew: Lease request failed' && String(l.err).includes('403'));
    await waitFor('the 403 on the Lease to be logged', () => refused() !== undefined, 30_000);
    const err = String(refused()!.err);
    assert.doesNotMatch(err, /HTTP-Code|Headers|\\"/, err);
    assert.match(err, /^cannot acquire or renew Lease dapr-system\/warden-sentry-auto-renew: .* \(403 Forbidden\); use a --context whose user is allowed to do this$/);
    assert.match(err, /leases\.coordination\.k8s\.io "warden-sentry-auto-renew" is forbidden: User "system:serviceaccount:dapr-system:dapr-sentry" cannot get resource "leases" in API group "coordination\.k8s\.io" in the namespace "dapr-system"/);
    assert.equal(journal(server), undefined, 'no rotation started');
    assert.equal(secretTexts(server).issuerCert, old.toTexts().issuerCert);
  });
});

function AUTO_RENEW_LEASE(server: KubeApiServer): string {
  const leases = server.api.list('leases', { namespace: NS }).items;
  assert.equal(leases.length, 1, 'one Lease');
  return String((leases[0]!.metadata as { name: string }).name);
}

describe('auto-renew through the chart\'s extraEnvVars', () => {
  it('WARDEN_AUTO_RENEW, WARDEN_AUTO_RENEW_RESTARTS and WARDEN_DISTRIBUTE_TRUST reach the sentry as the flags do; a bad value is a usage error naming the variable', async () => {
    let seen: { autoRenew?: boolean; autoRenewRestarts?: string; distributeTrust?: boolean } | undefined;
    const deps = {
      openStore: () => { throw new Error('not reached'); },
      startSentry: (o: typeof seen) => { seen = o; throw new Error('stop here'); },
      waitForShutdown: () => Promise.resolve(''),
    };
    // Commander reads these from process.env, as the pod's environment.
    const withEnv = async (vars: Record<string, string>, fn: () => Promise<void>) => {
      const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
      Object.assign(process.env, vars);
      try { await fn(); } finally {
        for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
      }
    };
    const env = { WARDEN_AUTO_RENEW: 'true', WARDEN_AUTO_RENEW_RESTARTS: 'control-plane', WARDEN_DISTRIBUTE_TRUST: 'true' };
    await withEnv(env, async () => {
      await main(['sentry', '--mode', 'kubernetes', '--log-file', '/dev/null'], captureIo({ env: { HOME: '/nonexistent' } }), deps as never);
    });
    assert.deepEqual({ a: seen?.autoRenew, r: seen?.autoRenewRestarts, d: seen?.distributeTrust }, { a: true, r: 'control-plane', d: true });

    seen = undefined as typeof seen;
    await withEnv({ WARDEN_AUTO_RENEW: 'true' }, async () => {
      await main(['sentry', '--mode', 'kubernetes', '--auto-renew=false', '--log-file', '/dev/null'], captureIo({ env: { HOME: '/nonexistent' } }), deps as never);
    });
    assert.equal(seen?.autoRenew, false, 'the flag wins over the variable');

    const bad = captureIo({ env: { HOME: '/nonexistent' } });
    await withEnv({ WARDEN_AUTO_RENEW_RESTARTS: 'everything' }, async () => {
      assert.equal(await main(['sentry'], bad, deps as never), 2);
    });
    assert.match(bad.stderrText(), /WARDEN_AUTO_RENEW_RESTARTS.*Allowed choices are none, control-plane, apps/);
  });
});
