import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';
import { makeTempRoot, modeOf } from './helpers.js';

const clock = new FixedClock(new Date('2026-11-29T23:45:12Z'));
const FILES = ['ca.crt', 'issuer.crt', 'issuer.key'];

test('creates missing directories 0700 and every file 0600, ca.crt included', async (t) => {
  const root = await makeTempRoot(t);
  const dir = join(root, 'a', 'b', 'certs');
  await new FsTrustBundleStore({ dir, clock }).write(makeFakeBundle('A'));
  for (const d of [join(root, 'a'), join(root, 'a', 'b'), dir]) assert.equal(await modeOf(d), 0o700, d);
  for (const f of FILES) assert.equal(await modeOf(join(dir, f)), 0o600, f);
});

test('replacing 0644 files leaves 0600 files, and backups are 0700 / 0600', async (t) => {
  const dir = await makeTempRoot(t);
  await chmod(dir, 0o755);
  for (const f of FILES) {
    await writeFile(join(dir, f), `old ${f}\n`);
    await chmod(join(dir, f), 0o644);
  }
  const result = await new FsTrustBundleStore({ dir, clock }).write(makeFakeBundle('B'));
  for (const f of FILES) assert.equal(await modeOf(join(dir, f)), 0o600, f);
  assert.equal(await modeOf(dir), 0o755, 'an existing directory keeps its mode');
  assert.ok(result.backup);
  assert.equal(result.backup.location, join(dir, '.backup', '20261129T234512Z'));
  assert.equal(await modeOf(join(dir, '.backup')), 0o700);
  assert.equal(await modeOf(result.backup.location), 0o700);
  for (const f of FILES) assert.equal(await modeOf(join(result.backup.location, f)), 0o600, `backup ${f}`);
});

test('modes are exact under a restrictive or permissive umask', async (t) => {
  const root = await makeTempRoot(t);
  for (const mask of [0o277, 0o000]) {
    const previous = process.umask(mask);
    try {
      const dir = join(root, `umask-${mask.toString(8)}`, 'certs');
      const store = new FsTrustBundleStore({ dir, clock });
      await store.write(makeFakeBundle('A'));
      const { backup } = await store.write(makeFakeBundle('B'));
      assert.equal(await modeOf(dir), 0o700);
      assert.equal(await modeOf(join(dir, '..')), 0o700);
      for (const f of FILES) {
        assert.equal(await modeOf(join(dir, f)), 0o600, `${f} under umask ${mask.toString(8)}`);
        assert.equal(await modeOf(join(backup!.location, f)), 0o600);
      }
      assert.equal(await modeOf(backup!.location), 0o700);
    } finally {
      process.umask(previous);
    }
  }
});

test('a custom file in another, missing directory gets that directory created 0700', async (t) => {
  const root = await makeTempRoot(t);
  const keyPath = join(root, 'keys', 'issuer.key');
  await mkdir(join(root, 'certs'));
  await new FsTrustBundleStore({ dir: join(root, 'certs'), issuerKeyFile: keyPath, clock }).write(makeFakeBundle('A'));
  assert.equal(await modeOf(join(root, 'keys')), 0o700);
  assert.equal(await modeOf(keyPath), 0o600);
});
