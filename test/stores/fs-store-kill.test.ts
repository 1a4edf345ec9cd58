/**
 * Kill a writing process at random (seeded: WARDEN_TEST_SEED replays or explores) instants: each store must then read as exactly the old or
 * the new bundle, never a mix, and leave no temp files behind. Meanwhile this process reads the
 * stores concurrently, which must never see a mix either. Right after the kill, before any
 * Warden read could tidy up, a plain reader (Dapr's Sentry: os.ReadFile of each name) must see
 * exactly the old or the new bundle too: the versioned layout switches all three names at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import type { BundleReadResult } from '../../src/stores/store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { listLeftovers, makeTempRoot, readLikeDapr } from './helpers.js';
import { randomFor, type SeededRandom } from '../support/seeded-random.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/write-loop.ts', import.meta.url));
// 30 kills observed: 5 child processes (starting `node --import tsx` costs ~0.35 s of CPU
// each), each writing 6 independent stores, 2 children at a time.
const CHILDREN = 5;
const STORES_PER_CHILD = 6;
const PARALLEL = 2;
const KILL_WITHIN_MS = 40;
const A = makeFakeBundle('A');
const B = makeFakeBundle('B');

function labelOf(result: BundleReadResult): 'A' | 'B' {
  assert.equal(result.state, 'complete', JSON.stringify(result));
  const texts: BundleTexts | false = result.state === 'complete' && result.texts;
  if (JSON.stringify(texts) === JSON.stringify(A)) return 'A';
  assert.deepEqual(texts, B, 'the bundle is exactly A or exactly B');
  return 'B';
}

interface Outcome { interrupted: boolean; committed: boolean; final: 'A' | 'B'; concurrentReads: number }

async function hasTwoVersions(dir: string): Promise<boolean> {
  return (await readdir(dir)).filter((n) => /^\.\.warden-/.test(n)).length > 1;
}

function plainLabelOf(texts: Partial<BundleTexts>): 'A' | 'B' {
  return labelOf({ state: 'complete', texts: texts as BundleTexts, version: '' });
}

async function killOneWriter(t: Parameters<typeof makeTempRoot>[0], random: SeededRandom): Promise<Outcome[]> {
  const roots = await Promise.all(Array.from({ length: STORES_PER_CHILD }, () => makeTempRoot(t, 'warden-fs-kill-')));
  const dirs = roots.map((root) => join(root, 'certs'));
  await Promise.all(dirs.map((dir) => new FsTrustBundleStore({ dir }).write(A)));

  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...dirs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = once(child, 'exit');
  // Let the child finish a random number of writes first (about one per store on average), so
  // kills also land in later write cycles, including those that take a backup.
  const writesFirst = random.int(2 * STORES_PER_CHILD);
  while (!stdout.startsWith('ready\n') || (stdout.match(/^w$/gm)?.length ?? 0) < writesFirst) {
    assert.equal(child.exitCode, null, `child stopped on its own: ${stderr}`);
    await Promise.race([once(child.stdout, 'data'), exited]);
  }

  let stop = false;
  const reads = dirs.map(() => 0);
  const readers = dirs.map(async (dir, i) => {
    const store = new FsTrustBundleStore({ dir });
    while (!stop) {
      labelOf(await store.read());
      reads[i]!++;
    }
  });
  await sleep(random.next() * KILL_WITHIN_MS);
  stop = true;
  await Promise.all(readers); // before the kill, so no read of ours tidies up what the kill left
  assert.equal(child.exitCode, null, `child stopped on its own: ${stderr}`);
  child.kill('SIGKILL');
  await exited; // reaped, so its pid no longer counts as a live lock owner

  const outcomes: Outcome[] = [];
  for (const [i, dir] of dirs.entries()) {
    const seenByPlainReader = plainLabelOf(await readLikeDapr(dir));
    const leftovers = await listLeftovers(roots[i]!);
    const interrupted = leftovers.length > 0;
    // After the commit point: a transaction record, or a published version whose predecessor
    // was not yet removed (the versioned layout).
    const committed = leftovers.some((name) => /\.warden-txn-[0-9a-f]{16}\.json$/.test(name)) || (await hasTwoVersions(dir));
    const fresh = new FsTrustBundleStore({ dir });
    const final = labelOf(await fresh.read());
    assert.equal(final, seenByPlainReader, 'a Warden read agrees with what a plain reader saw before it');
    assert.deepEqual(await listLeftovers(roots[i]!), [], 'no temp files after a read');
    for (const backup of await fresh.listBackups()) labelOf({ state: 'complete', texts: await fresh.readBackup(backup.name), version: '' });
    outcomes.push({ interrupted, committed, final, concurrentReads: reads[i]! });
  }
  return outcomes;
}

test(`SIGKILL at random instants during writes never leaves a mixed or unreadable bundle (${CHILDREN * STORES_PER_CHILD} stores)`, async (t) => {
  const random = randomFor(t, 'stores/fs-store-kill');
  const outcomes: Outcome[] = [];
  for (let started = 0; started < CHILDREN; started += PARALLEL) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, CHILDREN - started) }, () => killOneWriter(t, random)));
    for (const result of batch) {
      if (result.status === 'rejected') throw result.reason;
      outcomes.push(...result.value);
    }
  }
  const interrupted = outcomes.filter((o) => o.interrupted).length;
  const committed = outcomes.filter((o) => o.committed).length;
  const endedB = outcomes.filter((o) => o.final === 'B').length;
  const reads = outcomes.reduce((n, o) => n + o.concurrentReads, 0);
  t.diagnostic(`stores ${outcomes.length}: interrupted mid-write ${interrupted} (after the commit point or with a second version staged ${committed}), ended on B ${endedB}, concurrent reads ${reads}`);
  // The kills must actually land inside writes, or this test proves nothing.
  assert.ok(interrupted > 0, `at least one kill interrupted a write (seed ${random.seed})`);
});
