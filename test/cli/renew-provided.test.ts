import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { buildBundle, withChainOutOfOrder, withMismatchedKey, withTrailingRoot } from '../support/bundles.js';
import { openssl } from '../support/openssl.js';
import { assertBuilt, exists, readBundle, runWarden, snapshotDir, tempHome, writeBundle } from './helpers.js';

before(assertBuilt);

const PROVIDED = ['--ca-root-certificate', 'in/ca.crt', '--issuer-public-certificate', 'in/issuer.crt', '--issuer-private-key', 'in/issuer.key'];

async function writeInputs(home: string, texts: BundleTexts): Promise<void> {
  await writeBundle(join(home, 'in'), texts);
}

describe('warden mtls renew-certificate: provided certificates (binary)', { concurrency: 4 }, () => {
  test('good files are installed verbatim after a backup; openssl verifies them', async (t) => {
    const { home, certs } = await tempHome(t);
    const old = await buildBundle({ now: new Date() });
    await writeBundle(certs, old.texts);
    const incoming = await buildBundle({ now: new Date(), trustDomain: 'example.org' }, withTrailingRoot());
    await writeInputs(home, incoming.texts);
    const r = await runWarden(['mtls', 'renew-certificate', ...PROVIDED], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[1], 'ℹ️  Using provided certificates');
    assert.match(r.stdout, /^ℹ️  Backup of the previous bundle written to /m);
    assert.deepEqual(await readBundle(certs), incoming.texts);
    openssl(['verify', '-CAfile', join(certs, 'ca.crt'), join(certs, 'issuer.crt')]);
  });

  test('a mismatched issuer key is refused: findings, exit 3, nothing written', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
    await writeInputs(home, (await buildBundle({ now: new Date() }, withMismatchedKey())).texts);
    const before = await snapshotDir(certs);
    const r = await runWarden(['mtls', 'renew-certificate', ...PROVIDED], { home });
    assert.equal(r.code, 3);
    assert.match(r.stdout, /^error +ERR_BUNDLE_KEY_MISMATCH /m);
    assert.match(r.stderr, /^❌  The new trust bundle failed its checks \(\d+ errors?.*\); nothing was written$/m);
    assert.doesNotMatch(r.stdout, /successful/);
    assert.deepEqual(await snapshotDir(certs), before, 'bundle untouched, no backup taken');
  });

  test('an out-of-order chain is refused with ERR_CHAIN_ORDER even in --dry-run', async (t) => {
    const { home } = await tempHome(t);
    await writeInputs(home, (await buildBundle({ now: new Date() }, withChainOutOfOrder())).texts);
    const r = await runWarden(['mtls', 'renew-certificate', '--dry-run', ...PROVIDED], { home });
    assert.equal(r.code, 3);
    assert.match(r.stdout, /ERR_CHAIN_ORDER/);
    assert.doesNotMatch(r.stdout, /The plan/);
  });

  test('a provided file that does not parse is an error finding naming it (exit 3)', async (t) => {
    const { home, certs } = await tempHome(t);
    const good = await buildBundle({ now: new Date() });
    await writeInputs(home, { ...good.texts, ca: 'garbage\n' });
    const r = await runWarden(['mtls', 'renew-certificate', ...PROVIDED], { home });
    assert.equal(r.code, 3);
    assert.match(r.stdout, new RegExp(`^error +ERR_CERT_INVALID +${home}/in/ca\\.crt `, 'm'));
    assert.equal(await exists(certs), false);
  });

  test('a provided file that does not exist: ERR_FILE_IO, exit 1', async (t) => {
    const { home } = await tempHome(t);
    await writeInputs(home, (await buildBundle({ now: new Date() })).texts);
    await rm(join(home, 'in', 'issuer.key'));
    const r = await runWarden(['mtls', 'renew-certificate', ...PROVIDED], { home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--issuer-private-key file .*issuer\.key.*\(ERR_FILE_IO\)/);
  });

  test('only some of the three flags: Dapr\'s message, exit 2', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['mtls', 'renew-certificate', '--ca-root-certificate', 'ca.crt', '--issuer-private-key', 'k'], { home });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      '❌  certificate rotation failed: all required flags for this certificate rotation path, "ca-root-certificate", ' +
        '"issuer-private-key" and "issuer-public-certificate" are not present (ERR_USAGE)\n',
    );
    assert.equal(r.stdout, '⌛  Starting certificate rotation\n');
  });

  test('generation flags with provided files are a usage error', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['mtls', 'renew-certificate', ...PROVIDED, '--root-key-out', 'r.key', '--valid-until', '10'], { home });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--root-key-out, --valid-until cannot be used with provided certificates/);
  });
});

describe('warden mtls renew-certificate: current-bundle states and modes (binary)', { concurrency: 4 }, () => {
  test('a partial bundle is refused without --force, replaced (present parts backed up) with it', async (t) => {
    const { home, certs } = await tempHome(t);
    const old = await buildBundle({ now: new Date() });
    await writeBundle(certs, old.texts);
    await rm(join(certs, 'issuer.crt'));
    const before = await snapshotDir(certs);
    const refused = await runWarden(['mtls', 'renew-certificate'], { home });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /issuer\.crt missing.*--force.*\(ERR_BUNDLE_PARTIAL\)/);
    assert.deepEqual(await snapshotDir(certs), before);

    const forced = await runWarden(['mtls', 'renew-certificate', '--force'], { home });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^⚠  Replacing a partial bundle \(missing .*issuer\.crt\): --force was given$/m);
    const backup = /^ℹ️  Backup of the previous bundle written to (.+)$/m.exec(forced.stdout)?.[1];
    assert.ok(backup, forced.stdout);
    assert.equal((await snapshotDir(backup))['ca.crt'], old.texts.ca);
    assert.equal((await runWarden(['mtls', 'verify'], { home })).code, 0);
  });

  test('Kubernetes-only flags without -k are refused with exit 2 before anything happens (-k: test/kube/renew-k-*)', async (t) => {
    const { home } = await tempHome(t);
    for (const args of [['--restart'], ['--timeout', '300'], ['--restart-apps'], ['--image-variant', 'mariner']]) {
      const r = await runWarden(['mtls', 'renew-certificate', ...args], { home });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /needs -k\/--kubernetes.*\(ERR_USAGE\)/);
      assert.equal(r.stdout, '');
    }
    assert.equal(await exists(join(home, '.dapr')), false);
  });

  test('custom file names are honoured for reading and writing', async (t) => {
    const { home } = await tempHome(t);
    const dir = join(home, 'creds');
    const names = ['--issuer-credentials', dir, '--issuer-ca-filename', 'root.pem', '--issuer-certificate-filename', 'int.pem', '--issuer-key-filename', 'int.key'];
    const r = await runWarden(['mtls', 'renew-certificate', ...names], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(await snapshotDir(dir)).filter((n) => !n.startsWith('.')).sort(), ['int.key', 'int.pem', 'root.pem']);
    const expiry = await runWarden(['mtls', 'expiry', ...names], { home });
    assert.equal(expiry.code, 0, expiry.stderr);
  });
});
