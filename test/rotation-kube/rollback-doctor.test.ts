/**
 * `rollback -k` (backup Secret restored with checks, then ordered restarts), `backups -k`, and
 * `doctor -k` on each broken state, with the exact commands it prints.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { buildBundle, withExpiredRoot } from '../support/bundles.js';
import { clusterBundle, cluster, journalOf, wardenK, writeLog } from './support.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('rollback -k, backups -k, doctor -k', { concurrency: 4 }, () => {
  test('rollback -k after a rotation: the original is back, then sentry, wave 2, apps restart in order', async (t) => {
    const c = await cluster(t, { apps: { count: 2 } });
    assert.equal((await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force'])).code, 0);
    const list = await wardenK(c, 'backups', ['-o', 'json']);
    assert.equal(list.code, 0, list.stderr);
    const backups = JSON.parse(list.stdout).backups as { name: string; restorable: string; root: { notAfter: string; state: string } }[];
    assert.equal(backups.length, 1);
    assert.equal(backups[0]!.restorable, 'ok');
    assert.equal(backups[0]!.root.notAfter, TrustBundle.fromTexts(c.old.texts).root.notAfter.toISOString());
    const text = await wardenK(c, 'backups');
    assert.match(text.stdout, /dapr-trust-bundle-backup-\d{8}t\d{6}z .* yes/);
    assert.match(text.stdout, /warden mtls rollback -k --kubeconfig \S+ --backup NAME/);

    const before = c.server.rollout.events.length;
    const r = await wardenK(c, 'rollback');
    assert.equal(r.code, 0, r.stderr);
    const b = clusterBundle(c);
    assert.deepEqual(b.secret, c.old.texts);
    assert.equal(b.configMapCa, c.old.texts.ca);
    const restarted = c.server.rollout.events.slice(before).filter((e) => e.type === 'restarted').map((e) => e.name);
    assert.equal(restarted[0], 'dapr-sentry');
    assert.deepEqual(restarted.slice(1, 5).sort(), ['dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-sidecar-injector']);
    assert.deepEqual(restarted.slice(5), ['app-0', 'app-1']);
    assert.match(r.stdout, /All 2 Dapr apps have restarted successfully/);
    // What it replaced was backed up too: two backups now.
    assert.equal(JSON.parse((await wardenK(c, 'backups', ['-o', 'json'])).stdout).backups.length, 2);
  });

  test('rollback -k abandons an unfinished rotation; --no-restart restarts nothing', async (t) => {
    const c = await cluster(t, { apps: { count: 1 } });
    assert.equal((await wardenK(c, 'rotate', ['--propagation-delay', '0', '--until', 'add-anchor'])).code, 0);
    const before = c.server.rollout.restarts.length;
    const r = await wardenK(c, 'rollback', ['--no-restart']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /unfinished rotation \S+ is abandoned/);
    assert.equal(journalOf(c)?.status, 'rolled-back');
    assert.equal(c.server.rollout.restarts.length, before, 'nothing restarted');
    assert.deepEqual(clusterBundle(c).secret, c.old.texts);
    const again = await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force']);
    assert.equal(again.code, 0, 'a new rotation may start after the rollback');
  });

  test('rollback -k refuses a backup whose root expired unless --force; a usage error without -k', async (t) => {
    const c = await cluster(t, { withBundle: false });
    const expired = await buildBundle({ now: new Date(), trustDomain: 'cluster.local', namespace: 'dapr-system' }, withExpiredRoot());
    c.server.api.patch('secrets', c.namespace, 'dapr-trust-bundle', 'application/merge-patch+json', {
      data: { 'ca.crt': b64(expired.texts.ca), 'issuer.crt': b64(expired.texts.issuerCert), 'issuer.key': b64(expired.texts.issuerKey) },
    });
    c.server.api.patch('configmaps', c.namespace, 'dapr-trust-bundle', 'application/merge-patch+json', { data: { 'ca.crt': expired.texts.ca } });
    const doctor = await wardenK(c, 'doctor');
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /bundle-expired/);
    assert.match(doctor.stdout, /1\. warden mtls renew-certificate -k --kubeconfig \S+ --restart --restart-apps/);
    assert.equal((await wardenK(c, 'renew-certificate', [])).code, 0);
    const listed = JSON.parse((await wardenK(c, 'backups', ['-o', 'json'])).stdout).backups;
    assert.equal(listed[0].restorable, 'expired');
    assert.equal(listed[0].root.state, 'expired');
    const refused = await wardenK(c, 'rollback');
    assert.equal(refused.code, 3, 'a backup that fails its checks: exit 3 (README)');
    assert.match(refused.stderr, /its root expired at .*--force.*ERR_BACKUP_EXPIRED/);
    const forced = await wardenK(c, 'rollback', ['--force', '--no-restart']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(clusterBundle(c).secret.ca, expired.texts.ca);
    const io = await wardenK(c, 'rollback', ['--no-restart-apps', '--bogus']);
    assert.equal(io.code, 2);
  });

  test('doctor -k: healthy, then a ConfigMap mismatch, then a partial bundle, each with its commands', async (t) => {
    const c = await cluster(t);
    const healthy = await wardenK(c, 'doctor');
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert.match(healthy.stdout, /is healthy: nothing to do/);

    c.server.api.patch('configmaps', c.namespace, 'dapr-trust-bundle', 'application/merge-patch+json', { data: { 'ca.crt': 'something else\n' } });
    const mismatch = await wardenK(c, 'doctor');
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stdout, /configmap-mismatch: ConfigMap dapr-system\/dapr-trust-bundle ca\.crt differs from Secret/);
    assert.match(mismatch.stdout, /1\. kubectl get secret dapr-trust-bundle -n dapr-system --kubeconfig \S+ -o jsonpath='\{\.data\.ca\\\.crt\}' \| base64 -d > ca\.crt && kubectl create configmap dapr-trust-bundle -n dapr-system --from-file=ca\.crt=ca\.crt --dry-run=client -o yaml \| kubectl apply --kubeconfig \S+ -f -/);

    c.server.api.patch('configmaps', c.namespace, 'dapr-trust-bundle', 'application/merge-patch+json', { data: { 'ca.crt': c.old.texts.ca } });
    c.server.api.patch('secrets', c.namespace, 'dapr-trust-bundle', 'application/merge-patch+json', { data: { 'issuer.key': null } });
    const partial = await wardenK(c, 'doctor', ['-o', 'json']);
    assert.equal(partial.code, 1);
    const report = JSON.parse(partial.stdout) as { diagnoses: { id: string }[]; commands: string[] };
    assert.ok(report.diagnoses.some((d) => d.id === 'partial-bundle'));
    assert.match(report.commands[0]!, /^warden mtls renew-certificate -k --kubeconfig \S+ --force --restart --restart-apps$/, 'no backup passes: renew');
  });

  test('doctor -k: sentry not ready; apps not restarted since ca.crt changed', async (t) => {
    const c = await cluster(t, { apps: { namespaces: ['a', 'b'], count: 3 } });
    c.server.api.mutate('deployments', c.namespace, 'dapr-sentry', (d) => {
      const o = d as { status?: Record<string, unknown> };
      o.status = { ...o.status, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 };
    }, { subresource: 'status' });
    const sick = await wardenK(c, 'doctor');
    assert.equal(sick.code, 1);
    assert.match(sick.stdout, /sentry-unhealthy: Deployment dapr-sentry in dapr-system is not rolled out and ready/);
    assert.match(sick.stdout, /1\. kubectl rollout restart deployment\/dapr-sentry -n dapr-system --kubeconfig \S+ && kubectl rollout status deployment\/dapr-sentry -n dapr-system --kubeconfig \S+/);

    // renew-certificate -k without --restart-apps: ca.crt changes, the apps keep their old anchors.
    assert.equal((await wardenK(c, 'renew-certificate', ['--restart'])).code, 0);
    await new Promise((r) => setTimeout(r, 1100)); // the backup's second lies before now
    const stale = await wardenK(c, 'doctor');
    assert.equal(stale.code, 1, stale.stdout);
    assert.match(stale.stdout, /apps-on-old-anchors: 3 Dapr app\(s\) have not been restarted since ca\.crt last changed/);
    assert.match(stale.stdout, /1\. kubectl rollout restart -n a --kubeconfig \S+ deployment\/app-0 deployment\/app-2/);
    assert.match(stale.stdout, /2\. kubectl rollout restart -n b --kubeconfig \S+ deployment\/app-1/);
    assert.ok(!writeLog(c).some((w) => w.startsWith('patch deployments/app')), 'doctor only reads');
  });
});
