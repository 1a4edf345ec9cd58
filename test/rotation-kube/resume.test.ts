/**
 * `rotate -k` stopped at every kind of step — the engine aborted after each journal write, in the
 * middle of the control-plane waves and of the app restarts — then `--resume`d: always the same
 * final state (the journal's new bundle in Secret and ConfigMap, byte-identical), and a workload
 * restarted after a phase's write is not restarted again by the resume.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestRecord } from '../support/kube-api/request-log.js';
import { clusterBundle, cluster, finalTexts, journalOf, rotateK, type Cluster } from './support.js';

const isJournalUpdate = (r: RequestRecord): boolean => r.verb === 'update' && r.resource === 'secrets' && r.name === 'dapr-trust-bundle-rotation';

async function stopThenResume(t: { after(fn: () => Promise<void>): void }, stopAt: (r: RequestRecord, counts: { journal: number }) => boolean, maxConcurrentRestarts = 5): Promise<{ c: Cluster; phaseAtStop: string; restartsAfterResume: string[] }> {
  const c = await cluster(t, { apps: { count: 3 } });
  const controller = new AbortController();
  const counts = { journal: 0 };
  let seenStop = false;
  c.server.requests.onRequest((r) => {
    if (isJournalUpdate(r)) counts.journal += 1;
    if (!seenStop && stopAt(r, counts)) {
      seenStop = true;
      controller.abort();
    }
  });
  const first = await rotateK(c, { force: true, maxConcurrentRestarts }, { signal: controller.signal });
  assert.ok(seenStop, 'the stop point was reached');
  assert.equal(first.error?.message.includes('warden mtls rotate --resume') || first.error?.message.includes('--resume'), true, first.error?.message ?? first.stdout);
  assert.equal((first.error as { code?: string } | undefined)?.code, 'ERR_ROTATION_INTERRUPTED');
  const stopped = journalOf(c)!;
  assert.equal(stopped.status, 'in-progress');
  const restartsBefore = c.server.rollout.restarts.length;
  const second = await rotateK(c, { resume: true, force: true });
  assert.equal(second.code, 0, `${second.error?.message ?? ''}\n${second.stdout}\n${second.stderr}`);
  const done = journalOf(c)!;
  assert.equal(done.status, 'done');
  assert.equal(done.id, stopped.id, 'the same rotation continued');
  const b = clusterBundle(c);
  assert.deepEqual(b.secret, finalTexts(done));
  assert.equal(b.configMapCa, b.secret.ca);
  return { c, phaseAtStop: stopped.phase, restartsAfterResume: c.server.rollout.restarts.slice(restartsBefore).map((e) => e.name) };
}

describe('rotate -k: stop anywhere, --resume to the same end', { concurrency: 4 }, () => {
  for (const k of [2, 3, 5, 6, 8]) {
    test(`stopped after journal write ${k}`, async (t) => {
      const { phaseAtStop } = await stopThenResume(t, (r, n) => isJournalUpdate(r) && n.journal === k);
      assert.ok(['plan', 'add-anchor', 'switch-issuer', 'retire-old-root'].includes(phaseAtStop), phaseAtStop);
    });
  }

  test('stopped in the middle of wave 2 (add-anchor): the sentry is not restarted again, the rest of the phase is', async (t) => {
    const { restartsAfterResume } = await stopThenResume(t, (r) => r.verb === 'patch' && r.name === 'dapr-operator');
    // add-anchor: sentry (and the wave-2 members patched before the stop) not again; then switch-issuer restarts all five.
    const sentry = restartsAfterResume.filter((n) => n === 'dapr-sentry').length;
    assert.equal(sentry, 1, `sentry restarted only in switch-issuer after the resume: ${restartsAfterResume.join(', ')}`);
  });

  test('stopped in the middle of the app restarts: apps already restarted after the write are skipped', async (t) => {
    let appPatches = 0;
    const { restartsAfterResume } = await stopThenResume(t, (r) => r.verb === 'patch' && (r.name ?? '').startsWith('app-') && ++appPatches === 2, 1);
    const apps = restartsAfterResume.filter((n) => n.startsWith('app-'));
    // One app at a time: the stop came as app-1 was patched, so add-anchor has app-2 left; then retire's 3.
    assert.deepEqual(apps, ['app-2', 'app-0', 'app-1', 'app-2']);
    assert.equal(restartsAfterResume.filter((n) => n === 'dapr-sentry').length, 1, 'only switch-issuer restarts the sentry after the resume');
  });
});
