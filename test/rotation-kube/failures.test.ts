/**
 * `rotate -k` when things go wrong: a second rotation (or a rollback) while one runs is refused
 * with ERR_ROTATION_IN_PROGRESS; a lock left by a dead process is broken, a live one on another
 * host is not; a failing rollout mid-phase stops the rotation with the journal saying where, and
 * `--resume` after the fix continues; a journal changed by another writer is a conflict.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeJournalStore } from '../../src/rotation-engine/kube-journal.js';
import { loadKubeClients } from '../../src/kube/client.js';
import { clusterBundle, cluster, finalTexts, HANG_TIMEOUT, journalOf, rotateK, wardenK } from './support.js';

describe('rotate -k: refusals and failures', { concurrency: 4 }, () => {
  test('a second rotation and a rollback while one runs are refused; afterwards the lock is gone', async (t) => {
    const c = await cluster(t, { apps: { count: 2 }, rolloutDelayMs: 400 });
    const first = rotateK(c, { force: true });
    await c.server.rollout.waitFor({ type: 'restarted', name: 'dapr-sentry' });
    const second = await rotateK(c, { force: true });
    assert.equal((second.error as { code?: string } | undefined)?.code, 'ERR_ROTATION_IN_PROGRESS', second.error?.message);
    assert.match(second.error!.message, /pid \d+ on this host/);
    const rollback = await wardenK(c, 'rollback');
    assert.equal(rollback.code, 1);
    assert.match(rollback.stderr, /ERR_ROTATION_IN_PROGRESS/);
    const status = await wardenK(c, 'rotate', ['--status']);
    assert.equal(status.code, 0);
    assert.match(status.stdout, /pid \d+ on this host/);
    const r = await first;
    assert.equal(r.code, 0, r.error?.message);
    assert.equal(journalOf(c)?.status, 'done');
    assert.equal(c.server.api.find('secrets', c.namespace, 'dapr-trust-bundle-rotation-lock'), undefined, 'lock released');
  });

  test('a lock whose process is gone is broken; a live lease of another host is not, an expired one is', async (t) => {
    const c = await cluster(t);
    const clients = await loadKubeClients({ kubeconfig: c.server.kubeconfigPath });
    const dead = new KubeJournalStore({ clients, namespace: c.namespace, owner: { pid: 2 ** 22 + 7, hostname: (await import('node:os')).hostname() } });
    await dead.lock(new Date()); // never released: its "process" does not exist
    const j = new KubeJournalStore({ clients, namespace: c.namespace });
    const held = await j.lock(new Date());
    await held.release();
    const other = new KubeJournalStore({ clients, namespace: c.namespace, owner: { pid: 1, hostname: 'elsewhere' }, leaseMs: 60_000 });
    await other.lock(new Date());
    await assert.rejects(j.lock(new Date()), (e: Error & { code?: string }) => e.code === 'ERR_ROTATION_IN_PROGRESS' && /pid 1 on elsewhere/.test(e.message));
    const later = new Date(Date.now() + 10 * 60_000);
    const again = await j.lock(later); // the other host's lease (120 s default for this reader) ran out
    await again.release();
  });

  test('a journal changed by another writer: ERR_STORE_CONFLICT, nothing overwritten', async (t) => {
    const c = await cluster(t);
    const clients = await loadKubeClients({ kubeconfig: c.server.kubeconfigPath });
    await rotateK(c, { until: 'plan' });
    const a = new KubeJournalStore({ clients, namespace: c.namespace });
    const record = await a.read();
    c.server.api.patch('secrets', c.namespace, 'dapr-trust-bundle-rotation', 'application/merge-patch+json', { metadata: { labels: { touched: 'yes' } } });
    await assert.rejects(a.write({ ...record!, updatedAt: new Date().toISOString() }), (e: Error & { code?: string }) => e.code === 'ERR_STORE_CONFLICT');
  });

  test('a failing app restart mid-phase stops the rotation; the journal says where; --resume after the fix continues', async (t) => {
    const c = await cluster(t, { apps: { count: 3 } });
    const fault = c.server.faults.failNext(1000, { match: { verb: 'patch', name: 'app-1' } });
    const r = await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force', '--timeout', HANG_TIMEOUT]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1 of 3 Dapr apps did not restart: default\/deployment\/app-1 .*The rotation stopped in phase add-anchor .*warden mtls rotate -k --kubeconfig \S+ --resume.*\(ERR_RESTART_FAILED\)/s);
    const j = journalOf(c)!;
    assert.equal(j.status, 'in-progress');
    assert.equal(j.phase, 'plan');
    assert.ok(j.phases['add-anchor'].writtenAt, 'add-anchor written');
    assert.equal(j.phases['add-anchor'].completedAt, undefined, 'but not complete');
    const status = await wardenK(c, 'rotate', ['--status', '-o', 'json']);
    assert.equal(JSON.parse(status.stdout).phase, 'plan');
    const doctor = await wardenK(c, 'doctor');
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /rotation-unfinished/);
    assert.match(doctor.stdout, /1\. warden mtls rotate -k --kubeconfig \S+ --resume/);
    fault.cancel();
    const before = c.server.rollout.restarts.length;
    const resumed = await wardenK(c, 'rotate', ['--resume', '--force']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Restarting 1 Dapr app\(s\) \(2 already restarted after this phase's write\)/);
    const after = c.server.rollout.restarts.slice(before).map((e) => e.name);
    assert.equal(after.filter((n) => n === 'dapr-sentry').length, 1, `sentry: add-anchor's was done; switch-issuer's only: ${after.join(', ')}`);
    const done = journalOf(c)!;
    assert.equal(done.status, 'done');
    assert.deepEqual(clusterBundle(c).secret, finalTexts(done));
  });

  test('the bundle write fails after the intent is journalled (a crash between the two): --resume reconciles and writes it', async (t) => {
    const c = await cluster(t, { apps: { count: 1 } });
    const fault = c.server.faults.failNext(1000, { status: 500, match: { verb: 'update', resource: 'secrets', name: 'dapr-trust-bundle' } });
    const r = await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force']);
    assert.equal(r.code, 1);
    const j = journalOf(c)!;
    assert.ok(j.phases['add-anchor'].startedAt, 'intent recorded');
    assert.equal(j.phases['add-anchor'].writtenAt, undefined, 'not written');
    assert.deepEqual(clusterBundle(c).secret, c.old.texts, 'the bundle is untouched');
    fault.cancel();
    const resumed = await wardenK(c, 'rotate', ['--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /\[add-anchor\] Resuming: the interrupted write had not happened; writing it now/);
    assert.equal(journalOf(c)?.status, 'done');
    assert.deepEqual(clusterBundle(c).secret, finalTexts(journalOf(c)!));
  });

  test('the ConfigMap write fails after the Secret was written (a kill between the two): --resume finishes it', async (t) => {
    const c = await cluster(t, { apps: { count: 1 } });
    const fault = c.server.faults.failNext(1000, { status: 500, match: { verb: 'update', resource: 'configmaps', name: 'dapr-trust-bundle' } });
    const r = await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force', '--timeout', HANG_TIMEOUT]);
    assert.equal(r.code, 1);
    const half = clusterBundle(c);
    assert.notEqual(half.configMapCa, half.secret.ca, 'the Secret was written, the ConfigMap not');
    fault.cancel();
    const resumed = await wardenK(c, 'rotate', ['--resume', '--force']);
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stdout, /\[add-anchor\] Resuming: the interrupted write had reached the store/);
    assert.equal(journalOf(c)?.status, 'done');
    const final = clusterBundle(c);
    assert.deepEqual(final.secret, finalTexts(journalOf(c)!));
    assert.equal(final.configMapCa, final.secret.ca);
  });

  test('a sentry that never rolls out: the rotation stops in add-anchor naming it, nothing after it restarted', async (t) => {
    const c = await cluster(t, { apps: { count: 2 } });
    c.server.rollout.configure({ resource: 'deployments', namespace: c.namespace, name: 'dapr-sentry' }, { outcome: 'hang' });
    const r = await wardenK(c, 'rotate', ['--propagation-delay', '0', '--timeout', '1s']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dapr-sentry.*The rotation stopped in phase add-anchor.*ERR_RESTART_FAILED/s);
    assert.deepEqual(c.server.rollout.restarts.map((e) => e.name), ['dapr-sentry']);
    assert.equal(journalOf(c)!.phases['add-anchor'].completedAt, undefined);
  });
});
