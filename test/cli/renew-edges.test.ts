/**
 * renew-certificate's rough edges (issue 13): the success line names the date the new bundle
 * really lasts to (edge 7); a renewal keeps the current key algorithm and says when it changes
 * (edge 10); --valid-until takes Go durations (edge 11); -o json reports the outcome (edge 12).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { keyAlgorithmOf, parsePrivateKeyPem } from '../../src/core/keys.js';
import { buildBundle, withValidity } from '../support/bundles.js';
import { openssl } from '../support/openssl.js';
import { assertBuilt, exists, readBundle, runWarden, tempHome, writeBundle } from './helpers.js';

const DAY = 24 * 3_600_000;
const RFC1123 = /\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC/;
before(assertBuilt);

function rfc1123(d: Date): string {
  return d.toUTCString().replace('GMT', 'UTC');
}

describe('renew-certificate rough edges (binary)', { concurrency: 4 }, () => {
  test('7: the success line gives the issuer\'s date when the issuer expires before the root, and names both', async (t) => {
    const { home, certs } = await tempHome(t);
    const now = new Date();
    const incoming = await buildBundle({ now }, withValidity('root', { notAfter: new Date(now.getTime() + 2 * 365 * DAY) }));
    await writeBundle(join(home, 'in'), incoming.texts);
    const r = await runWarden(['mtls', 'renew-certificate', '--ca-root-certificate', 'in/ca.crt',
      '--issuer-public-certificate', 'in/issuer.crt', '--issuer-private-key', 'in/issuer.key'], { home });
    assert.equal(r.code, 0, r.stderr);
    const [root] = parseCertificatesPem((await readBundle(certs)).ca);
    const [issuer] = parseCertificatesPem((await readBundle(certs)).issuerCert);
    assert.ok(root && issuer && issuer.notAfter < root.notAfter);
    const line = /^✅  Certificate rotation is successful! Your new certificate is valid through (.*)$/m.exec(r.stdout)?.[1];
    assert.equal(line, `${rfc1123(issuer.notAfter)} (when the issuer certificate expires; the root is valid through ${rfc1123(root.notAfter)})`);
  });

  test('7: when root and issuer end together, the line is Dapr\'s exactly', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['mtls', 'renew-certificate'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^✅  Certificate rotation is successful! Your new certificate is valid through ${RFC1123.source}$`, 'm'));
  });

  test('10: a P-256 bundle stays P-256; the plan says so; --key-algorithm changes it, and says that too', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date(), keyAlgorithm: 'ecdsa-p256', trustDomain: 'localhost', namespace: 'default' })).texts);

    const plan = await runWarden(['mtls', 'renew-certificate', '--dry-run'], { home });
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^ {2}key algorithm +ecdsa-p256 \(kept from the current bundle\)$/m);
    assert.doesNotMatch(plan.stdout, /changes from/);

    const kept = await runWarden(['mtls', 'renew-certificate'], { home });
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem((await readBundle(certs)).issuerKey)), 'ecdsa-p256');
    assert.match(openssl(['x509', '-noout', '-text'], (await readBundle(certs)).ca), /prime256v1|P-256/);

    const switched = await runWarden(['mtls', 'renew-certificate', '--dry-run', '--key-algorithm', 'ed25519'], { home });
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stdout, /^⚠  The key algorithm changes from ecdsa-p256 to ed25519 \(--key-algorithm\)$/m);
    assert.match(switched.stdout, /^ {2}key algorithm +ed25519 \(--key-algorithm; changed from ecdsa-p256\)$/m);
  });

  test('11: --valid-until takes a Go duration as well as whole days; anything else is a usage error', async (t) => {
    const { home, certs } = await tempHome(t);
    const start = Date.now();
    const r = await runWarden(['mtls', 'renew-certificate', '--valid-until', '90m'], { home });
    assert.equal(r.code, 0, r.stderr);
    const [issuer] = parseCertificatesPem((await readBundle(certs)).issuerCert);
    const left = issuer!.notAfter.getTime() - start;
    assert.ok(left > 89 * 60_000 && left <= 91 * 60_000, `issuer valid for ${left} ms`);
    // openssl agrees: valid now, not in two hours.
    const ca = join(certs, 'ca.crt');
    assert.match(openssl(['x509', '-noout', '-checkend', '3600', '-in', ca]), /will not expire/);
    assert.throws(() => openssl(['x509', '-noout', '-checkend', '7200', '-in', ca]));

    const plan = await runWarden(['mtls', 'renew-certificate', '--valid-until', '720h', '--dry-run'], { home });
    assert.match(plan.stdout, /^ {2}validity +30 days, backdated 15m0s for clock skew$/m);
    for (const bad of ['1.5', '-1', '30s', 'soon']) {
      const refused = await runWarden(['mtls', 'renew-certificate', '--valid-until', bad], { home });
      assert.equal(refused.code, 2, bad);
      assert.match(refused.stderr, /--valid-until/);
    }
  });

  test('12: -o json prints the outcome on stdout (files, backup, fingerprints, dates) and the status lines on stderr', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date(), trustDomain: 'localhost', namespace: 'default' })).texts);
    const r = await runWarden(['mtls', 'renew-certificate', '-o', 'json', '--valid-until', '30'], { home });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & {
      root: { sha256: string; notAfter: string }; issuer: { notAfter: string }; backup: string; files: string[];
    };
    assert.equal(out.ok, true);
    assert.equal(out.written, true);
    assert.equal(out.dryRun, false);
    assert.deepEqual(out.location, { directory: certs });
    assert.deepEqual(out.files, ['ca.crt', 'issuer.crt', 'issuer.key'].map((f) => join(certs, f)));
    assert.ok(await exists(join(out.backup, 'ca.crt')), 'the backup it names exists');
    const fingerprint = openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', join(certs, 'ca.crt')]).split('=')[1]!.trim().replaceAll(':', '').toLowerCase();
    assert.equal(out.root.sha256, fingerprint);
    const [issuer] = parseCertificatesPem((await readBundle(certs)).issuerCert);
    assert.equal(out.issuer.notAfter, issuer!.notAfter.toISOString());
    assert.equal(out.validThrough, issuer!.notAfter.toISOString());
    assert.match(r.stderr, /^✅  Certificate rotation is successful!/m);

    const dry = await runWarden(['mtls', 'rnc', '-o', 'json', '--dry-run'], { home });
    const plan = JSON.parse(dry.stdout) as { written: boolean; dryRun: boolean; backup: unknown };
    assert.deepEqual([plan.written, plan.dryRun, plan.backup], [false, true, null]);
  });
});

describe('help and options (binary)', { concurrency: 4 }, () => {
  test('11: `warden mtls help rotate` prints rotate\'s help; the command list shows every alias, rnc included', async (t) => {
    const { home } = await tempHome(t);
    const help = await runWarden(['mtls', 'help', 'rotate'], { home });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: warden mtls rotate \[options\]/m);
    const list = await runWarden(['mtls', '--help'], { home });
    assert.match(list.stdout, /^ {2}renew-certificate\|renew-cert\|rnc \[options\]/m);
  });

  test('11: --sign-threads help shows its real default, auto', async (t) => {
    const { home } = await tempHome(t);
    const help = await runWarden(['sentry', '--help'], { home });
    const text = help.stdout.replace(/\s+/g, ' ');
    assert.match(text, /--sign-threads <n\|auto> .*\(default: auto\)/);
    assert.doesNotMatch(text, /--sign-threads <n\|auto> [^-]*\(default: \d+\)/);
  });
});
