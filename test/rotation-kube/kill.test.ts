/**
 * `warden mtls rotate -k` as a real process, killed (SIGKILL) at seeded random points, then
 * `--resume`d: the same final state every time. The lock of the killed process is broken because
 * its pid is gone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomFor } from '../support/seeded-random.js';
import { clusterBundle, cluster, finalTexts, journalOf, spawnWarden, wardenK } from './support.js';

describe('rotate -k: killed process, then --resume', { concurrency: 3 }, () => {
  for (const [i, killAfterWrites] of [[1, 4], [2, 18]] as const) {
    test(`kill ${i}: after ${killAfterWrites} writes seen by the API server (plus seeded random jitter)`, async (t) => {
      const random = randomFor(t, `rotation-kube/kill ${i}`);
      const c = await cluster(t, { apps: { count: 2 }, rolloutDelayMs: 50 });
      const { child, done } = spawnWarden(['mtls', 'rotate', '-k', '--kubeconfig', c.server.kubeconfigPath, '--propagation-delay', '0', '--force']);
      const writes = () => c.server.requests.filter({ verb: ['create', 'update', 'patch'] }).length;
      // The kill point is the write count; the jitter only varies where inside the next step it lands.
      await Promise.race([
        c.server.requests.until(() => writes() >= killAfterWrites, `${killAfterWrites} writes`),
        done.then((r) => assert.fail(`warden exited (${r.code}) before ${killAfterWrites} writes:\n${r.stdout}\n${r.stderr}`)),
      ]);
      await new Promise((r) => setTimeout(r, random.int(40)));
      child.kill('SIGKILL');
      const killedAt = writes();
      const killed = await done;
      assert.notEqual(killed.code, 0, `killed before the end (seed ${random.seed})`);
      const record = journalOf(c);
      const r = record === undefined
        ? await wardenK(c, 'rotate', ['--propagation-delay', '0', '--force']) // killed before the plan was recorded: start again
        : await wardenK(c, 'rotate', ['--resume', '--force']);
      assert.equal(r.code, 0, `seed ${random.seed}, killed at ${killedAt} writes:\n${r.stdout}\n${r.stderr}`);
      const final = journalOf(c)!;
      assert.equal(final.status, 'done');
      if (record !== undefined) assert.equal(final.id, record.id);
      const b = clusterBundle(c);
      assert.deepEqual(b.secret, finalTexts(final));
      assert.equal(b.configMapCa, b.secret.ca);
    });
  }
});
