/** `warden mtls rollback -o json` (issue 13, rough edge 12): what was restored, on stdout. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { buildBundle } from '../support/bundles.js';
import { assertBuilt, exists, readBundle, runWarden, tempHome, writeBundle } from './helpers.js';

before(assertBuilt);

describe('warden mtls rollback -o json (binary)', () => {
  it('prints the restored backup, the backup of what it replaced and the restored root and issuer; status lines go to stderr', async (t) => {
    const { home, certs } = await tempHome(t);
    const first = (await buildBundle({ now: new Date(), trustDomain: 'localhost', namespace: 'default' })).texts;
    await writeBundle(certs, first);
    assert.equal((await runWarden(['mtls', 'renew-certificate'], { home })).code, 0);

    const r = await runWarden(['mtls', 'rollback', '-o', 'json'], { home });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      ok: boolean; written: boolean; backup: { name: string; location: string }; replacedBackup: string;
      abandonedRotation: null; root: { subject: string; notAfter: string }; findings: unknown[];
    };
    assert.deepEqual(await readBundle(certs), first, 'the first bundle is back');
    const [root] = parseCertificatesPem(first.ca);
    assert.equal(out.ok, true);
    assert.equal(out.written, true);
    assert.equal(out.root.subject, 'O=localhost');
    assert.equal(out.root.notAfter, root!.notAfter.toISOString());
    assert.ok(await exists(join(out.backup.location, 'ca.crt')), out.backup.location);
    assert.ok(await exists(join(out.replacedBackup, 'ca.crt')), 'the bundle it replaced was backed up');
    assert.equal(out.abandonedRotation, null);
    assert.match(r.stderr, /^✅  Rolled back to /m);

    const k = await runWarden(['mtls', 'rollback', '-k', '-o', 'json'], { home });
    assert.equal(k.code, 2);
  });
});
