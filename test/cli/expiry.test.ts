import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { expiryCommand } from '../../src/cli/commands/expiry.js';
import { defaultDeps } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { buildBundle, withExpiredRoot, withExpiresIn, withExtraRoot } from '../support/bundles.js';
import { assertBuilt, goTime, runWarden, tempHome, writeBundle } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Dapr's line (spec 6.2 / checklist 26), anchored to a whole line.
const ROOT_LINE = /^Root certificate expires in (-?\d+) hours\. Expiry date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC)$/;
const ISSUER_LINE = /^Issuer certificate expires in (-?\d+) hours\. Expiry date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC)$/;

before(assertBuilt);

describe('warden mtls expiry (binary)', { concurrency: 4 }, () => {
  test('prints Dapr\'s root line first, then the issuer line', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date() }, withExpiresIn(10 * DAY + 5 * HOUR, 'issuer'));
    await writeBundle(certs, built.texts);
    const before = Date.now();
    const r = await runWarden(['mtls', 'expiry'], { home });
    const after = Date.now();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 3, r.stdout); // two lines, each newline-terminated
    const root = ROOT_LINE.exec(lines[0] ?? '');
    const issuer = ISSUER_LINE.exec(lines[1] ?? '');
    assert.ok(root && issuer, r.stdout);
    const rootAfter = built.certs.root!.spec.notAfter;
    const issuerAfter = built.certs.issuer!.spec.notAfter;
    assert.equal(root[2], goTime(rootAfter));
    assert.equal(issuer[2], goTime(issuerAfter));
    // Hours are truncated: between the value at the end and at the start of the run.
    const hours = Number(root[1]);
    assert.ok(hours <= Math.trunc((rootAfter.getTime() - before) / HOUR) && hours >= Math.trunc((rootAfter.getTime() - after) / HOUR));
    assert.ok([244, 245].includes(Number(issuer[1])), issuer[1]);
  });

  test('reads the first block of ca.crt, as Dapr does', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date() }, withExtraRoot(), withExpiresIn(40 * DAY, 'root'));
    await writeBundle(certs, built.texts);
    const r = await runWarden(['mtls', 'expiry'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ROOT_LINE.exec(r.stdout.split('\n')[0] ?? '')?.[2], goTime(built.certs.root!.spec.notAfter));
  });

  test('-o json gives subject, ISO notAfter and secondsLeft for root and issuer', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date(), trustDomain: 'example.org' }, withExpiredRoot());
    await writeBundle(certs, built.texts);
    const r = await runWarden(['mtls', 'expiry', '-o', 'json'], { home });
    assert.equal(r.code, 3, 'an expired root fails the command, as verify does');
    const json = JSON.parse(r.stdout) as Record<string, { subject: string; notAfter: string; secondsLeft: number; expired: boolean }>;
    assert.deepEqual(Object.keys(json), ['root', 'issuer']);
    assert.equal(json.root!.subject, 'O=example.org');
    assert.equal(json.issuer!.subject, 'O=spiffe://example.org/ns/dapr-system/dapr-sentry');
    assert.equal(json.root!.notAfter, built.certs.root!.spec.notAfter.toISOString());
    assert.ok(json.root!.secondsLeft < -DAY / 1000 + 60 && json.root!.secondsLeft >= -DAY / 1000 - 60, String(json.root!.secondsLeft));
    assert.ok(json.issuer!.secondsLeft > 364 * 86400);
    assert.deepEqual([json.root!.expired, json.issuer!.expired], [true, false]);
  });

  test('custom directory and file names', async (t) => {
    const { home } = await tempHome(t);
    const built = await buildBundle({ now: new Date() });
    const dir = join(home, 'elsewhere');
    await writeBundle(dir, built.texts);
    const r = await runWarden(
      ['mtls', 'expiry', '--issuer-credentials', 'elsewhere', '--issuer-ca-filename', join(dir, 'ca.crt')],
      { home, cwd: home },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Root certificate expires in \d+ hours/);
  });

  test('absent bundle: ERR_BUNDLE_NOT_FOUND, exit 1 (Dapr exits 0)', async (t) => {
    const { home, certs } = await tempHome(t);
    const r = await runWarden(['mtls', 'expiry'], { home });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^❌  no trust bundle in .*\(ERR_BUNDLE_NOT_FOUND\)\n$/);
    assert.ok(r.stderr.includes(certs));
  });

  test('partial bundle: ERR_BUNDLE_PARTIAL naming the missing file, exit 1', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
    await rm(join(certs, 'issuer.key'));
    const r = await runWarden(['mtls', 'expiry'], { home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /issuer\.key.*\(ERR_BUNDLE_PARTIAL\)/);
  });

  test('a ca.crt without a certificate: ERR_CERT_INVALID naming the file, exit 1', async (t) => {
    const { home, certs } = await tempHome(t);
    const built = await buildBundle({ now: new Date() });
    await writeBundle(certs, { ...built.texts, ca: 'not a certificate\n' });
    const r = await runWarden(['mtls', 'expiry'], { home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ca\.crt: .*\(ERR_CERT_INVALID\)/);
  });
});

describe('expiryCommand (in-process, fixed clock)', () => {
  test('hours truncate toward zero; an expired root says "expired N hours ago", names the fix and exits 3', async (t) => {
    const now = new Date('2026-06-01T12:00:00Z');
    const built = await buildBundle({ now }, withExpiresIn(90 * 60 * 1000, 'issuer'), withExpiredRoot());
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, built.texts);
    // Issuer: 1 h 30 min left → 1 (not 2). Root: expired exactly 24 h ago (not Dapr's "expires in -24 hours").
    const io = captureIo({ env: { HOME: home }, clock: new FixedClock(now) });
    const code = await expiryCommand(
      { output: 'text', issuerCaFilename: 'ca.crt', issuerCertificateFilename: 'issuer.crt', issuerKeyFilename: 'issuer.key' },
      io,
      defaultDeps(),
    );
    assert.equal(code, 3);
    assert.equal(
      io.stdoutText(),
      `Root certificate expired 24 hours ago. Expiry date: ${goTime(built.certs.root!.spec.notAfter)}\n` +
        `Issuer certificate expires in 1 hours. Expiry date: ${goTime(built.certs.issuer!.spec.notAfter)}\n`,
    );
    assert.equal(io.stderrText(), '❌  The root certificate has expired. Run `warden mtls renew-certificate` ' +
      '(nothing verifies any more, so there is no downtime left to avoid: renew in one step).\n');
  });

  test('json secondsLeft is exact under a fixed clock', async (t) => {
    const now = new Date('2026-06-01T12:00:00Z');
    const built = await buildBundle({ now }, withExpiresIn(3 * DAY, 'issuer'));
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, built.texts);
    const io = captureIo({ env: { HOME: home }, clock: new FixedClock(now) });
    await expiryCommand(
      { output: 'json', issuerCaFilename: 'ca.crt', issuerCertificateFilename: 'issuer.crt', issuerKeyFilename: 'issuer.key' },
      io,
      defaultDeps(),
    );
    const json = JSON.parse(io.stdoutText()) as { issuer: { secondsLeft: number }; root: { secondsLeft: number } };
    assert.equal(json.issuer.secondsLeft, 3 * 86400);
    assert.equal(json.root.secondsLeft, 365 * 86400);
  });
});
