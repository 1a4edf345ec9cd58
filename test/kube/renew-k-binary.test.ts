/**
 * `warden mtls renew-certificate -k` through the built binary against the Kubernetes API test
 * server: the full path with ordered restarts of the control plane and 12 apps, --dry-run, a
 * rollout that never finishes, and provided files that fail their checks.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { buildBundle, withMismatchedKey } from '../support/bundles.js';
import { assertBuilt, tempHome } from '../cli/helpers.js';
import { backupSecrets, clusterBundle, maxInFlight, runRenewK, startCluster, writeRequests } from './renew-k-support.js';

before(assertBuilt);

const CP = ['dapr-sentry', 'dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-sidecar-injector'];

describe('warden mtls renew-certificate -k (binary)', { concurrency: 2 }, () => {
  test('fresh bundle, --restart-apps: cluster trust domain, skew and namespace; backup; sentry → wave 2 → 12 apps, ≤ 5 at a time', async (t) => {
    const c = await startCluster({
      controlPlane: { namespace: 'dapr-control', trustDomain: 'corp.example', allowedClockSkew: '5m', version: '1.18.1' },
      apps: { namespaces: ['team-a', 'team-b', 'team-c'], count: 12, nonDaprCount: 3 },
      trustDomain: 'corp.example',
      // Long enough that all five app restarts are surely in flight together on a loaded machine.
      rolloutDelayMs: 400,
    });
    t.after(() => c.server.close());
    const { home } = await tempHome(t);
    const started = Date.now();
    const r = await runRenewK(c, home, ['--restart-apps', '--max-concurrent-restarts', '5']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 4), [
      '⌛  Starting certificate rotation',
      'ℹ️  generating fresh certificates',
      'ℹ️  Updating certificates in your Kubernetes cluster',
      'ℹ️  Dapr control plane version 1.18.1 detected in namespace dapr-control',
    ]);
    const backup = /^ℹ️  Backup of the previous bundle written to Secret dapr-control\/(dapr-trust-bundle-backup-\d{8}t\d{6}z)$/m.exec(r.stdout)?.[1];
    assert.ok(backup, r.stdout);
    assert.match(r.stdout, /^✅  Certificate rotation is successful! Your new certificate is valid through \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC$/m);
    assert.match(r.stdout, /^ℹ️  Restarting dapr-sentry\.\.$/m);
    assert.match(r.stdout, /^✅  All control plane services have restarted successfully!$/m);
    assert.match(r.stdout, /^ℹ️  Restarting 12 Dapr apps in 3 namespaces, at most 5 at a time$/m);
    assert.match(r.stdout, /^✅  \[12\/12\] /m);
    assert.match(r.stdout, /^✅  All 12 Dapr apps have restarted successfully \(\d+\.\ds\)$/m);

    // The bundle: written to the Secret and, byte-identical, to the ConfigMap; the old one backed up.
    const now = clusterBundle(c);
    assert.notEqual(now.secret.ca, c.old.texts.ca);
    assert.equal(now.configMapCa, now.secret.ca);
    assert.deepEqual(clusterBundle(c, backup).secret, c.old.texts);
    const [root] = parseCertificatesPem(now.secret.ca);
    const [issuer] = parseCertificatesPem(now.secret.issuerCert);
    assert.equal(root!.subject.text, 'O=corp.example', 'the cluster\'s trust domain, not cluster.local');
    assert.equal(issuer!.subject.text, 'O=spiffe://corp.example/ns/dapr-control/dapr-sentry', 'the real Dapr namespace');
    const issuedAt = root!.notBefore.getTime() + 5 * 60_000;
    assert.ok(issuedAt >= started - 1000 && issuedAt <= Date.now(), 'backdated by the Configuration\'s 5m skew');
    const dir = (await tempHome(t)).home;
    await writeFile(join(dir, 'ca.crt'), now.secret.ca);
    await writeFile(join(dir, 'issuer.crt'), now.secret.issuerCert);
    assert.match(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'issuer.crt')]).toString(), /OK/);

    // The restarts, from the server's own log.
    const log = c.server.rollout.events.filter((e) => e.generation > 1);
    const restarted = log.filter((e) => e.type === 'restarted');
    assert.equal(restarted.length, 17, 'the 5 control-plane workloads and 12 apps, once each');
    const seq = (type: string, name: string) => log.find((e) => e.type === type && e.name === name)!.seq;
    for (const name of CP.slice(1)) assert.ok(seq('restarted', name) > seq('completed', 'dapr-sentry'), `${name} after the sentry rolled out`);
    const cpDone = Math.max(...CP.map((n) => seq('completed', n)));
    const apps = restarted.filter((e) => !CP.includes(e.name));
    assert.equal(apps.length, 12);
    assert.ok(apps.every((e) => e.seq > cpDone), 'apps only after the whole control plane rolled out');
    assert.equal(maxInFlight(log.filter((e) => !CP.includes(e.name))), 5);
  });

  test('--dry-run prints what would be written, the backup name and the waves with the apps, and writes nothing', async (t) => {
    const c = await startCluster({ apps: { namespaces: ['a', 'b'], count: 3 }, controlPlane: { withScheduler: false } });
    t.after(() => c.server.close());
    const { home } = await tempHome(t);
    const before = clusterBundle(c);
    const r = await runRenewK(c, home, ['--restart-apps', '--dry-run', '--image-variant', 'mariner', '--backup-dir', join(home, 'bk')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ℹ️  --image-variant mariner is ignored: Warden writes the Secret and ConfigMap directly and runs no Helm chart/m);
    assert.match(r.stdout, /^ℹ️  Dry run: nothing was written\. The plan:$/m);
    assert.match(r.stdout, /^ {2}trust domain +cluster\.local \(from the daprsystem Configuration\)$/m);
    assert.match(r.stdout, /^ {2}key algorithm +ecdsa-p256 \(kept from the current bundle\)$/m);
    assert.match(r.stdout, /^ {2}will write +Secret dapr-system\/dapr-trust-bundle keys ca\.crt, issuer\.crt, issuer\.key \(other keys kept\), then ConfigMap dapr-system\/dapr-trust-bundle key ca\.crt \(byte-identical\)/m);
    assert.match(r.stdout, new RegExp(`^ {2}backup +Secret dapr-system/dapr-trust-bundle-backup-\\d{8}t\\d{6}z with the current bundle, and a local copy in ${home}/bk/dapr-trust-bundle-backup-\\d{8}t\\d{6}z/$`, 'm'));
    assert.match(r.stdout, /^ {2}restart wave 1 +deployment\/dapr-sentry, each waited for, up to 5m0s$/m);
    assert.match(r.stdout, /^ {2}restart wave 2 +deployment\/dapr-operator, statefulset\/dapr-placement-server, deployment\/dapr-sidecar-injector \(concurrently\)/m);
    assert.match(r.stdout, /^ {2}skipped +dapr-scheduler-server \(not installed in this Dapr version\)$/m);
    assert.match(r.stdout, /^ {2}restart wave 3 +3 Dapr apps in 2 namespaces \(searched all namespaces\), at most 5 at a time/m);
    assert.match(r.stdout, /^ {4}deployment\/app-0 in a\n {4}deployment\/app-2 in a\n {4}deployment\/app-1 in b\n$/m);
    assert.doesNotMatch(r.stdout, /successful/);
    assert.deepEqual(writeRequests(c), [], 'the request log shows no write of any kind');
    assert.deepEqual(clusterBundle(c), before);
    assert.deepEqual(c.server.rollout.restarts, []);
  });

  test('a rollout that never finishes: --timeout makes it fail naming it, exit 1; the apps are not restarted', async (t) => {
    const c = await startCluster({ apps: { namespaces: ['a'], count: 2 } });
    t.after(() => c.server.close());
    c.server.rollout.configure({ resource: 'statefulsets', namespace: c.namespace, name: 'dapr-scheduler-server' }, { outcome: 'hang' });
    const { home } = await tempHome(t);
    const started = Date.now();
    // 5 s: the hang must reach it, the other rollouts (60 ms) must not, however loaded the machine.
    const r = await runRenewK(c, home, ['--restart-apps', '--timeout', '5']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^❌  timed out after 5s waiting for statefulset\/dapr-scheduler-server in dapr-system to roll out; last status: Waiting for statefulset spec update to be observed\.\.\.$/m);
    assert.match(r.stderr, /^❌  control-plane restart failed: statefulset\/dapr-scheduler-server did not roll out .*The Dapr apps were not restarted .*do not renew again.* \(ERR_RESTART_FAILED\)$/m);
    assert.doesNotMatch(r.stdout, /All control plane services have restarted successfully/);
    assert.ok(Date.now() - started >= 5000);
    assert.deepEqual(c.server.rollout.restarts.map((e) => e.name).filter((n) => n.startsWith('app-')), []);
    assert.equal(clusterBundle(c).configMapCa, clusterBundle(c).secret.ca, 'the bundle itself was written whole');
  });

  test('provided files that fail their checks: exit 3 with the findings, the cluster untouched', async (t) => {
    const c = await startCluster();
    t.after(() => c.server.close());
    const { home } = await tempHome(t);
    const bad = await buildBundle({ now: new Date() }, withMismatchedKey());
    for (const [name, text] of [['ca.crt', bad.texts.ca], ['issuer.crt', bad.texts.issuerCert], ['issuer.key', bad.texts.issuerKey]] as const) {
      await writeFile(join(home, name), text);
    }
    const before = clusterBundle(c);
    const r = await runRenewK(c, home, ['--ca-root-certificate', join(home, 'ca.crt'), '--issuer-public-certificate', join(home, 'issuer.crt'), '--issuer-private-key', join(home, 'issuer.key'), '--restart']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^ℹ️  Using provided certificates$/m);
    assert.match(r.stdout, /ERR_BUNDLE_KEY_MISMATCH/);
    assert.match(r.stderr, /^❌  The new trust bundle failed its checks \(1 error.*\); nothing was written$/m);
    assert.deepEqual(writeRequests(c), []);
    assert.deepEqual(clusterBundle(c), before);
    assert.deepEqual(backupSecrets(c), []);
    assert.deepEqual(c.server.rollout.restarts, []);
  });
});
