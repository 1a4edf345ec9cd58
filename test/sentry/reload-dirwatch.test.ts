/**
 * RobustDirWatch (reload-watch.ts) on its own: after the watched directory is created late,
 * deleted and recreated, or re-pointed as a symlink, events from files in the *new* directory
 * still arrive. Each step waits until the watch on the new directory is established (the parent's
 * event triggers that) before writing into it, so nothing here depends on timing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RobustDirWatch } from '../../src/sentry/reload-watch.js';
import { captureLogger, tempDir } from '../support/sentry-harness.js';

/** Resolves on the next call of the returned `signal` with a matching argument (bounded). */
class Signals {
  readonly seen: string[] = [];
  private waiters: { what: string; resolve: () => void }[] = [];

  signal(what: string): void {
    this.seen.push(what);
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (w.what === what) w.resolve();
      else this.waiters.push(w);
    }
  }

  next(what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within 10 s; saw ${JSON.stringify(this.seen)}`)), 10_000);
      this.waiters.push({ what, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
}

test('events keep arriving after the directory is created late, recreated three times, and re-pointed', async (t) => {
  const root = tempDir();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  if (statSync(root, { bigint: true }).birthtimeNs === 0n) {
    // Without birth times every parent event re-watches, which may drop the event this test waits
    // for (the reloader does not care: the parent event itself schedules the reload).
    t.skip('this file system records no birth times');
    return;
  }
  const dir = join(root, 'certs');
  const signals = new Signals();
  const watch = new RobustDirWatch({
    dir,
    logger: captureLogger([]),
    onEvent: (name) => signals.signal(`event ${name}`),
    onWatching: () => signals.signal('watching'),
  });
  watch.start();
  t.after(() => watch.close());

  const inNewDir = async (create: () => void, file: string, writeTo = dir): Promise<void> => {
    const watching = signals.next('watching');
    create();
    await watching;
    const seen = signals.next(`event ${file}`);
    writeFileSync(join(writeTo, file), 'x');
    await seen;
  };

  // Missing at start: the parent sees it appear, and then the new directory is watched.
  await inNewDir(() => mkdirSync(dir), 'ca.crt');
  for (let i = 0; i < 3; i++) {
    await inNewDir(() => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }, `issuer-${i}.crt`);
  }
  // Re-pointed: certs becomes a symlink to another directory (ln -sfn: a rename over it).
  const target = join(root, 'v2');
  mkdirSync(target);
  await inNewDir(() => {
    rmSync(dir, { recursive: true, force: true });
    symlinkSync(target, join(root, 'certs.tmp'));
    renameSync(join(root, 'certs.tmp'), dir);
  }, 'issuer.key', target);
  assert.ok(signals.seen.includes('event issuer.key'));
});
