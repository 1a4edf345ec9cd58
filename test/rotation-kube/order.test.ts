/**
 * `warden mtls rotate -k` against the API server: the order of writes and restarts per phase,
 * from the request log and the rollout controller's restart log.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { clusterBundle, cluster, finalTexts, HANG_TIMEOUT, journalOf, wardenK, writeLog } from './support.js';

const WAVE2 = ['dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-sidecar-injector'];

describe('rotate -k: order of writes and restarts', () => {
  test('every phase writes Secret then ConfigMap, then restarts: sentry, wave 2, apps', async (t) => {
    const c = await cluster(t, { apps: { namespaces: ['a', 'b'], count: 4 } });
    const r = await wardenK(c, 'rotate', ['--propagation-delay', '0s', '--force', '--timeout', HANG_TIMEOUT]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Rotation complete/);
    const record = journalOf(c);
    assert.equal(record?.status, 'done');
    const b = clusterBundle(c);
    assert.deepEqual(b.secret, finalTexts(record!));
    assert.equal(b.configMapCa, b.secret.ca, 'ConfigMap and Secret byte-identical');
    assert.equal(TrustBundle.fromTexts(b.secret).anchors.length, 1, 'only the new root left');

    // The request log: per phase, the bundle write (Secret, then ConfigMap) before any restart.
    const log = writeLog(c).filter((w) => !w.includes('dapr-trust-bundle-rotation'));
    const bundleWrites = log.flatMap((w, i) => (w === 'update secrets/dapr-trust-bundle' ? [i] : []));
    assert.equal(bundleWrites.length, 3, log.join('\n'));
    const phases = bundleWrites.map((start, i) => log.slice(start, bundleWrites[i + 1] ?? log.length));
    // switch-issuer leaves ca.crt as it is: the ConfigMap needs no write there.
    for (const i of [0, 2]) assert.equal(phases[i]![1], 'update configmaps/dapr-trust-bundle', phases[i]!.join('\n'));
    assert.ok(!phases[1]!.includes('update configmaps/dapr-trust-bundle'));
    // Before the first bundle write: only creates of Secrets (lock, journal, backup; a create names no object in its path).
    assert.deepEqual(log.slice(0, bundleWrites[0]), ['create secrets/', 'create secrets/', 'create secrets/']);
    const backups = c.server.api.select('secrets', { namespace: c.namespace, labelSelector: 'warden.dapr.io/backup=true' });
    assert.equal(backups.length, 1);
    assert.equal(Buffer.from(String((backups[0]!.data as Record<string, string>)['ca.crt']), 'base64').toString(), c.old.texts.ca, 'the backup holds the original');
    const restarts = (p: string[]) => p.filter((w) => w.startsWith('patch '));
    const [addAnchor, switchIssuer, retire] = phases.map(restarts) as [string[], string[], string[]];
    assert.equal(addAnchor[0], 'patch deployments/dapr-sentry');
    assert.deepEqual(addAnchor.slice(1, 5).map((w) => w.split('/')[1]).sort(), WAVE2);
    assert.deepEqual(addAnchor.slice(5).map((w) => w.split('/')[1]), ['app-*', 'app-*', 'app-*', 'app-*']);
    assert.equal(switchIssuer[0], 'patch deployments/dapr-sentry');
    assert.deepEqual(switchIssuer.slice(1).map((w) => w.split('/')[1]).sort(), WAVE2, 'switch-issuer: control plane only');
    assert.deepEqual(retire.map((w) => w.split('/')[1]), ['app-*', 'app-*', 'app-*', 'app-*'], 'retire: apps only');

    // The rollout log: sentry completed before wave 2 restarted; apps after the control plane completed.
    const ev = c.server.rollout.events;
    const restartSeqs = ev.filter((e) => e.type === 'restarted');
    const sentryRestarts = restartSeqs.filter((e) => e.name === 'dapr-sentry');
    assert.equal(sentryRestarts.length, 2);
    for (const s of sentryRestarts) {
      const done = ev.find((e) => e.type === 'completed' && e.name === 'dapr-sentry' && e.generation === s.generation);
      assert.ok(done, 'the sentry rollout completed');
      const wave2 = restartSeqs.filter((e) => WAVE2.includes(e.name) && e.seq > s.seq).slice(0, 4);
      assert.equal(wave2.length, 4);
      for (const w of wave2) assert.ok(w.seq > done.seq, `${w.name} restarted after the sentry completed`);
    }
    const firstApp = restartSeqs.find((e) => e.name.startsWith('app-'))!;
    const wave2First = restartSeqs.filter((e) => WAVE2.includes(e.name) && e.seq < firstApp.seq);
    assert.equal(wave2First.length, 4);
    for (const w of wave2First) {
      const done = ev.find((e) => e.type === 'completed' && e.name === w.name && e.generation === w.generation);
      assert.ok(done && done.seq < firstApp.seq, `${w.name} completed before the first app restarted`);
    }
    assert.match(record!.phases['add-anchor'].convergence ?? '', /Secret and ConfigMap hold the target byte-identically; 5 control-plane workload\(s\).*4 Dapr app\(s\)/);
  });

  test('--dry-run writes nothing and prints the restarts and the timeline; --status afterwards says none', async (t) => {
    const c = await cluster(t, { apps: { count: 3 } });
    const before = clusterBundle(c);
    const r = await wardenK(c, 'rotate', ['--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /add-anchor: control plane in order, then 3 Dapr app\(s\) at most 5 at a time/);
    assert.match(r.stdout, /propagation/);
    assert.match(r.stdout, /Dry run: nothing was written/);
    assert.deepEqual(clusterBundle(c), before);
    assert.deepEqual(writeLog(c), []);
    const s = await wardenK(c, 'rotate', ['--status']);
    assert.equal(s.code, 0);
    assert.match(s.stdout, /No rotation has been recorded in Secret dapr-system\/dapr-trust-bundle-rotation/);
  });

  test('--until add-anchor stops there; --status shows it; --resume finishes', async (t) => {
    const c = await cluster(t, { apps: { count: 2 } });
    const r = await wardenK(c, 'rotate', ['--propagation-delay', '0', '--until', 'add-anchor']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(journalOf(c)?.phase, 'add-anchor');
    const b = clusterBundle(c);
    assert.equal(TrustBundle.fromTexts(b.secret).anchors.length, 2, 'both roots trusted');
    const s = await wardenK(c, 'rotate', ['--status', '-o', 'json']);
    assert.equal(JSON.parse(s.stdout).phase, 'add-anchor');
    const second = await wardenK(c, 'rotate', []);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /unfinished rotation .* Continue it with `warden mtls rotate -k --kubeconfig .* --resume`.*ERR_ROTATION_IN_PROGRESS/s);
    const done = await wardenK(c, 'rotate', ['--resume', '--force']);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(journalOf(c)?.status, 'done');
  });
});
