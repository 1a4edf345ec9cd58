/**
 * The reloader's content check (issue 12, item 4): a change that no file event reports (here: the
 * files live in a directory that is not watched) is found by `pollOnce` and reloaded like an
 * event; an unchanged store, or the same refused bundle, does not reload again.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { checkBundleTexts } from '../../src/sentry/bundle-check.js';
import { CaStateHolder, type CaState } from '../../src/sentry/ca-state.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import { BundleReloader } from '../../src/sentry/reload.js';
import { computeBundleVersion } from '../../src/stores/bundle-version.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { buildBundle } from '../support/bundles.js';
import { captureLogger, tempDir, type LogRecord } from '../support/sentry-harness.js';

const policy = { warnWithinMs: 0, workloadTtlMs: 3600_000, clockSkewMs: 60_000 };

test('pollOnce reloads a change no event reported, once; a refused bundle is not retried until it changes', async (t) => {
  const [a, b] = [(await buildBundle({ now: new Date() })).texts, (await buildBundle({ now: new Date() })).texts];
  const dir = tempDir();
  const unwatched = tempDir();
  const store = new FsTrustBundleStore({ dir, clock: systemClock });
  await store.write(a);
  const initial = { bundle: checkBundleTexts(a, new Date(), policy, dir).bundle, signer: undefined, version: computeBundleVersion(a) } as unknown as CaState;
  const caState = new CaStateHolder(initial);
  const metrics = new SentryMetrics();
  const logs: LogRecord[] = [];
  const installed: string[] = [];
  const reloader = new BundleReloader({
    store: { read: () => store.read(), write: (x: BundleTexts) => store.write(x), watchPaths: () => [unwatched] },
    where: dir, caState, clock: systemClock, logger: captureLogger(logs), metrics, policy,
    debounceMs: 0,
    pollIntervalMs: 0, // the test drives the check itself
    install: (checked, version) => {
      caState.swap({ ...caState.current, bundle: checked.bundle, version });
      installed.push(String(version));
      return Promise.resolve();
    },
  });
  reloader.start();
  t.after(() => reloader.stop());
  const settle = async (): Promise<void> => {
    // The check schedules the reload on a 0 ms debounce timer; let it fire, then wait for it.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 0));
    await reloader.idle();
  };
  const failures = async (): Promise<number> => (await metrics.reloadFailures.get()).values[0]?.value ?? 0;

  await reloader.pollOnce();
  await settle();
  assert.deepEqual(installed, [], 'nothing changed, nothing reloaded');

  await store.write(b);
  await reloader.pollOnce();
  await settle();
  assert.deepEqual(installed, [computeBundleVersion(b)]);
  assert.ok(logs.some((l) => l.msg === 'The trust bundle changed without a file event; reloading'));

  await reloader.pollOnce();
  await settle();
  assert.equal(installed.length, 1, 'no second reload of the same content');

  writeFileSync(join(dir, 'issuer.crt'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  await reloader.pollOnce();
  await settle();
  assert.equal(await failures(), 1);
  await reloader.pollOnce();
  await settle();
  assert.equal(await failures(), 1, 'the same refused content is not retried every check');
  assert.equal(caState.current.version, computeBundleVersion(b), 'still on the last good bundle');
});
