/**
 * A sentry reacts to its bundle files only: files a tool writes next to them (the gRPC bench's
 * csrs.json, request.bin and h2load logs) made it log "Issuer credentials changed; reloading"
 * and re-read the unchanged bundle every debounce window.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { credentialEventFilter } from '../../src/sentry/reload.js';
import { buildBundle } from '../support/bundles.js';
import { startTestSentry } from '../support/sentry-harness.js';

it('files written next to the bundle are not credential changes; a rename onto ca.crt is exactly one', async () => {
  const a = await buildBundle({ now: new Date() });
  const t = await startTestSentry({ texts: a.texts, options: { reloadDebounceMs: 50 } });
  // A second watch on the same directory: libuv delivers each inotify event to every watch of the
  // directory in one pass, in order, so once this one has seen ca.crt the sentry has seen all
  // events up to and including it.
  let sawCaRename!: () => void;
  const caRenamed = new Promise<void>((resolve) => (sawCaRename = resolve));
  const probe = watch(t.dir, (_event, name) => {
    if (name === 'ca.crt') sawCaRename();
  });
  try {
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(t.dir, 'csrs.json'), `[${i}]`);
      writeFileSync(join(t.dir, 'request.bin'), Buffer.alloc(64, i));
      writeFileSync(join(t.dir, `h2load-storm-${i}.tsv`), 'x\n');
    }
    writeFileSync(join(t.dir, 'ca.crt.tmp'), readFileSync(join(t.dir, 'ca.crt')));
    renameSync(join(t.dir, 'ca.crt.tmp'), join(t.dir, 'ca.crt'));
    await caRenamed;
    await new Promise((r) => setImmediate(r));
    const changed = (await t.sentry.metrics.issuerCertChanged.get()).values[0]?.value ?? 0;
    assert.equal(changed, 1, 'only the rename onto ca.crt counts as an issuer credentials change');
  } finally {
    probe.close();
    await t.close();
  }
});

it('credentialEventFilter: bundle names, the directory itself, ..data and unnamed events only', () => {
  const dir = '/creds/dapr';
  const isChange = credentialEventFilter(dir, [join(dir, 'ca.crt'), join(dir, 'issuer.crt'), join(dir, 'issuer.key'), '/elsewhere/root.pem']);
  for (const name of ['ca.crt', 'issuer.crt', 'issuer.key', '..data', 'dapr', null]) assert.equal(isChange(name), true, String(name));
  for (const name of ['csrs.json', 'request.bin', 'root.pem', '..data_tmp', '..2026_12_04_18_34_21.100000001', 'ca.crt.0123456789abcdef.warden-new', '.warden-lock', '.backup']) {
    assert.equal(isChange(name), false, name);
  }
});
