/**
 * Issue 10's "a stale pod", through the sentry: `warden sentry --mode kubernetes --auto-renew`
 * renews a due CA with the engine, and its trust gate holds the issuer back while a running Dapr
 * pod does not trust the new root. The sentry shows the pod three ways — the `TrustNotConverged`
 * Warning Event on the trust-bundle Secret, `warden_sentry_pods_not_converged` and a log line
 * naming it — and switches only once the pod is gone (replaced by the test) or restarted by the
 * sentry itself (`--auto-renew-restarts apps`). `--distribute-trust` (the name `rotate -k` uses) is
 * recorded in the rotation's settings and keeps `dapr-root-ca.crt` in sync between rotations.
 * Real time with short settings; every wait polls the API server's state, bounded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../../src/cli/io.js';
import type { RotationRecord } from '../../src/core/rotation-phases/record.js';
import type { TrustRestartPolicy } from '../../src/kube/trust-restart-policy.js';
import { ROOT_CA_CONFIGMAP, seedDaprApps, type KubeApiServer } from '../support/kube-api/index.js';
import { dueCluster } from './due-cluster.js';
import { NS, secretTexts, startKubeSentry, waitFor, type KubeSentry } from './harness.js';

const LONG = 120_000;

function journal(server: KubeApiServer): RotationRecord | undefined {
  const s = server.api.find('secrets', NS, 'dapr-trust-bundle-rotation');
  if (!s) return undefined;
  return JSON.parse(Buffer.from(String((s.data as Record<string, string>)['journal.json']), 'base64').toString('utf8')) as RotationRecord;
}

const secretEvents = (server: KubeApiServer) => server.api.list('events', { namespace: NS }).items
  .filter((e) => (e.involvedObject as { name?: string }).name === 'dapr-trust-bundle');
const appRestarts = (server: KubeApiServer) => server.rollout.restarts.filter((e) => e.name.startsWith('app-'));

async function metric(k: KubeSentry, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${k.sentry.metricsPort}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function warden(server: KubeApiServer, sub: string, args: string[]): Promise<{ code: number; stdout: string }> {
  const io = captureIo({ env: { HOME: '/nonexistent', USER: 'ana' } });
  const code = await main(['mtls', sub, '-k', '--kubeconfig', server.kubeconfigPath, ...args], io);
  return { code, stdout: io.stdoutText() };
}

async function autoRenewingSentry(t: { after(fn: () => unknown): void }, server: KubeApiServer, restarts: TrustRestartPolicy, extra: Record<string, unknown> = {}): Promise<KubeSentry> {
  const k = await startKubeSentry(server, {
    autoRenew: true, autoRenewLeaseDurationMs: 3_000, autoRenewPropagationDelayMs: 300, autoRenewRetryDelayMs: 500,
    autoRenewTimeoutMs: LONG, autoRenewRestarts: restarts, autoRenewIdentity: 'sentry-0_1', ...extra,
  });
  t.after(() => k.close());
  return k;
}

describe('sentry --auto-renew in Kubernetes: the flags', () => {
  it('--distribute-trust needs --mode kubernetes and --auto-renew; --auto-renew-restarts takes none, control-plane or apps', async () => {
    const deps = { openStore: () => { throw new Error('not reached'); }, startSentry: () => { throw new Error('not reached'); }, waitForShutdown: () => Promise.resolve('') };
    for (const argv of [['--distribute-trust'], ['--distribute-trust', '--auto-renew'], ['--distribute-trust', '--mode', 'kubernetes']]) {
      const io = captureIo();
      assert.notEqual(await main(['sentry', ...argv, '--log-file', '/dev/null'], io, deps), 0, argv.join(' '));
      assert.match(io.stderrText() + io.stdoutText(), /--distribute-trust needs --mode kubernetes and --auto-renew/);
    }
    const io = captureIo();
    assert.equal(await main(['sentry', '--auto-renew-restarts', 'everything'], io, deps), 2);
    assert.match(io.stderrText(), /--auto-renew-restarts.*Allowed choices are none, control-plane, apps/);
  });
});

describe('sentry --auto-renew-restarts outside Kubernetes auto-renewal', () => {
  it('given on the command line or as WARDEN_AUTO_RENEW_RESTARTS without --mode kubernetes --auto-renew, it is not silently ignored: a warning says it has no effect; defaulted, no warning', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-restarts-flag-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const deps = {
      openStore: () => { throw new Error('not reached'); },
      startSentry: () => Promise.resolve({ close: () => Promise.resolve() }),
      waitForShutdown: () => Promise.resolve('SIGTERM'),
    };
    let n = 0;
    const run = async (argv: string[]): Promise<string> => {
      const log = join(dir, `sentry-${n++}.log`);
      const io = captureIo({ env: { HOME: dir } });
      assert.equal(await main(['sentry', ...argv, '--issuer-credentials', dir, '--log-file', log], io, deps as never), 0, io.stderrText());
      return readFileSync(log, 'utf8');
    };
    const warning = /Ignoring --auto-renew-restarts (\S+): it applies only with --mode kubernetes and --auto-renew/;
    for (const argv of [['--auto-renew-restarts', 'apps', '--auto-renew'], ['--auto-renew-restarts', 'none', '--mode', 'kubernetes'], ['--auto-renew-restarts=control-plane']]) {
      assert.match(await run(argv), warning, argv.join(' '));
    }
    process.env['WARDEN_AUTO_RENEW_RESTARTS'] = 'none';
    try {
      assert.equal(warning.exec(await run(['--auto-renew']))?.[1], 'none');
    } finally {
      delete process.env['WARDEN_AUTO_RENEW_RESTARTS'];
    }
    assert.doesNotMatch(await run(['--auto-renew']), warning, 'defaulted: no warning');
  });
});

describe('sentry --auto-renew in Kubernetes: the per-pod trust gate', () => {
  it('a stale pod no workload owns holds the issuer back: TrustNotConverged Event, warden_sentry_pods_not_converged 1 and a log line name it; --status and doctor say the sentry started the rotation; once the pod is replaced the issuer switches', { timeout: 180_000 }, async (t) => {
    const { server, old } = await dueCluster(t);
    // Injected before the rotation: its daprd's DAPR_TRUST_ANCHORS lack the new root, and no
    // workload owns it, so `--auto-renew-restarts apps` cannot restart it.
    server.api.create('pods', 'team-a', {
      metadata: { name: 'stale', annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'stale' } },
      spec: { containers: [{ name: 'app', image: 'x' }, { name: 'daprd', image: 'daprd', env: [{ name: 'DAPR_TRUST_ANCHORS', value: old.toTexts().ca }] }] },
    });
    const k = await autoRenewingSentry(t, server, 'apps');

    const event = await waitFor('the TrustNotConverged Event', () => secretEvents(server).some((e) => e.reason === 'TrustNotConverged'), LONG)
      .then(() => secretEvents(server).find((e) => e.reason === 'TrustNotConverged')!);
    assert.equal(event.type, 'Warning');
    assert.match(String(event.message), /1 of \d+ running Dapr pod\(s\) do not trust the new root yet; the issuer is not switched until they do; waiting for them \(--auto-renew-restarts apps\): team-a\/stale/);
    await waitFor('warden_sentry_pods_not_converged 1', async () => (await metric(k, 'warden_sentry_pods_not_converged')) === 1, LONG);
    assert.ok(k.logs.some((l) => /add-anchor: 1 of \d+ running Dapr pod\(s\) do not trust the new root yet.*team-a\/stale/.test(String(l.msg))), 'a log line names the pod');

    const record = journal(server)!;
    assert.equal(record.status, 'in-progress');
    assert.equal(record.phases['add-anchor'].writtenAt !== undefined, true);
    assert.equal(record.phases['add-anchor'].completedAt, undefined, 'add-anchor is not complete');
    assert.equal(secretTexts(server).issuerCert, old.toTexts().issuerCert, 'the issuer is not switched');
    assert.equal(record.settings.restarts, 'apps', 'the policy is in the rotation\'s settings, as rotate -k records it');
    assert.equal(record.settings.startedBy, 'warden-sentry');
    assert.equal(record.settings.startedByIdentity, 'sentry-0_1');
    assert.equal(appRestarts(server).length, 2, 'the two apps (env anchors) were restarted by the sentry, per the policy');

    const status = await warden(server, 'rotate', ['--status']);
    assert.match(status.stdout, /Started by the sentry's --auto-renew \(replica sentry-0_1\)/);
    const statusJson = JSON.parse((await warden(server, 'rotate', ['--status', '-o', 'json'])).stdout);
    assert.equal(statusJson.startedBy, "the sentry's --auto-renew (replica sentry-0_1)");
    assert.equal(statusJson.trustConvergence.notConverged, 1);
    const doctor = await warden(server, 'doctor', []);
    assert.match(doctor.stdout, /started by the sentry's --auto-renew \(replica sentry-0_1\)/);
    assert.match(doctor.stdout, /team-a\s+stale/);

    // The test "restarts" the pod: it is gone, so every running pod trusts the new root.
    server.api.delete('pods', 'team-a', 'stale');
    await waitFor('the issuer to switch', () => secretTexts(server).issuerCert !== old.toTexts().issuerCert, LONG);
    assert.ok(journal(server)!.phases['add-anchor'].completedAt !== undefined);
    await waitFor('warden_sentry_pods_not_converged 0', async () => (await metric(k, 'warden_sentry_pods_not_converged')) === 0, LONG);
    assert.ok(secretEvents(server).some((e) => e.reason === 'TrustConverged'), 'a TrustConverged Event');
    await waitFor('the rotation to finish', () => journal(server)?.status === 'done', LONG);
    assert.equal(appRestarts(server).filter((r) => r.name === 'app-0').length >= 1, true);
  });

  it('--auto-renew-restarts none: the sentry restarts nothing and waits; the apps restarted by their owner let it switch', { timeout: 180_000 }, async (t) => {
    const { server, old } = await dueCluster(t);
    const k = await autoRenewingSentry(t, server, 'none');
    await waitFor('warden_sentry_pods_not_converged 2', async () => (await metric(k, 'warden_sentry_pods_not_converged')) === 2, LONG);
    // The Event is written after the metric is set: wait for it too.
    await waitFor('the TrustNotConverged Event', () => secretEvents(server).some((e) => e.reason === 'TrustNotConverged'), LONG);
    const event = secretEvents(server).find((e) => e.reason === 'TrustNotConverged');
    assert.match(String(event?.message), /waiting for them \(--auto-renew-restarts none\): team-a\/app-0-\S+, team-a\/app-1-\S+/);
    assert.equal(server.rollout.restarts.length, 0, 'policy none restarts nothing, not even the control plane');
    assert.equal(secretTexts(server).issuerCert, old.toTexts().issuerCert);
    for (const name of ['app-0', 'app-1']) {
      server.api.patch('deployments', 'team-a', name, 'application/strategic-merge-patch+json', {
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } },
      });
    }
    await waitFor('the issuer to switch', () => secretTexts(server).issuerCert !== old.toTexts().issuerCert, LONG);
    await waitFor('warden_sentry_pods_not_converged 0', async () => (await metric(k, 'warden_sentry_pods_not_converged')) === 0, LONG);
    assert.equal(appRestarts(server).length, 2, 'only the owner\'s restarts');
  });

  it('--distribute-trust: pods mounting dapr-root-ca.crt converge with no app restart; between rotations the ConfigMap is kept in sync', { timeout: 180_000 }, async (t) => {
    const { server, old } = await dueCluster(t, 'file');
    await autoRenewingSentry(t, server, 'control-plane', { distributeTrust: true, distributeTrustIntervalMs: 200 });
    await waitFor('the rotation to finish', () => journal(server)?.status === 'done', LONG);
    const record = journal(server)!;
    assert.equal(record.settings.distributeTrust, true);
    assert.equal(record.settings.restarts, 'control-plane');
    assert.equal(appRestarts(server).length, 0, 'no app restarted: they read the distributed ConfigMap');
    assert.notEqual(secretTexts(server).issuerCert, old.toTexts().issuerCert);
    const ca = () => (server.api.find('configmaps', 'team-a', ROOT_CA_CONFIGMAP)?.data as Record<string, string> | undefined)?.['ca.crt'];
    await waitFor('dapr-root-ca.crt to hold the new root alone', () => ca() === secretTexts(server).ca, LONG);
    assert.ok(secretEvents(server).some((e) => e.reason === 'TrustDistributed'));

    // Outside a rotation: a deleted ConfigMap, and a namespace that gains its first Dapr app, are put right.
    server.api.delete('configmaps', 'team-a', ROOT_CA_CONFIGMAP);
    seedDaprApps(server, { namespaces: ['team-b'], count: 1, prefix: 'late' });
    await waitFor('dapr-root-ca.crt re-created in team-a and created in team-b', () => ca() === secretTexts(server).ca
      && (server.api.find('configmaps', 'team-b', ROOT_CA_CONFIGMAP)?.data as Record<string, string> | undefined)?.['ca.crt'] === secretTexts(server).ca, 30_000);
  });
});
