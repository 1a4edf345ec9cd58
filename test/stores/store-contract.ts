/**
 * The behaviour every TrustBundleStore backend must share (design §4: one contract suite run
 * against each adapter). A backend test calls `runStoreContract('fs', makeFixture)`.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import type { TrustBundleStore } from '../../src/stores/store.js';
import { makeFakeBundle } from './fixtures/fake-bundles.js';

export interface StoreFixture {
  /** A store over a fresh, empty backing, using `clock` for backup times. */
  store: TrustBundleStore;
  clock: FixedClock;
  /** A second, independent store object over the same backing (e.g. another process's view). */
  reopen(): TrustBundleStore;
  cleanup(): Promise<void>;
}

const START = new Date('2026-11-29T23:45:12.345Z');

function assertCode(code: string) {
  return (err: unknown) => {
    assert.ok(isWardenError(err), `expected a WardenError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

export function runStoreContract(name: string, makeStore: (clock: FixedClock) => Promise<StoreFixture>): void {
  describe(`${name}: TrustBundleStore contract`, () => {
    let fx: StoreFixture;
    const A = makeFakeBundle('A');
    const B = makeFakeBundle('B');
    const C = makeFakeBundle('C');

    beforeEach(async () => {
      fx = await makeStore(new FixedClock(START));
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('starts absent with no backups and a description', async () => {
      assert.deepEqual(await fx.store.read(), { state: 'absent' });
      assert.deepEqual(await fx.store.listBackups(), []);
      assert.ok(fx.store.description.length > 0);
    });

    it('reads back exactly what was written, with the returned version, and backs up nothing from absent', async () => {
      const odd = { ca: 'no trailing newline, CRLF\r\nand é ✓', issuerCert: '', issuerKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\n\n' };
      for (const texts of [A, odd]) {
        const f = await makeStore(new FixedClock(START));
        try {
          const result = await f.store.write(texts);
          assert.equal(result.backup, undefined);
          assert.deepEqual(await f.store.read(), { state: 'complete', texts, version: result.version });
          assert.deepEqual(await f.reopen().read(), { state: 'complete', texts, version: result.version });
        } finally {
          await f.cleanup();
        }
      }
    });

    it('gives a new version for new content', async () => {
      const v1 = (await fx.store.write(A)).version;
      const v2 = (await fx.store.write(B)).version;
      assert.notEqual(v1, v2);
      const swapped = { ...B, issuerCert: B.issuerKey, issuerKey: B.issuerCert };
      const v3 = (await fx.store.write(swapped)).version;
      assert.notEqual(v3, v2);
      const read = await fx.store.read();
      assert.equal(read.state === 'complete' && read.version, v3);
    });

    it('writes when expectedVersion matches and refuses a stale one without changing anything', async () => {
      const v1 = (await fx.store.write(A)).version;
      const v2 = (await fx.store.write(B, { expectedVersion: v1 })).version;
      await assert.rejects(fx.store.write(C, { expectedVersion: v1 }), assertCode('ERR_STORE_CONFLICT'));
      assert.deepEqual(await fx.store.read(), { state: 'complete', texts: B, version: v2 });
      assert.equal((await fx.store.listBackups()).length, 1, 'a refused write takes no backup');
    });

    it('expectedVersion null writes only into an absent store', async () => {
      const v1 = (await fx.store.write(A, { expectedVersion: null })).version;
      await assert.rejects(fx.store.write(B, { expectedVersion: null }), assertCode('ERR_STORE_CONFLICT'));
      assert.deepEqual(await fx.store.read(), { state: 'complete', texts: A, version: v1 });
    });

    it('a version expected on an absent store is a conflict', async () => {
      const other = await makeStore(new FixedClock(START));
      try {
        const v = (await other.store.write(A)).version;
        await assert.rejects(fx.store.write(A, { expectedVersion: v }), assertCode('ERR_STORE_CONFLICT'));
        assert.deepEqual(await fx.store.read(), { state: 'absent' });
      } finally {
        await other.cleanup();
      }
    });

    it('of two writers holding the same version exactly one wins', async () => {
      const v1 = (await fx.store.write(A)).version;
      const second = fx.reopen();
      const results = await Promise.allSettled([fx.store.write(B, { expectedVersion: v1 }), second.write(C, { expectedVersion: v1 })]);
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      const lost = results.find((r) => r.status === 'rejected');
      assert.ok(lost && lost.status === 'rejected' && assertCode('ERR_STORE_CONFLICT')(lost.reason));
      const read = await fx.store.read();
      assert.deepEqual(read.state === 'complete' && read.texts, won[0] === 0 ? B : C);
    });

    it('backs up what it replaces: listed newest first, each readable', async () => {
      await fx.store.write(A);
      fx.clock.advance(60_000);
      const replacedA = await fx.store.write(B);
      fx.clock.advance(60_000);
      const replacedB = await fx.store.write(C);
      assert.ok(replacedA.backup && replacedB.backup);
      const list = await fx.store.listBackups();
      assert.deepEqual(list, [replacedB.backup, replacedA.backup]);
      assert.ok(list[0]!.createdAt > list[1]!.createdAt);
      assert.ok(Math.abs(list[0]!.createdAt.getTime() - fx.clock.now().getTime()) < 1000);
      assert.deepEqual(await fx.store.readBackup(list[0]!.name), B);
      assert.deepEqual(await fx.store.readBackup(list[1]!.name), A);
      assert.deepEqual(await fx.reopen().listBackups(), list);
    });

    it('orders backups taken at the same instant by creation', async () => {
      await fx.store.write(A);
      const first = (await fx.store.write(B)).backup!;
      const second = (await fx.store.write(C)).backup!;
      assert.notEqual(first.name, second.name);
      const list = await fx.store.listBackups();
      assert.deepEqual(list.map((b) => b.name), [second.name, first.name]);
      assert.deepEqual(await fx.store.readBackup(second.name), B);
      assert.deepEqual(await fx.store.readBackup(first.name), A);
    });

    it('backup: false takes none', async () => {
      await fx.store.write(A);
      const result = await fx.store.write(B, { backup: false });
      assert.equal(result.backup, undefined);
      assert.deepEqual(await fx.store.listBackups(), []);
    });

    it('readBackup of an unknown name is ERR_BUNDLE_NOT_FOUND', async () => {
      await fx.store.write(A);
      await fx.store.write(B);
      await assert.rejects(fx.store.readBackup('20000101T000000Z'), assertCode('ERR_BUNDLE_NOT_FOUND'));
      await assert.rejects(fx.store.readBackup('../../etc'), assertCode('ERR_BUNDLE_NOT_FOUND'));
    });
  });
}
