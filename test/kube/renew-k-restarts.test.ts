/**
 * `renew-certificate -k --restart [--restart-apps]` in-process: failures reported and exiting 1
 * (Dapr exits 0), --app-namespaces, a Dapr without a scheduler, and the flag rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { clusterBundle, runRenewKInProcess, startCluster, writeRequests, type Cluster } from './renew-k-support.js';

async function cluster(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startCluster>[0] = {}): Promise<Cluster> {
  const c = await startCluster(opts);
  t.after(() => c.server.close());
  return c;
}

const restartedApps = (c: Cluster): string[] =>
  c.server.rollout.restarts.filter((e) => e.name.startsWith('app-')).map((e) => `${e.namespace}/${e.name}`).sort();

describe('renew-certificate -k: restarts', { concurrency: 3 }, () => {
  test('apps that fail are listed, the others restarted, exit 1 (ERR_RESTART_FAILED)', async (t) => {
    const c = await cluster(t, { apps: { namespaces: ['a', 'b', 'c'], count: 9, kinds: ['deployments', 'statefulsets', 'daemonsets'] } });
    c.server.rollout.configure({ resource: 'deployments', namespace: 'b', name: 'app-1' }, { outcome: 'fail' });
    c.server.faults.failNext(100, { match: { verb: 'patch', namespace: 'c', name: 'app-5' } });
    const r = await runRenewKInProcess(c, ['--restart-apps', '--timeout', '120']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^✅  All control plane services have restarted successfully!$/m);
    assert.match(r.stderr, /^❌  \[\s*\d\/9\] deployment\/app-1 in b failed: deployment\/app-1 in b: deployment "app-1" exceeded its progress deadline \(failures: \d; restarting: .*\)$/m);
    assert.match(r.stderr, /^❌  2 of 9 Dapr apps did not restart \(7 did, in \d+\.\ds\):$/m);
    assert.match(r.stderr, /^ {4}statefulset\/app-5 in c: cannot restart statefulset\/app-5 in c: HTTP 500: Internal error occurred: injected fault$/m);
    assert.match(r.stderr, /^❌  2 of 9 Dapr apps did not restart: deployment\/app-1 in b, statefulset\/app-5 in c\. .* \(ERR_RESTART_FAILED\)$/m);
    assert.equal(restartedApps(c).length, 8, 'all but the one whose patch kept failing were restarted');
  });

  test('--app-namespaces restricts the apps; the control plane is restarted either way', async (t) => {
    const c = await cluster(t, { apps: { namespaces: ['a', 'b', 'c'], count: 6 } });
    const r = await runRenewKInProcess(c, ['--restart-apps', '--app-namespaces', 'b,c', '--max-concurrent-restarts', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ℹ️  Restarting 4 Dapr apps in 2 namespaces, at most 2 at a time$/m);
    assert.deepEqual(restartedApps(c), ['b/app-1', 'b/app-4', 'c/app-2', 'c/app-5']);
    assert.equal(c.server.rollout.restarts.filter((e) => e.name.startsWith('dapr-')).length, 5);
    const none = await runRenewKInProcess(c, ['--restart-apps', '--app-namespaces', 'empty']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^ℹ️  No Dapr-enabled apps \(dapr\.io\/enabled: "true"\) found in namespace empty; nothing else to restart$/m);
  });

  test('a failing sentry rollout: exit 1 naming it; nothing after it is restarted', async (t) => {
    const c = await cluster(t, { apps: { count: 2 } });
    c.server.rollout.configure({ resource: 'deployments', namespace: c.namespace, name: 'dapr-sentry' }, { outcome: 'fail' });
    const r = await runRenewKInProcess(c, ['--restart-apps']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /control-plane restart failed: deployment\/dapr-sentry did not roll out \(deployment\/dapr-sentry in dapr-system: deployment "dapr-sentry" exceeded its progress deadline\)\. dapr-operator, dapr-placement-server, dapr-scheduler-server, dapr-sidecar-injector were not restarted/);
    assert.deepEqual(c.server.rollout.restarts.map((e) => e.name), ['dapr-sentry']);
    const b = clusterBundle(c);
    assert.equal(b.configMapCa, b.secret.ca, 'the bundle was written before the restarts');
  });

  test('a Dapr without a scheduler: skipped with a note; --restart without apps prints no app lines', async (t) => {
    const c = await cluster(t, { controlPlane: { withScheduler: false, version: '1.13.2' }, apps: { count: 2 } });
    const r = await runRenewKInProcess(c, ['--restart']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ℹ️  dapr-scheduler-server is not installed in dapr-system \(not part of this Dapr version\); skipped$/m);
    assert.match(r.stdout, /^✅  All control plane services have restarted successfully!$/m);
    assert.doesNotMatch(r.stdout, /Dapr apps/);
    assert.deepEqual(restartedApps(c), []);
  });

  test('flag rules: app flags need --restart-apps, --issuer-credentials is not for -k, -k flags need -k; no cluster → exit 1', async (t) => {
    const c = await cluster(t);
    for (const [args, message] of [
      [['--app-namespaces', 'a'], /--app-namespaces only applies with --restart-apps/],
      [['--restart', '--max-concurrent-restarts', '3'], /--max-concurrent-restarts only applies with --restart-apps/],
      [['--issuer-credentials', '/tmp'], /--issuer-credentials names a self-hosted bundle directory/],
      [['--max-concurrent-restarts', '0', '--restart-apps'], /expected a whole number between 1 and 100/],
      [['--timeout', '1.5'], /expected a whole number of seconds/],
      [['--restart-apps', '--app-namespaces', 'Not_A_Namespace'], /not a namespace name: Not_A_Namespace/],
    ] as const) {
      const r = await runRenewKInProcess(c, [...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
    assert.deepEqual(writeRequests(c), []);
    const io = captureIo({ env: { HOME: '/nonexistent' } });
    assert.equal(await main(['mtls', 'renew-certificate', '--restart', '--timeout', '30'], io), 2);
    assert.match(io.stderrText(), /^❌  --restart, --timeout need -k\/--kubernetes \(renewing the bundle in a cluster\).* \(ERR_USAGE\)$/m);
    const lost = captureIo({ env: { HOME: '/nonexistent', KUBECONFIG: '/nonexistent/kubeconfig' } });
    assert.equal(await main(['mtls', 'renew-certificate', '-k'], lost), 1);
    assert.match(lost.stderrText(), /no kubeconfig found .*\(ERR_KUBE_UNREACHABLE\)/);
  });
});
