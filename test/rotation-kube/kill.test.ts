/**
 * `warden mtls rotate -k` as a real process, killed (SIGKILL) at random points, then
 * `--resume`d: the same final state every time. The lock of the killed process is broken because
 * its pid is gone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterBundle, cluster, finalTexts, journalOf, spawnWarden, wardenK } from './support.js';

describe('rotate -k: killed process, then --resume', { concurrency: 3 }, () => {
  for (const [i, killAfterWrites] of [[1, 4], [2, 18]] as const) {
    test(`kill ${i}: after ${killAfterWrites} writes seen by the API server (plus random jitter)`, async (t) => {
      const c = await cluster(t, { apps: { count: 2 }, rolloutDelayMs: 50 });
      const { child, done } = spawnWarden(['mtls', 'rotate', '-k', '--kubeconfig', c.server.kubeconfigPath, '--propagation-delay', '0', '--force']);
      const writes = () => c.server.requests.filter({ verb: ['create', 'update', 'patch'] }).length;
      const deadline = Date.now() + 15_000;
      while (writes() < killAfterWrites && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      child.kill('SIGKILL');
      const killed = await done;
      assert.notEqual(killed.code, 0, 'killed before the end');
      const record = journalOf(c);
      const r = record === undefined
        ? await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force']) // killed before the plan was recorded: start again
        : await wardenK(c, 'rotate', ['--resume', '--force']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const final = journalOf(c)!;
      assert.equal(final.status, 'done');
      if (record !== undefined) assert.equal(final.id, record.id);
      const b = clusterBundle(c);
      assert.deepEqual(b.secret, finalTexts(final));
      assert.equal(b.configMapCa, b.secret.ca);
    });
  }
});
