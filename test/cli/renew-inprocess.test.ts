import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { renewCertificateCommand, type RenewOptions } from '../../src/cli/commands/renew-certificate.js';
import { defaultDeps, type BundleStore, type CliDeps } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { inspectCurrentBundle, trustDomainOfBundle } from '../../src/cli/renew/current-bundle.js';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { FixedClock } from '../../src/core/clock.js';
import { WardenError } from '../../src/core/errors.js';
import type { WriteOptions } from '../../src/stores/store.js';
import { buildBundle, type Modifier } from '../support/bundles.js';
import { exists, readBundle, tempHome, writeBundle } from './helpers.js';

const FILES = { issuerCaFilename: 'ca.crt', issuerCertificateFilename: 'issuer.crt', issuerKeyFilename: 'issuer.key' };
const NOW = new Date('2026-05-01T10:00:00Z');

function storeReturning(read: Awaited<ReturnType<BundleStore['read']>>, write: BundleStore['write']): CliDeps {
  return { ...defaultDeps(), openStore: () => ({ read: () => Promise.resolve(read), write }) };
}

describe('renew-certificate (in-process)', () => {
  test('a failed bundle write removes the root key it had just saved, exit 1', async (t) => {
    const { home } = await tempHome(t);
    let keyWrittenFirst = false;
    const deps = storeReturning({ state: 'absent' }, async () => {
      keyWrittenFirst = await exists(join(home, 'root.key'));
      throw new WardenError('ERR_STORE_CONFLICT', 'someone else wrote');
    });
    const io = captureIo({ env: { HOME: home }, cwd: home, clock: new FixedClock(NOW) });
    const code = await main(['mtls', 'renew-certificate', '--root-key-out', 'root.key'], io, deps);
    assert.equal(code, 1);
    assert.ok(keyWrittenFirst, 'the root key is saved before the bundle is written');
    assert.match(io.stderrText(), /someone else wrote \(ERR_STORE_CONFLICT\)/);
    assert.equal(await exists(join(home, 'root.key')), false);
    assert.doesNotMatch(io.stdoutText(), /successful/);
  });

  test('writes carry the version read (or null when absent) and ask for a backup', async () => {
    const seen: WriteOptions[] = [];
    const write: BundleStore['write'] = (_texts, opts) => {
      seen.push(opts ?? {});
      return Promise.resolve({ version: 'v2' });
    };
    const current = await buildBundle({ now: NOW });
    for (const read of [{ state: 'absent' as const }, { state: 'complete' as const, texts: current.texts, version: 'v1' }]) {
      const io = captureIo({ clock: new FixedClock(NOW) });
      assert.equal(await renewCertificateCommand({ ...FILES }, io, storeReturning(read, write)), 0, io.stderrText());
    }
    assert.deepEqual(seen, [
      { expectedVersion: null, backup: true, overwritePartial: false },
      { expectedVersion: 'v1', backup: true, overwritePartial: false },
    ]);
  });

  test('re-installing the current files: the anchors are unchanged, so no daprd restart', async (t) => {
    const { home, certs } = await tempHome(t);
    const current = await buildBundle({ now: NOW });
    await writeBundle(certs, current.texts);
    await writeBundle(join(home, 'in'), current.texts);
    const io = captureIo({ env: { HOME: home }, cwd: home, clock: new FixedClock(NOW) });
    const opts: RenewOptions = {
      ...FILES, caRootCertificate: 'in/ca.crt', issuerPublicCertificate: 'in/issuer.crt', issuerPrivateKey: 'in/issuer.key',
    };
    assert.equal(await renewCertificateCommand(opts, io, defaultDeps()), 0, io.stderrText());
    assert.match(io.stdoutText(), /^ℹ️  The trust anchors are unchanged; running daprd processes need no restart$/m);
    assert.deepEqual(await readBundle(certs), current.texts);
  });

  test('the new bundle is checked at the injected time: a 1-day bundle is fine, its checks use `now`', async (t) => {
    const { home, certs } = await tempHome(t);
    const io = captureIo({ env: { HOME: home }, cwd: home, clock: new FixedClock(NOW) });
    assert.equal(await renewCertificateCommand({ ...FILES, validUntil: 1 }, io, defaultDeps()), 0, io.stderrText());
    assert.match(io.stdoutText(), /^warning +WARN_ROOT_EXPIRING /m);
    assert.match(io.stdoutText(), /^⚠  The new trust bundle passed its checks with 2 warnings$/m);
    const [root] = parseCertificatesPem((await readBundle(certs)).ca);
    assert.equal(root!.notAfter.getTime(), NOW.getTime() + 86_400_000);
    assert.equal(root!.notBefore.getTime(), NOW.getTime() - 15 * 60_000);
  });
});

describe('trustDomainOfBundle', () => {
  const subjectOf = (name: string, subject: string): Modifier => (spec) => {
    spec.certs[name]!.subject = subject;
  };

  async function tdOf(...modifiers: Modifier[]): Promise<string | undefined> {
    const built = await buildBundle({ now: NOW, trustDomain: 'example.org' }, ...modifiers);
    const read = { state: 'complete' as const, texts: built.texts, version: 'v' };
    return trustDomainOfBundle(await inspectCurrentBundle({ read: () => Promise.resolve(read), write: () => Promise.reject(new Error()) }));
  }

  test('root O=<td> first, else the issuer\'s SPIFFE ID, else undefined', async () => {
    assert.equal(await tdOf(), 'example.org');
    assert.equal(await tdOf(subjectOf('root', 'O=Acme Corp')), 'example.org');
    assert.equal(await tdOf(subjectOf('root', 'O=Acme Corp'), subjectOf('issuer', 'O=spiffe://other.td/ns/x/dapr-sentry')), 'other.td');
    assert.equal(await tdOf(subjectOf('root', 'CN=root'), subjectOf('issuer', 'CN=issuer')), undefined);
  });
});
