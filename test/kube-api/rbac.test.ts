/**
 * RBAC for service-account tokens (test/support/kube-api/rbac.ts), with the Role and ClusterRole
 * Dapr's chart gives Sentry, checked against what the real kubectl prints and exits with.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seedDaprControlPlane, seedDaprSentryRbac, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { call, kubectl } from './http.js';

const NS = 'dapr-system';
const USER = `system:serviceaccount:${NS}:dapr-sentry`;

describe('RBAC for service-account tokens (the chart\'s Sentry Role and ClusterRole)', () => {
  let server: KubeApiServer;
  let dir: string;
  let token: string;
  let asSentry: KubeApiServer;
  const k = (...args: string[]) => kubectl(asSentry, join(dir, 'cache'), args);

  before(async () => {
    server = await startKubeApiServer();
    seedDaprControlPlane(server, {});
    ({ token } = seedDaprSentryRbac(server, { namespace: NS }));
    dir = mkdtempSync(join(tmpdir(), 'warden-rbac-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, server.kubeconfigWith([{ name: 'sentry', token, namespace: NS }], 'sentry'));
    asSentry = { ...server, kubeconfigPath };
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl get: the named Secret yes; another Secret and the Secret list are Forbidden with the real message', async () => {
    const ok = await k('get', 'secret', 'dapr-trust-bundle', '-o', 'name');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'secret/dapr-trust-bundle\n');
    const other = await k('get', 'secret', 'other');
    assert.equal(other.code, 1);
    assert.equal(other.stderr, `Error from server (Forbidden): secrets "other" is forbidden: User "${USER}" cannot get resource "secrets" in API group "" in the namespace "${NS}"\n`);
    const list = await k('get', 'secrets');
    assert.equal(list.code, 1);
    assert.equal(list.stderr, `Error from server (Forbidden): secrets is forbidden: User "${USER}" cannot list resource "secrets" in API group "" in the namespace "${NS}"\n`);
    const nodes = await k('get', 'namespaces');
    assert.equal(nodes.stderr, `Error from server (Forbidden): namespaces is forbidden: User "${USER}" cannot list resource "namespaces" in API group "" at the cluster scope\n`);
    const pods = await k('get', 'pods', '-A', '-o', 'name');
    assert.equal(pods.code, 0, pods.stderr);
  });

  it('kubectl auth can-i answers from the same rules (no watch on Secrets, watch on the ConfigMap by name)', async () => {
    const cases: [string[], boolean][] = [
      [['get', 'secret/dapr-trust-bundle'], true], [['update', 'secret/dapr-trust-bundle'], true], [['delete', 'secret/dapr-trust-bundle'], true],
      [['watch', 'secrets'], false], [['list', 'secrets'], false], [['create', 'secrets'], false], [['get', 'secret/other'], false],
      [['watch', 'configmap/dapr-trust-bundle'], true], [['list', 'configmaps'], false], [['create', 'configmaps'], false],
      [['create', 'tokenreviews.authentication.k8s.io'], true], [['get', 'pods', '-A'], true], [['list', 'configurations.dapr.io'], true],
      [['update', 'configurations.dapr.io/daprsystem'], false], [['create', 'serviceaccounts/token'], false],
    ];
    for (const [args, want] of cases) {
      const r = await k('auth', 'can-i', ...args);
      assert.equal(r.stdout, want ? 'yes\n' : 'no\n', `can-i ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.code, want ? 0 : 1);
    }
  });

  it('a watch is allowed only with the metadata.name field selector the resourceNames rule names; 403 bodies as the real server', async () => {
    const base = `/api/v1/namespaces/${NS}/configmaps`;
    const named = await call(server, 'GET', `${base}?fieldSelector=metadata.name%3Ddapr-trust-bundle`, { token });
    assert.equal(named.status, 200);
    const all = await call(server, 'GET', `${base}?watch=1&timeoutSeconds=1`, { token });
    assert.equal(all.status, 403);
    assert.deepEqual(all.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: `configmaps is forbidden: User "${USER}" cannot watch resource "configmaps" in API group "" in the namespace "${NS}"`,
      reason: 'Forbidden', details: { kind: 'configmaps' }, code: 403,
    });
    const secretWatch = await call(server, 'GET', `/api/v1/namespaces/${NS}/secrets?watch=1&fieldSelector=metadata.name%3Ddapr-trust-bundle`, { token });
    assert.equal(secretWatch.status, 403);
    assert.deepEqual(secretWatch.json.details, { name: 'dapr-trust-bundle', kind: 'secrets' });
    const cfg = await call(server, 'PUT', `/apis/dapr.io/v1alpha1/namespaces/${NS}/configurations/daprsystem`, { token, body: {} });
    assert.equal(cfg.json.message,
      `configurations.dapr.io "daprsystem" is forbidden: User "${USER}" cannot update resource "configurations" in API group "dapr.io" in the namespace "${NS}"`);
    assert.deepEqual(cfg.json.details, { name: 'daprsystem', group: 'dapr.io', kind: 'configurations' });
  });

  it('the server\'s own token is unaffected; an unknown bearer token is 401', async () => {
    assert.equal((await call(server, 'GET', `/api/v1/namespaces/${NS}/secrets`)).status, 200);
    assert.equal((await call(server, 'GET', `/api/v1/namespaces/${NS}/secrets`, { token: 'not-a-token' })).status, 401);
  });
});
