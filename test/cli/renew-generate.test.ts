import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { buildBundle, withExpiredIssuer, withExpiredRoot } from '../support/bundles.js';
import { openssl } from '../support/openssl.js';
import { assertBuilt, exists, modeOf, readBundle, runWarden, snapshotDir, tempHome, writeBundle } from './helpers.js';

const DAY = 24 * 3_600_000;
before(assertBuilt);

/** `openssl verify -CAfile ca issuer` on files in `dir` (the ISO cross-check of a renewed bundle). */
function opensslVerifies(caPath: string, issuerPath: string): boolean {
  try {
    execFileSync('openssl', ['verify', '-CAfile', caPath, issuerPath], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function publicKeyOfCert(pem: string): string {
  return openssl(['x509', '-noout', '-pubkey'], pem);
}

function publicKeyOfKey(pem: string): string {
  return openssl(['pkey', '-pubout'], pem);
}

describe('warden mtls renew-certificate: generated bundles (binary)', { concurrency: 4 }, () => {
  test('fresh: Dapr\'s lines, a bundle that verifies, 365 days, Ed25519, no backup on first run', async (t) => {
    const { home, certs } = await tempHome(t);
    const start = Date.now();
    const r = await runWarden(['mtls', 'renew-certificate'], { home });
    const end = Date.now();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '⌛  Starting certificate rotation');
    assert.equal(lines[1], 'ℹ️  generating fresh certificates');
    assert.match(r.stdout, /^✅  Certificate rotation is successful! Your new certificate is valid through \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC$/m);
    assert.doesNotMatch(r.stdout, /Backup/);
    assert.match(r.stdout, /^ℹ️  A running sentry reloads the new bundle/m);
    assert.match(r.stdout, /^ℹ️  Start daprd processes with the new trust anchors: export DAPR_TRUST_ANCHORS=/m);
    for (const f of ['ca.crt', 'issuer.crt', 'issuer.key']) assert.equal(await modeOf(join(certs, f)), 0o600);
    assert.ok(opensslVerifies(join(certs, 'ca.crt'), join(certs, 'issuer.crt')));
    const texts = await readBundle(certs);
    const [root] = parseCertificatesPem(texts.ca);
    assert.equal(root!.subject.text, 'O=localhost');
    // Issued at some instant in [start, end] (X.509 times are whole seconds, hence the 1 s slack).
    const issuedAt = (d: Date, offsetMs: number): boolean =>
      d.getTime() - offsetMs >= start - 1000 && d.getTime() - offsetMs <= end;
    assert.ok(issuedAt(root!.notAfter, 365 * DAY), `NotAfter = issue time + 365 d: ${root!.notAfter.toISOString()}`);
    assert.ok(issuedAt(root!.notBefore, -15 * 60_000), `NotBefore = issue time - 15 min: ${root!.notBefore.toISOString()}`);
    assert.match(openssl(['x509', '-noout', '-text'], texts.ca), /Public Key Algorithm: ED25519/);
    assert.match(texts.issuerKey, /^-----BEGIN PRIVATE KEY-----/);
  });

  test('--dry-run prints the plan and writes nothing (no directory is created)', async (t) => {
    const { home, certs } = await tempHome(t);
    const r = await runWarden(['mtls', 'renew-certificate', '--dry-run', '--trust-domain', 'example.org', '--valid-until', '30'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ℹ️  Dry run: nothing was written\. The plan:$/m);
    assert.match(r.stdout, /^ {2}trust domain +example\.org$/m);
    assert.match(r.stdout, /^ {2}root +O=example\.org, ed25519, valid /m);
    assert.match(r.stdout, /^ {2}issuer +O=spiffe:\/\/example\.org\/ns\/default\/dapr-sentry, ed25519/m);
    assert.match(r.stdout, /^ {2}validity +30 days/m);
    assert.match(r.stdout, new RegExp(`^ {2}will write +${certs}/ca\\.crt`, 'm'));
    assert.match(r.stdout, /^ {2}backup +none \(there is no current bundle\)$/m);
    assert.doesNotMatch(r.stdout, /successful/);
    assert.equal(await exists(join(home, '.dapr')), false);
  });

  test('--dry-run over an existing bundle leaves every file as it was and names the backup place', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
    const before = await snapshotDir(home);
    const r = await runWarden(['mtls', 'rnc', '--dry-run', '--root-key-out', 'root.key'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ {2}backup +the current bundle is copied to ${certs}/\\.backup/<UTC timestamp>/ first$`, 'm'));
    assert.match(r.stdout, new RegExp(`^ {2}root key +saved to ${home}/root\\.key`, 'm'));
    assert.deepEqual(await snapshotDir(home), before);
  });

  test('second renew backs up the previous bundle, prints where, and takes its trust domain', async (t) => {
    const { home, certs } = await tempHome(t);
    const old = await buildBundle({ now: new Date(), trustDomain: 'cluster.local' });
    await writeBundle(certs, old.texts);
    const r = await runWarden(['mtls', 'renew-cert', '--key-algorithm', 'ecdsa-p256'], { home, env: { NAMESPACE: 'dapr-system' } });
    assert.equal(r.code, 0, r.stderr);
    const m = /^ℹ️  Backup of the previous bundle written to (.+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const backupDir = m[1]!;
    assert.ok(backupDir.startsWith(join(certs, '.backup')), backupDir);
    assert.equal(await readFile(join(backupDir, 'issuer.key'), 'utf8'), old.texts.issuerKey);
    assert.equal(await readFile(join(backupDir, 'ca.crt'), 'utf8'), old.texts.ca);
    const texts = await readBundle(certs);
    assert.notEqual(texts.ca, old.texts.ca);
    const [root] = parseCertificatesPem(texts.ca);
    const [issuer] = parseCertificatesPem(texts.issuerCert);
    assert.equal(root!.subject.text, 'O=cluster.local');
    assert.equal(issuer!.subject.text, 'O=spiffe://cluster.local/ns/dapr-system/dapr-sentry');
    assert.match(openssl(['x509', '-noout', '-text'], texts.issuerCert), /ASN1 OID: prime256v1/);
    assert.ok(opensslVerifies(join(certs, 'ca.crt'), join(certs, 'issuer.crt')));
    assert.match(r.stdout, /^ℹ️  The root certificate changed: restart every daprd process/m);
  });

  test('an expired current bundle does not block renewing (recovery), and says so', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() }, withExpiredRoot(), withExpiredIssuer())).texts);
    const r = await runWarden(['mtls', 'renew-certificate'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^⚠  The current root certificate expired on .* UTC; renewing replaces it$/m);
    assert.match(r.stdout, /^⚠  The current issuer certificate expired on .* UTC; renewing replaces it$/m);
    assert.match(r.stdout, /^✅  Certificate rotation is successful!/m);
    const verify = await runWarden(['mtls', 'verify'], { home });
    assert.equal(verify.code, 0, verify.stdout);
  });

  test('--root-key-out saves the new root key (PKCS#8, 0600) that matches ca.crt; never overwrites', async (t) => {
    const { home, certs } = await tempHome(t);
    const r = await runWarden(['mtls', 'renew-certificate', '--root-key-out', 'keys-root.pem'], { home });
    assert.equal(r.code, 0, r.stderr);
    const keyPath = join(home, 'keys-root.pem');
    assert.match(r.stdout, new RegExp(`^ℹ️  Root private key written to ${keyPath}$`, 'm'));
    assert.equal(await modeOf(keyPath), 0o600);
    const key = await readFile(keyPath, 'utf8');
    assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(publicKeyOfKey(key), publicKeyOfCert(await readFile(join(certs, 'ca.crt'), 'utf8')));

    const before = await snapshotDir(home);
    const again = await runWarden(['mtls', 'renew-certificate', '--root-key-out', 'keys-root.pem'], { home });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /keys-root\.pem.*\(ERR_FILE_IO\)/);
    assert.deepEqual(await snapshotDir(home), before, 'neither the key nor the bundle changed');
  });

  for (const [name, genArgs] of [
    ['SEC1 EC P-256', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']],
    ['PKCS#8 Ed25519', ['genpkey', '-algorithm', 'ed25519']],
    ['PKCS#1 RSA 2048', ['genrsa', '-traditional', '2048']],
  ] as const) {
    test(`--private-key (${name}) keeps the root public key`, async (t) => {
      const { home, certs } = await tempHome(t);
      const keyPem = openssl([...genArgs]);
      await writeFile(join(home, 'root.key'), keyPem, { mode: 0o600 });
      const r = await runWarden(['mtls', 'renew-certificate', '--private-key', 'root.key'], { home });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split('\n')[1], 'ℹ️  Using password file to generate root certificate');
      const ca = await readFile(join(certs, 'ca.crt'), 'utf8');
      assert.equal(publicKeyOfCert(ca), publicKeyOfKey(keyPem));
      assert.ok(opensslVerifies(join(certs, 'ca.crt'), join(certs, 'issuer.crt')));
    });
  }

  test('--private-key with the same root key: the old ca.crt still verifies the new issuer', async (t) => {
    const { home, certs } = await tempHome(t);
    const first = await runWarden(['mtls', 'renew-certificate', '--root-key-out', 'root.key', '--trust-domain', 'example.org'], { home });
    assert.equal(first.code, 0, first.stderr);
    const oldCa = join(home, 'old-ca.crt');
    await writeFile(oldCa, await readFile(join(certs, 'ca.crt')));
    const r = await runWarden(['mtls', 'renew-certificate', '--private-key', 'root.key'], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ℹ️  The root kept its key and subject, so running daprd processes keep trusting the new issuer; restart them before /m);
    assert.ok(opensslVerifies(oldCa, join(certs, 'issuer.crt')), 'old anchor verifies the new issuer');
  });
});

describe('warden mtls renew-certificate: argument errors (in-process through main)', () => {
  async function run(home: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo({ env: { HOME: home }, cwd: home });
    const code = await main(['mtls', 'renew-certificate', ...args], io);
    return { code, out: io.stdoutText(), err: io.stderrText() };
  }

  test('--private-key errors: missing file (1), not a key (1), blank value (2, Dapr\'s text)', async (t) => {
    const { home } = await tempHome(t);
    const missing = await run(home, ['--private-key', 'nope.key']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope\.key.*\(ERR_FILE_IO\)/);
    await writeFile(join(home, 'junk.key'), 'hello\n');
    const junk = await run(home, ['--private-key', 'junk.key']);
    assert.equal(junk.code, 1);
    assert.match(junk.err, /junk\.key: .*\(ERR_(KEY_INVALID|PEM_INVALID)\)/);
    const blank = await run(home, ['--private-key', '']);
    assert.equal(blank.code, 2);
    assert.match(blank.err, /^❌  "privateKey" flag has incorrect value \(ERR_USAGE\)$/m);
    assert.equal(await exists(join(home, '.dapr')), false);
  });

  test('usage errors exit 2: --valid-until 0 or 1.5, unknown --key-algorithm, bad --allowed-clock-skew', async (t) => {
    const { home } = await tempHome(t);
    for (const args of [['--valid-until', '0'], ['--valid-until', '1.5'], ['--key-algorithm', 'rsa'], ['--allowed-clock-skew', '15']]) {
      const r = await run(home, args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, new RegExp(`^❌  option '${args[0]}.*\\(ERR_USAGE\\)$`, 'm'));
    }
    assert.deepEqual(await readdir(home), []);
  });
});
