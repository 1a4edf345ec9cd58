import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildBundle, withExpiresIn } from '../support/bundles.js';
import { assertBuilt, modeOf, runWarden, tempHome, writeBundle } from './helpers.js';

const DAY = 24 * 3_600_000;
before(assertBuilt);

describe('warden mtls export (binary)', { concurrency: 4 }, () => {
  test('copies the three files verbatim, 0600 each, into a new 0700 directory', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date() });
    // A comment in ca.crt must survive: export is a verbatim copy (as Dapr's).
    const texts = { ...built.texts, ca: `# my root\n${built.texts.ca}` };
    await writeBundle(certs, texts);
    const r = await runWarden(['mtls', 'export', '-o', 'out/trust'], { home, cwd: home });
    assert.equal(r.code, 0, r.stderr);
    const out = join(home, 'out', 'trust');
    assert.equal(r.stdout, `✅  Trust certs successfully exported to ${out}\n`);
    assert.deepEqual((await readdir(out)).sort(), ['ca.crt', 'issuer.crt', 'issuer.key']);
    assert.equal(await readFile(join(out, 'ca.crt'), 'utf8'), texts.ca);
    assert.equal(await readFile(join(out, 'issuer.crt'), 'utf8'), texts.issuerCert);
    assert.equal(await readFile(join(out, 'issuer.key'), 'utf8'), texts.issuerKey);
    for (const f of ['ca.crt', 'issuer.crt', 'issuer.key']) assert.equal(await modeOf(join(out, f)), 0o600, f);
    assert.equal(await modeOf(out), 0o700);
  });

  test('overwrites existing files in an existing directory and fixes their mode', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date() });
    await writeBundle(certs, built.texts);
    const out = join(home, 'existing');
    await mkdir(out, { mode: 0o755 });
    await writeFile(join(out, 'issuer.key'), 'old', { mode: 0o644 });
    const r = await runWarden(['mtls', 'export', '--out', out], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(out, 'issuer.key'), 'utf8'), built.texts.issuerKey);
    assert.equal(await modeOf(join(out, 'issuer.key')), 0o600);
    assert.equal(await modeOf(out), 0o755, 'an existing directory keeps its mode');
    assert.deepEqual((await readdir(out)).sort(), ['ca.crt', 'issuer.crt', 'issuer.key'], 'no temp files left');
  });

  test('prints Dapr\'s expiry warning when the root has fewer than 30 days', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withExpiresIn(10 * DAY + 3_600_000, 'root'), withExpiresIn(DAY, 'issuer'))).texts);
    const r = await runWarden(['mtls', 'export', '-o', 'x'], { home });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[1] ?? '', /^⚠  Dapr root certificate expires in 10 days\. Expiry date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC\. $/);
    assert.equal(lines[2], ' Please see docs.dapr.io for certificate renewal instructions to avoid service interruptions.');
  });

  test('absent bundle: exit 1, nothing created', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['mtls', 'export', '-o', 'out'], { home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\(ERR_BUNDLE_NOT_FOUND\)/);
    assert.deepEqual(await readdir(home), []);
  });

  test('--out naming a file: ERR_FILE_IO, exit 1', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
    await writeFile(join(home, 'afile'), 'x');
    const r = await runWarden(['mtls', 'export', '-o', 'afile'], { home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /afile.*\(ERR_FILE_IO\)/);
  });
});
