import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { verifyCommand } from '../../src/cli/commands/verify.js';
import { defaultDeps } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { FixedClock } from '../../src/core/clock.js';
import {
  buildBundle, withExpiredIssuer, withExpiresIn, withMismatchedKey, withShortIssuer,
} from '../support/bundles.js';
import { assertBuilt, runWarden, tempHome, writeBundle } from './helpers.js';

const DAY = 24 * 3_600_000;
before(assertBuilt);

interface VerifyJson {
  directory: string;
  ok: boolean;
  errors: number;
  warnings: number;
  findings: { severity: string; code: string; subject: string; message: string }[];
}

describe('warden mtls verify (binary)', { concurrency: 4 }, () => {
  test('healthy bundle: ✅, no table, exit 0', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
    const r = await runWarden(['mtls', 'verify'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `✅  Trust bundle in ${certs} passed all checks\n`);
    assert.equal(r.stderr, '');
  });

  test('expired issuer: table with ERR_ISSUER_EXPIRED, ❌ on stderr, exit 3', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withExpiredIssuer())).texts);
    const r = await runWarden(['mtls', 'verify'], { home });
    assert.equal(r.code, 3);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^SEVERITY +CODE +SUBJECT +MESSAGE$/);
    assert.ok(rows.some((row) => /^error +ERR_ISSUER_EXPIRED +issuer /.test(row)), r.stdout);
    assert.match(r.stderr, /^❌  Trust bundle in .* failed verification: \d+ errors?/);
  });

  test('mismatched issuer key: ERR_BUNDLE_KEY_MISMATCH in json, exit 3', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withMismatchedKey())).texts);
    const r = await runWarden(['mtls', 'verify', '-o', 'json'], { home });
    assert.equal(r.code, 3);
    const json = JSON.parse(r.stdout) as VerifyJson;
    assert.equal(json.ok, false);
    assert.equal(json.directory, certs);
    assert.ok(json.errors >= 1);
    assert.ok(json.findings.some((f) => f.code === 'ERR_BUNDLE_KEY_MISMATCH' && f.severity === 'error'));
  });

  test('warnings only: ⚠ and exit 0; --warn-within moves the threshold', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withExpiresIn(10 * DAY, 'issuer'))).texts);
    const r = await runWarden(['mtls', 'verify'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^warning +WARN_ISSUER_EXPIRING +issuer /m);
    assert.match(r.stdout, /^⚠  Trust bundle in .* is valid, with 1 warning\n$/m);
    const narrow = await runWarden(['mtls', 'verify', '--warn-within', '168h', '-o', 'json'], { home });
    assert.equal(narrow.code, 0);
    assert.deepEqual((JSON.parse(narrow.stdout) as VerifyJson).findings, []);
  });

  test('--workload-ttl is passed to the checks', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withShortIssuer(48 * 3_600_000))).texts);
    const base = JSON.parse((await runWarden(['mtls', 'verify', '-o', 'json', '--warn-within', '1h'], { home })).stdout) as VerifyJson;
    assert.ok(!base.findings.some((f) => f.code === 'WARN_ISSUER_SHORTER_THAN_TTL'), JSON.stringify(base));
    const long = await runWarden(['mtls', 'verify', '-o', 'json', '--warn-within', '1h', '--workload-ttl', '72h'], { home });
    assert.ok((JSON.parse(long.stdout) as VerifyJson).findings.some((f) => f.code === 'WARN_ISSUER_SHORTER_THAN_TTL'), long.stdout);
  });

  test('a file that does not parse is an error finding naming the file, exit 3', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date() });
    await writeBundle(certs, { ...built.texts, issuerKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' });
    const r = await runWarden(['mtls', 'verify', '-o', 'json'], { home });
    assert.equal(r.code, 3, r.stderr);
    const json = JSON.parse(r.stdout) as VerifyJson;
    assert.equal(json.findings.length, 1);
    assert.equal(json.findings[0]!.severity, 'error');
    assert.equal(json.findings[0]!.subject, `${certs}/issuer.key`);
    assert.match(json.findings[0]!.code, /^ERR_(KEY|PEM|DER)_INVALID$/);
  });

  test('absent bundle exits 1; a bad duration is a usage error (2)', async (t) => {
    const { home } = await tempHome(t);
    const absent = await runWarden(['mtls', 'verify'], { home });
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /\(ERR_BUNDLE_NOT_FOUND\)/);
    const bad = await runWarden(['mtls', 'verify', '--warn-within', '30 days'], { home });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^❌  option '--warn-within <duration>' argument '30 days' is invalid\..*\(ERR_USAGE\)/);
  });
});

describe('verifyCommand (in-process, fixed clock)', () => {
  test('a bundle that is fine today fails once the clock passes the issuer NotAfter', async (t) => {
    const now = new Date('2026-03-01T00:00:00Z');
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now })).texts);
    const opts = { output: 'json' as const, issuerCaFilename: 'ca.crt', issuerCertificateFilename: 'issuer.crt', issuerKeyFilename: 'issuer.key' };
    const today = captureIo({ env: { HOME: home }, clock: new FixedClock(now) });
    assert.equal(await verifyCommand(opts, today, defaultDeps()), 0);
    const later = captureIo({ env: { HOME: home }, clock: new FixedClock(now.getTime() + 366 * DAY) });
    assert.equal(await verifyCommand(opts, later, defaultDeps()), 3);
    const codes = (JSON.parse(later.stdoutText()) as VerifyJson).findings.map((f) => f.code);
    assert.ok(codes.includes('ERR_ROOT_EXPIRED') && codes.includes('ERR_ISSUER_EXPIRED'), codes.join());
  });
});
