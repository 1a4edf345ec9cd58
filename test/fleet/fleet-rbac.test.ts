/**
 * `warden monitor` in a cluster with the read-only Role of docs/metrics.md: the Role and ClusterRole
 * are taken from the YAML in the doc itself (so the doc cannot drift from what works), bound to a
 * ServiceAccount whose token the Kubernetes API test server authorizes by RBAC. Skipped, saying so,
 * when the test server has no RBAC (it arrives with the h-chart branch).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { KubeTargetReader } from '../../src/fleet/kube-target.js';
import { readFleet } from '../../src/fleet/read-fleet.js';
import { buildBundle } from '../support/bundles.js';
import { mintServiceAccountToken, seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules: unknown[];
}

/** The Role and ClusterRole of docs/metrics.md's "read-only Role" section. */
function documentedRoles(): RbacObject[] {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Running it in a cluster with a read-only Role'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'docs/metrics.md has the Role as YAML');
  return parseAllDocuments(yaml).map((d) => d.toJS() as RbacObject);
}

function hasRbac(server: KubeApiServer): boolean {
  try {
    server.api.find('clusterroles', undefined, 'none');
    return true;
  } catch {
    return false;
  }
}

describe('the documented read-only Role, enforced by the test server\'s RBAC', () => {
  let server: KubeApiServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-fleet-rbac-'));
    server = await startKubeApiServer();
    seedDaprControlPlane(server, { trustBundle: (await buildBundle({ now: new Date() })).texts });
    seedDaprApps(server, { count: 2 });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const readAs = async (token: string, namespace?: string) => {
    const kubeconfig = join(dir, `kc-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(kubeconfig, server.kubeconfigWith([{ name: 'monitor', token }]));
    const reader = new KubeTargetReader({ context: 'monitor', kubeconfigs: [kubeconfig], ...(namespace ? { namespace } : {}) });
    return (await readFleet([reader], { timeoutMs: 60_000, clock: { now: () => new Date() } })).targets[0]!;
  };

  test('the Role alone reads the row (apps not converged unknown); with the ClusterRole also the apps and discovery; a missing rule is ERR_KUBE_FORBIDDEN', async (t) => {
    if (!hasRbac(server)) {
      t.skip('the Kubernetes API test server here has no RBAC (h-chart adds it); the request set is asserted in fleet-read.test.ts');
      return;
    }
    const [role, clusterRole] = documentedRoles();
    assert.deepEqual([role?.kind, clusterRole?.kind], ['Role', 'ClusterRole']);
    const ns = 'dapr-system';
    const subject = { kind: 'ServiceAccount', name: 'warden-monitor', namespace: ns };
    const token = mintServiceAccountToken(server, { namespace: ns, serviceAccount: 'warden-monitor' });

    // Nothing bound yet: forbidden, a row with its error.
    const none = await readAs(token, ns);
    assert.deepEqual([none.status, none.error?.code], ['unreachable', 'ERR_KUBE_FORBIDDEN']);

    server.api.create('roles', ns, { metadata: { name: role!.metadata.name }, rules: role!.rules });
    server.api.create('rolebindings', ns, {
      metadata: { name: 'warden-monitor' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role!.metadata.name }, subjects: [subject],
    });
    const roleOnly = await readAs(token, ns);
    assert.equal(roleOnly.error, null, JSON.stringify(roleOnly.error));
    assert.deepEqual([roleOnly.status, roleOnly.sentryReady, roleOnly.configMapInSync, roleOnly.appsNotConverged], ['healthy', true, true, null]);
    const noNamespace = await readAs(token);
    assert.deepEqual([noNamespace.status, noNamespace.error?.code], ['unreachable', 'ERR_KUBE_FORBIDDEN'], 'discovery lists configurations cluster-wide');

    server.api.create('clusterroles', undefined, { metadata: { name: clusterRole!.metadata.name }, rules: clusterRole!.rules });
    server.api.create('clusterrolebindings', undefined, {
      metadata: { name: 'warden-monitor-pods' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole!.metadata.name }, subjects: [subject],
    });
    const both = await readAs(token);
    assert.equal(both.error, null, JSON.stringify(both.error));
    assert.deepEqual([both.status, both.daprNamespace, both.appsNotConverged], ['healthy', ns, 0]);
  });
});
