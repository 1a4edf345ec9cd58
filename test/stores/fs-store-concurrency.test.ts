import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { listLeftovers, makeTempRoot } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));

test('readers running alongside a writer only ever see whole bundles', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const bundles = [makeFakeBundle('A', 200), makeFakeBundle('B', 200)];
  const labels = bundles.map((b) => JSON.stringify(b));
  const writer = new FsTrustBundleStore({ dir, clock });
  await writer.write(bundles[0]!);
  let done = false;
  const seen = new Set<number>();
  let reads = 0;
  const readers = [0, 1, 2].map(async () => {
    const reader = new FsTrustBundleStore({ dir, clock });
    while (!done) {
      const r = await reader.read();
      assert.equal(r.state, 'complete', JSON.stringify(r));
      const index = labels.indexOf(JSON.stringify(r.state === 'complete' && r.texts));
      assert.notEqual(index, -1, 'a read returned a mix of two bundles');
      seen.add(index);
      reads++;
    }
  });
  try {
    for (let i = 1; i <= 14; i++) await writer.write(bundles[i % 2]!, { backup: false });
  } finally {
    done = true;
    await Promise.all(readers);
  }
  t.diagnostic(`${reads} concurrent reads`);
  assert.deepEqual([...seen].sort(), [0, 1], 'the readers saw both bundles, so they really overlapped the writes');
});

test('concurrent writers without a precondition are serialised: all succeed, each replaced bundle backed up', async (t) => {
  const dir = join(await makeTempRoot(t), 'certs');
  const seed = makeFakeBundle('seed');
  await new FsTrustBundleStore({ dir, clock }).write(seed);
  const bundles = ['P', 'Q', 'R', 'S', 'T'].map((l) => makeFakeBundle(l));
  const results = await Promise.all(bundles.map((b) => new FsTrustBundleStore({ dir, clock }).write(b)));
  const store = new FsTrustBundleStore({ dir, clock });
  const read = await store.read();
  assert.equal(read.state, 'complete');
  const last = results.findIndex((r) => read.state === 'complete' && r.version === read.version);
  assert.deepEqual(read.state === 'complete' && read.texts, bundles[last]);
  // Each write replaced exactly one earlier bundle: the backups hold the seed and all but the last.
  const backups = await store.listBackups();
  assert.equal(backups.length, 5);
  const saved = await Promise.all(backups.map((b) => store.readBackup(b.name)));
  const expected = [seed, ...bundles.filter((_, i) => i !== last)].map((b) => JSON.stringify(b)).sort();
  assert.deepEqual(saved.map((b) => JSON.stringify(b)).sort(), expected);
  assert.deepEqual(await listLeftovers(dir), []);
});
