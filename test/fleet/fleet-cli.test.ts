/**
 * `warden fleet` through the built binary against several Kubernetes API test servers at once:
 * one row per context with its verdict, piped output without colours, `-o json` as the contract
 * says, `-o wide`, and the exit code by the worst target. A forbidden (403) or unreachable cluster
 * is a row with its error code, never a failed command.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FleetReport, FleetTarget } from '../../src/fleet/model.js';
import { assertBuilt, runWarden, writeBundle } from '../cli/helpers.js';
import { bundleFor, startCluster, stopClusters, writeFleetKubeconfig, type Cluster, type Scenario } from './support.js';

before(assertBuilt);

// Generous: no target here hangs, so it is only reached by a defect (the machine is shared and loaded).
const TIMEOUT = ['--timeout', '60s'];

describe('warden fleet (binary)', () => {
  const now = new Date();
  let dir: string;
  let kubeconfig: string;
  const clusters: Cluster[] = [];
  const scenarios: Scenario[] = ['healthy', 'expiring', 'expired', 'rotating', 'drift', 'converging', 'forbidden', 'unreachable'];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-fleet-'));
    for (const s of scenarios) clusters.push(await startCluster(s, now)); // each one kept, so after() stops it whatever fails
    kubeconfig = await writeFleetKubeconfig(dir, clusters);
    await writeBundle(join(dir, 'certs'), (await bundleFor('healthy', now)).texts);
  });
  after(async () => {
    await stopClusters(clusters);
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => runWarden(['fleet', ...TIMEOUT, ...args], { home: dir, env: { KUBECONFIG: '' } });
  const row = (report: FleetReport, name: string): FleetTarget => {
    const found = report.targets.find((t) => t.name === name);
    assert.ok(found, `row ${name}`);
    return found;
  };

  test('-o json: one row per context and directory, judged; exit 3 because one is expired', async () => {
    const r = await run(['--kubeconfig', kubeconfig, '--issuer-credentials', join(dir, 'certs'), '-o', 'json']);
    assert.equal(r.code, 3, r.stderr);
    const report = JSON.parse(r.stdout) as FleetReport;
    assert.equal(report.worst, 'critical');
    assert.deepEqual(report.targets.map((t) => t.name), [...scenarios, join(dir, 'certs')]);

    const healthy = row(report, 'healthy');
    assert.equal(healthy.status, 'healthy');
    assert.equal(healthy.kind, 'kubernetes');
    assert.equal(healthy.error, null);
    assert.equal(healthy.daprNamespace, 'dapr-system');
    assert.equal(healthy.daprVersion, '1.16.2');
    assert.deepEqual(healthy.certificates.map((c) => [c.role, c.subject, c.status]), [
      ['root', 'cluster.local', 'healthy'], ['issuer', 'spiffe://cluster.local/ns/dapr-system/dapr-sentry', 'healthy'],
    ]);
    const issuerLeft = healthy.certificates[1]!.secondsLeft!;
    assert.ok(issuerLeft > 364 * 86400 && issuerLeft <= 365 * 86400, `seconds left ${issuerLeft}`);
    assert.equal(healthy.configMapInSync, true);
    assert.equal(healthy.sentryReady, true);
    assert.equal(healthy.appsNotConverged, 0);
    assert.equal(healthy.rotation, null);
    assert.equal(healthy.finding, null);
    assert.equal(healthy.lastSuccessfulRead, report.generatedAt);

    const expiring = row(report, 'expiring');
    assert.equal(expiring.status, 'warning');
    assert.equal(expiring.certificates.find((c) => c.role === 'issuer')?.status, 'warning');
    assert.equal(expiring.finding?.code, 'WARN_ISSUER_EXPIRING');
    assert.match(expiring.finding!.message, /expires in 19 days and 23 hours .*: rotate before then\./);
    assert.equal(expiring.finding?.fix, `warden mtls rotate -k --kubeconfig ${kubeconfig} --context expiring`);

    const expired = row(report, 'expired');
    assert.equal(expired.status, 'critical');
    assert.equal(expired.certificates.find((c) => c.role === 'issuer')?.status, 'expired');
    assert.ok(expired.certificates.find((c) => c.role === 'issuer')!.secondsLeft! < 0);
    assert.equal(expired.finding?.severity, 'critical');
    assert.equal(expired.finding?.code, 'ERR_ISSUER_EXPIRED');
    assert.equal(expired.finding?.fix, `warden mtls renew-certificate -k --kubeconfig ${kubeconfig} --context expired`);

    const rotating = row(report, 'rotating');
    assert.equal(rotating.status, 'healthy');
    assert.equal(rotating.rotation?.phase, 'propagation');
    assert.deepEqual(rotating.rotation?.phases.map((p) => [p.name, p.endedAt === null]), [['add-anchor', false], ['propagation', true]]);
    assert.equal(rotating.rotation?.since, rotating.rotation?.phases[1]?.startedAt);

    const drift = row(report, 'drift');
    assert.equal(drift.status, 'warning');
    assert.equal(drift.configMapInSync, false);
    assert.equal(drift.finding?.code, 'ERR_TRUST_ANCHORS_MISMATCH');
    assert.equal(drift.finding?.fix, `warden mtls doctor -k --kubeconfig ${kubeconfig} --context drift`);

    const converging = row(report, 'converging');
    assert.equal(converging.status, 'warning');
    assert.equal(converging.appsNotConverged, 3);
    assert.equal(converging.configMapInSync, true);
    assert.equal(converging.finding?.code, 'WARN_APPS_NOT_CONVERGED');
    assert.equal(converging.finding?.fix, `warden mtls doctor -k --kubeconfig ${kubeconfig} --context converging`);

    const forbidden = row(report, 'forbidden');
    assert.equal(forbidden.status, 'unreachable');
    assert.equal(forbidden.error?.code, 'ERR_KUBE_FORBIDDEN');
    assert.match(forbidden.error!.message, /403 Forbidden/);
    assert.deepEqual(forbidden.certificates, []);
    assert.equal(forbidden.lastSuccessfulRead, null);

    const unreachable = row(report, 'unreachable');
    assert.equal(unreachable.status, 'unreachable');
    assert.equal(unreachable.error?.code, 'ERR_KUBE_UNREACHABLE');
    assert.match(unreachable.error!.message, /ECONNREFUSED/);

    const selfHosted = row(report, join(dir, 'certs'));
    assert.equal(selfHosted.kind, 'self-hosted');
    assert.equal(selfHosted.status, 'healthy');
    assert.equal(selfHosted.certificates.length, 2);
    assert.equal(selfHosted.configMapInSync, null);
    assert.equal(selfHosted.sentryReady, null);
  });

  test('exit codes by the worst target: 0 healthy, 1 warning, 1 unreachable, 3 expired', async () => {
    const codes = await Promise.all([
      run(['--kubeconfig', kubeconfig, '--contexts', 'healthy,rotating']),
      run(['--kubeconfig', kubeconfig, '--contexts', 'healthy,expiring']),
      run(['--kubeconfig', kubeconfig, '--contexts', 'healthy', '--contexts', 'forbidden']),
      run(['--kubeconfig', kubeconfig, '--contexts', 'expired,unreachable']),
    ]);
    assert.deepEqual(codes.map((r) => r.code), [0, 1, 1, 3], codes.map((r) => r.stderr).join('\n'));
  });

  test('piped text: a plain table (no escape codes), then each finding with its fix; -o wide adds dates', async () => {
    const r = await run(['--kubeconfig', kubeconfig, '--contexts', 'healthy,expiring,forbidden']);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, /\u001b\[/);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^STATUS +TARGET +NAMESPACE +DAPR +ROOT +ISSUER +JWT KEY +ROTATION +CONFIGMAP +SENTRY +APPS NOT CONVERGED$/);
    assert.match(lines[1]!, /^healthy +healthy +dapr-system +1\.16\.2 +364d +364d +- +- +in sync +ready +0$/);
    assert.match(lines[2]!, /^warning +expiring +dapr-system +1\.16\.2 +364d +19d +- +- +in sync +ready +0$/);
    assert.match(lines[3]!, /^unreachable +forbidden( +-)+$/);
    assert.match(r.stdout, /\nexpiring: The issuer certificate .* expires in 19 days.*\(WARN_ISSUER_EXPIRING\)\n {4}fix: warden mtls rotate -k --kubeconfig \S+ --context expiring\n/);
    assert.match(r.stdout, /\nforbidden: cannot .*403 Forbidden.*\(ERR_KUBE_FORBIDDEN\)\n/);
    const wide = await run(['--kubeconfig', kubeconfig, '--contexts', 'healthy', '-o', 'wide']);
    assert.equal(wide.code, 0, wide.stderr);
    assert.match(wide.stdout, /ROOT EXPIRES +ISSUER EXPIRES +JWT KEY DUE +KIND +ERROR\n/);
    assert.match(wide.stdout, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z +- +kubernetes +-\n/);
  });

  test('--kubeconfig repeated or as a path list merges the files; an unknown --contexts name is a usage error', async () => {
    const one = await writeFleetKubeconfig(dir, clusters.slice(0, 1), 'one.yaml');
    const two = await writeFleetKubeconfig(dir, clusters.slice(1, 2), 'two.yaml');
    const repeated = await run(['--kubeconfig', one, '--kubeconfig', two, '-o', 'json']);
    const listed = await run(['--kubeconfig', `${one}${delimiter}${two}`, '-o', 'json']);
    for (const r of [repeated, listed]) {
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as FleetReport;
      assert.deepEqual(report.targets.map((t) => [t.name, t.status]), [['healthy', 'healthy'], ['expiring', 'warning']]);
      // The printed command finds the same context: the files go in KUBECONFIG (--kubeconfig takes one).
      assert.equal(report.targets[1]?.finding?.fix, `KUBECONFIG=${one}${delimiter}${two} warden mtls rotate -k --context expiring`);
    }
    const unknown = await run(['--kubeconfig', one, '--contexts', 'healthy,nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--contexts names "nope", not in the kubeconfig \(contexts: healthy\).*\(ERR_USAGE\)/);
  });
});
