/**
 * The trust gate of `rotate -k` (issue 10): switch-issuer never starts while a running Dapr pod does
 * not trust the new root. Pods are the API test server's simulated Dapr pods (injected daprd,
 * replaced on every rollout). Policies `apps` (restart what is behind), `control-plane` and `none`
 * (wait), the timeout error and its resume, trust distribution to `dapr-root-ca.crt`, and the
 * per-pod table of `doctor -k` and `rotate -k --status`. No fixed sleeps: every wait is on a
 * condition of the server (its request and rollout logs).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { systemClock } from '../../src/core/clock.js';
import { ROOT_CA_CONFIGMAP, simulateDaprPods, type DaprPodSimulator } from '../support/kube-api/index.js';
import { until } from '../support/wait.js';
import { cluster, clusterBundle, finalTexts, journalOf, rotateK, wardenK, type Cluster } from './support.js';

const APPS = { namespaces: ['team-a', 'team-b'], count: 3 };
const POLL = { pollIntervalMs: 20 };

async function podCluster(t: Parameters<typeof cluster>[0], anchors: 'env' | 'file' = 'env'): Promise<{ c: Cluster; sim: DaprPodSimulator }> {
  const c = await cluster(t, { apps: APPS, controlPlane: { withPods: false } });
  const sim = simulateDaprPods(c.server, { anchors });
  t.after(async () => sim.stop());
  return { c, sim };
}

/** A pod no workload owns, whose daprd was injected with `ca` (the injector's env copy). */
function barePod(c: Cluster, namespace: string, name: string, ca: string): void {
  c.server.api.create('pods', namespace, {
    metadata: { name, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name } },
    spec: { containers: [{ name: 'app', image: 'x' }, { name: 'daprd', image: 'daprd', env: [{ name: 'DAPR_TRUST_ANCHORS', value: ca }] }] },
  });
}

const appRestarts = (c: Cluster) => c.server.rollout.restarts.filter((e) => e.name.startsWith('app-'));
const cpRestarts = (c: Cluster) => c.server.rollout.restarts.filter((e) => e.name.startsWith('dapr-'));
const podLists = (c: Cluster) => c.server.requests.count({ verb: 'list', resource: 'pods' });
/** Another root than the cluster's (what a pod injected from elsewhere would carry). */
const otherRoot = (c: Cluster): string => generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: c.namespace }).bundle.toTexts().ca;
const switched = (c: Cluster) => clusterBundle(c).secret.issuerCert !== c.old.texts.issuerCert;

/** Waits until the gate has read the pods `n` more times after add-anchor's write. */
async function gatePolled(c: Cluster, n: number): Promise<void> {
  await until(() => journalOf(c)?.phases['add-anchor'].writtenAt !== undefined, 'add-anchor written');
  const from = podLists(c);
  await until(() => podLists(c) >= from + n, `${n} more pod reads by the trust gate`);
}

describe('rotate -k: the trust gate before switch-issuer', { concurrency: 3 }, () => {
  test('a stale pod no workload owns holds the issuer back (--restarts apps cannot restart it); once it is gone the rotation switches', async (t) => {
    const { c } = await podCluster(t);
    barePod(c, 'team-a', 'stale', c.old.texts.ca);
    const run = rotateK(c, { until: 'switch-issuer' }, POLL);
    await gatePolled(c, 4);
    assert.equal(switched(c), false, 'the issuer is not switched while team-a/stale lacks the new root');
    assert.equal(journalOf(c)?.phases['add-anchor'].completedAt, undefined, 'add-anchor is not complete');
    assert.equal(appRestarts(c).length, 3, 'the three apps (env anchors) were restarted; the bare pod cannot be');
    c.server.api.delete('pods', 'team-a', 'stale');
    const r = await run;
    assert.equal(r.code, 0, r.error?.message ?? r.stderr);
    assert.equal(switched(c), true);
    assert.match(r.stdout, /\[add-anchor\] 1 of \d+ running Dapr pod\(s\) do not trust the new root yet; waiting for them \(--restarts apps\); the issuer is not switched until they do:\n\s+team-a\/stale: lacks /);
    assert.match(r.stdout, /\[add-anchor\] All \d+ running Dapr pod\(s\) trust the new root/);
    assert.match(journalOf(c)!.phases['add-anchor'].convergence ?? '', /\d+ running Dapr pod\(s\) trust the new root/);
    assert.equal(appRestarts(c).length, 3, 'nothing restarted twice');
  });

  test('--restarts none: nothing is restarted, the wait times out with ERR_TRUST_NOT_CONVERGED naming the pods; doctor -k and --status list the same pods; --resume --restarts apps finishes', async (t) => {
    const { c } = await podCluster(t);
    const r = await rotateK(c, { until: 'switch-issuer', restarts: 'none', timeout: 1500 }, POLL);
    const err = r.error as (Error & { code?: string }) | undefined;
    assert.equal(err?.code, 'ERR_TRUST_NOT_CONVERGED', err?.message);
    assert.match(err!.message, /add-anchor is written, but after 1\.5s 3 running Dapr pod\(s\) do not trust the new root yet, so the issuer was not switched \(restart policy: none\)/);
    assert.match(err!.message, /kubectl rollout restart -n team-a deployment\/app-0 deployment\/app-2 && kubectl rollout restart -n team-b deployment\/app-1/);
    assert.match(err!.message, /continue with `warden mtls rotate -k --kubeconfig \S+ --resume`/);
    assert.equal(c.server.rollout.restarts.length, 0, 'policy none restarts nothing, not even the control plane');
    assert.equal(switched(c), false);
    assert.equal(journalOf(c)?.phase, 'plan', 'add-anchor written, not complete');

    const status = await wardenK(c, 'rotate', ['--status', '-o', 'json']);
    const doctor = await wardenK(c, 'doctor', ['-o', 'json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(doctor.code, 1, 'action needed');
    const fromStatus = JSON.parse(status.stdout).trustConvergence;
    const fromDoctor = JSON.parse(doctor.stdout).trustConvergence;
    assert.equal(fromStatus.required, 'rotation-new-root');
    assert.deepEqual(fromStatus, fromDoctor, 'the same per-pod reading');
    assert.equal(fromStatus.notConverged, 3);
    assert.deepEqual(fromStatus.pods.map((p: { owner: string }) => p.owner).sort(), ['Deployment/app-0', 'Deployment/app-1', 'Deployment/app-2']);
    assert.ok(JSON.parse(doctor.stdout).diagnoses.some((d: { id: string }) => d.id === 'pods-not-converged'));
    const text = await wardenK(c, 'rotate', ['--status']);
    assert.match(text.stdout, /3 of \d+ running Dapr pod\(s\) do not trust the rotation's new root \(3 not converged, 0 unknown\)\n\s+NAMESPACE\s+POD\s+OWNER\s+STATE\s+WHY\n/);
    assert.match(text.stdout, /team-b\s+app-1-\S+\s+deployment\/app-1\s+not-converged\s+lacks /);
    assert.match(text.stdout, /Fix: kubectl rollout restart -n team-a --kubeconfig \S+ deployment\/app-0 deployment\/app-2/);
    const doctorText = await wardenK(c, 'doctor');
    assert.match(doctorText.stdout, /pods-not-converged: 3 of \d+ running Dapr pod\(s\) do not trust the rotation's new root/);
    assert.match(doctorText.stdout, /NAMESPACE\s+POD\s+OWNER\s+STATE\s+WHY/);

    const resumed = await rotateK(c, { resume: true, restarts: 'apps', until: 'switch-issuer' }, POLL);
    assert.equal(resumed.code, 0, resumed.error?.message ?? resumed.stderr);
    assert.equal(appRestarts(c).length, 3);
    assert.equal(switched(c), true);
    assert.equal(journalOf(c)?.settings.restarts, 'apps', 'the policy given on --resume is kept in the journal');
    const after = JSON.parse((await wardenK(c, 'rotate', ['--status', '-o', 'json'])).stdout).trustConvergence;
    assert.equal(after.notConverged, 0);
    assert.deepEqual(after.pods, []);
  });

  test('--restarts control-plane: the control plane restarts, the apps are waited for until their owners restart them', async (t) => {
    const { c } = await podCluster(t);
    const run = rotateK(c, { until: 'switch-issuer', restarts: 'control-plane' }, POLL);
    await gatePolled(c, 3);
    assert.ok(cpRestarts(c).some((e) => e.name === 'dapr-sentry'), 'the control plane was restarted');
    assert.equal(appRestarts(c).length, 0, 'no app restarted by Warden');
    assert.equal(switched(c), false);
    for (const [namespace, name] of [['team-a', 'app-0'], ['team-b', 'app-1'], ['team-a', 'app-2']] as const) {
      c.server.api.patch('deployments', namespace, name, 'application/strategic-merge-patch+json', {
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } },
      });
    }
    const r = await run;
    assert.equal(r.code, 0, r.error?.message ?? r.stderr);
    assert.equal(appRestarts(c).length, 3, 'only the operator\'s own restarts');
    assert.equal(switched(c), true);
    assert.match(r.stdout, /waiting for them \(--restarts control-plane\)/);
  });

  test('--restarts apps restarts only what is behind: a pod injected before the write is restarted by the gate once', async (t) => {
    const { c, sim } = await podCluster(t);
    // app-1 rolls out again right after Warden's restart but is injected from a stale copy (the
    // kubelet had not synced yet): its pods lack the new root after its restart.
    let stale = true;
    const stop = c.server.rollout.onEvent((e) => {
      if (e.type === 'completed' && e.name === 'app-1' && stale && journalOf(c)?.phases['add-anchor'].writtenAt !== undefined) {
        stale = false;
        for (const pod of sim.podsOf('team-b', 'app-1')) {
          c.server.api.mutate('pods', 'team-b', pod.metadata.name!, (p) => {
            ((p.spec as { containers: { name: string; env?: { name: string; value: string }[] }[] }).containers.find((x) => x.name === 'daprd')!).env = [{ name: 'DAPR_TRUST_ANCHORS', value: c.old.texts.ca }];
          });
        }
      }
    });
    t.after(async () => { stop(); });
    const r = await rotateK(c, { until: 'switch-issuer' }, POLL);
    assert.equal(r.code, 0, r.error?.message ?? r.stderr);
    assert.equal(appRestarts(c).filter((e) => e.name === 'app-1').length, 2, 'restarted by the app wave, then once more by the gate');
    assert.equal(appRestarts(c).filter((e) => e.name !== 'app-1').length, 2);
    assert.match(r.stdout, /restarting team-b\/Deployment\/app-1/);
    assert.match(journalOf(c)!.phases['add-anchor'].convergence ?? '', /1 restarted by the trust gate/);
  });

  test('--distribute-trust: dapr-root-ca.crt in every app namespace; pods mounting it converge without a restart; retire-old-root leaves only the new root', async (t) => {
    const { c } = await podCluster(t, 'file');
    const r = await rotateK(c, { until: 'switch-issuer', distributeTrust: true }, POLL);
    assert.equal(r.code, 0, r.error?.message ?? r.stderr);
    assert.equal(appRestarts(c).length, 0, 'no app restarted: they read the distributed ConfigMap');
    assert.equal(switched(c), true);
    assert.match(r.stdout, /\[add-anchor\] dapr-root-ca\.crt written in team-a \(created\), team-b \(created\) \(2 namespace\(s\) with Dapr apps\)/);
    const record = journalOf(c)!;
    const both = clusterBundle(c).secret.ca;
    assert.equal(parseCertificatesPem(both).length, 2);
    for (const ns of ['team-a', 'team-b']) {
      const cm = c.server.api.get('configmaps', ns, ROOT_CA_CONFIGMAP);
      assert.equal((cm.data as Record<string, string>)['ca.crt'], both);
      assert.equal(cm.metadata.labels?.['app.kubernetes.io/managed-by'], 'warden');
    }
    assert.equal(c.server.api.find('configmaps', 'default', ROOT_CA_CONFIGMAP), undefined, 'only namespaces with Dapr apps');
    const done = await rotateK(c, { resume: true, force: true }, POLL);
    assert.equal(done.code, 0, done.error?.message ?? done.stderr);
    assert.equal(appRestarts(c).length, 0, 'retire-old-root restarts no app either: the file they watch drops the old root');
    for (const ns of ['team-a', 'team-b']) {
      assert.equal((c.server.api.get('configmaps', ns, ROOT_CA_CONFIGMAP).data as Record<string, string>)['ca.crt'], finalTexts(record).ca);
    }
  });

  test('pod reads that fail with a 500 are read again; a 403 stops the rotation in add-anchor with the resume command', async (t) => {
    const { c } = await podCluster(t);
    c.server.faults.failNext(2, { status: 500, match: { verb: 'list', resource: 'pods' } });
    const r = await rotateK(c, { until: 'add-anchor' }, POLL);
    assert.equal(r.code, 0, r.error?.message ?? r.stderr);
    assert.equal(appRestarts(c).length, 3, 'the read before the restarts failed: every app restarted, as before the gate');
    assert.match(journalOf(c)!.phases['add-anchor'].convergence ?? '', /running Dapr pod\(s\) trust the new root/);

    const { c: c2 } = await podCluster(t);
    c2.server.faults.failNext(1, { status: 403, message: 'pods is forbidden: User "ci" cannot list resource "pods"', match: { verb: 'list', resource: 'pods' } });
    const denied = await rotateK(c2, { until: 'add-anchor' }, POLL);
    const err = denied.error as (Error & { code?: string }) | undefined;
    assert.equal(err?.code, 'ERR_KUBE_FORBIDDEN', err?.message);
    assert.match(err!.message, /list pods in all namespaces.*The rotation stopped in phase add-anchor.*--resume/s);
    assert.equal(journalOf(c2)?.phases['add-anchor'].completedAt, undefined);
  });

  test('doctor -k without a rotation: a pod injected with another root is named with its fix; healthy once it is replaced', async (t) => {
    const { c, sim } = await podCluster(t);
    const healthy = await wardenK(c, 'doctor', ['-o', 'json']);
    const before = JSON.parse(healthy.stdout);
    assert.equal(before.trustConvergence.required, 'ca.crt');
    assert.equal(before.trustConvergence.notConverged, 0);
    assert.ok(!before.diagnoses.some((d: { id: string }) => d.id === 'pods-not-converged'), JSON.stringify(before.diagnoses));
    const [pod] = sim.podsOf('team-b', 'app-1');
    c.server.api.mutate('pods', 'team-b', pod!.metadata.name!, (p) => {
      ((p.spec as { containers: { name: string; env?: unknown[] }[] }).containers.find((x) => x.name === 'daprd')!).env = [{ name: 'DAPR_TRUST_ANCHORS', value: otherRoot(c) }];
    });
    const sick = await wardenK(c, 'doctor');
    assert.equal(sick.code, 1);
    assert.match(sick.stdout, /pods-not-converged: 1 of 8 running Dapr pod\(s\) do not trust every root in ca\.crt/);
    assert.match(sick.stdout, /\d\. kubectl rollout restart -n team-b --kubeconfig \S+ deployment\/app-1/);
    sim.replacePods('deployments', 'team-b', 'app-1');
    assert.equal((await wardenK(c, 'doctor')).code, 0);
  });

  test('the CLI: --restarts takes only its choices; --dry-run says what the policy restarts and that the gate waits', async (t) => {
    const { c } = await podCluster(t);
    const bad = await wardenK(c, 'rotate', ['--restarts', 'sometimes']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--restarts <policy>' argument 'sometimes' is invalid\. Allowed choices are none, control-plane, apps/);
    const dry = await wardenK(c, 'rotate', ['--dry-run', '--restarts', 'none', '--distribute-trust']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout + dry.stderr, /Restarts: none \(--restarts none\): every pod is waited for; before switch-issuer every running Dapr pod must trust the new root \(--restarts none\); dapr-root-ca\.crt is kept in sync/);
    assert.equal(c.server.api.find('configmaps', 'team-a', ROOT_CA_CONFIGMAP), undefined, 'a dry run distributes nothing');
  });
});
