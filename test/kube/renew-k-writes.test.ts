/**
 * `renew-certificate -k` in-process: what is written and when it is not — another writer between
 * read and write, 500s mid-way, a partial bundle, where the trust domain comes from, Dapr's
 * three paths (fresh, --private-key, provided) and their flags.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { keyAlgorithmOf, parsePrivateKeyPem } from '../../src/core/keys.js';
import { buildBundle } from '../support/bundles.js';
import { backupSecrets, clusterBundle, runRenewKInProcess, startCluster, writeRequests, type Cluster } from './renew-k-support.js';

const DAY = 24 * 3_600_000;

async function cluster(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startCluster>[0] = {}): Promise<Cluster> {
  const c = await startCluster(opts);
  t.after(() => c.server.close());
  return c;
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'warden-renew-k-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('renew-certificate -k: writes', { concurrency: 3 }, () => {
  test('another writer changes the Secret between read and write: a clear conflict, nothing half-written', async (t) => {
    const c = await cluster(t);
    // Hold the backup Secret's creation (after the store re-read the bundle) while another writer replaces the Secret.
    const other = await buildBundle({ now: new Date() });
    const held = c.server.faults.hold({ verb: 'create', resource: 'secrets' });
    c.server.requests.clear();
    const running = runRenewKInProcess(c, []);
    await held.arrived;
    c.server.api.mutate('secrets', c.namespace, 'dapr-trust-bundle', (s) => {
      s.data = { 'ca.crt': Buffer.from(other.texts.ca).toString('base64'), 'issuer.crt': Buffer.from(other.texts.issuerCert).toString('base64'), 'issuer.key': Buffer.from(other.texts.issuerKey).toString('base64') };
    });
    held.release();
    const r = await running;
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^❌  Secret dapr-system\/dapr-trust-bundle was changed by another writer after it was read; nothing was written .*\(ERR_STORE_CONFLICT\)$/m);
    const after = clusterBundle(c);
    assert.deepEqual(after.secret, other.texts, 'the other writer\'s bundle stands');
    assert.equal(after.configMapCa, c.old.texts.ca, 'the ConfigMap was not touched');
    assert.deepEqual(backupSecrets(c), [], 'the backup taken for the failed write was removed');
    assert.doesNotMatch(r.stdout, /successful/);
  });

  test('a change before the write starts is caught by the version check too', async (t) => {
    const c = await cluster(t, { apps: { count: 1 } });
    // --restart reads the control plane after the bundle was read and before writing: change the Secret then.
    const held = c.server.faults.hold({ verb: 'get', resource: 'deployments', name: 'dapr-sentry' });
    const running = runRenewKInProcess(c, ['--restart']);
    await held.arrived;
    c.server.api.mutate('secrets', c.namespace, 'dapr-trust-bundle', (s) => {
      s.metadata.annotations = { touched: 'yes' };
    });
    held.release();
    const r = await running;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /changed since it was read .*nothing was written.*\(ERR_STORE_CONFLICT\)/);
    assert.deepEqual(writeRequests(c), []);
    assert.deepEqual(c.server.rollout.restarts, []);
  });

  test('500s on the Secret update: nothing written, the backup removed; 500s on the ConfigMap: retried until both match', async (t) => {
    const c = await cluster(t);
    c.server.faults.failNext(10, { match: { verb: 'update', resource: 'secrets' } });
    const failed = await runRenewKInProcess(c, []);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^❌  cannot update Secret dapr-system\/dapr-trust-bundle: the API server answered 500.*nothing was written \(ERR_KUBE_API\)$/m);
    assert.deepEqual(clusterBundle(c).secret, c.old.texts);
    assert.deepEqual(backupSecrets(c), []);

    c.server.faults.clear();
    const cmFaults = c.server.faults.failNext(2, { match: { verb: 'update', resource: 'configmaps' } });
    const ok = await runRenewKInProcess(c, []);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(cmFaults.hits, 2);
    const after = clusterBundle(c);
    assert.notEqual(after.secret.ca, c.old.texts.ca);
    assert.equal(after.configMapCa, after.secret.ca, 'byte-identical after the retries');
    assert.equal(backupSecrets(c).length, 1);
  });

  test('a partial bundle is refused without --force (exit 1, untouched) and replaced with it; a ConfigMap mismatch is reported and fixed', async (t) => {
    const c = await cluster(t);
    c.server.api.mutate('secrets', c.namespace, 'dapr-trust-bundle', (s) => {
      delete (s.data as Record<string, string>)['issuer.key'];
    });
    c.server.api.mutate('configmaps', c.namespace, 'dapr-trust-bundle', (m) => {
      m.data = { 'ca.crt': 'something else\n' };
    });
    const refused = await runRenewKInProcess(c, []);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /incomplete trust bundle in Secret dapr-system\/dapr-trust-bundle: Secret dapr-system\/dapr-trust-bundle key issuer\.key missing .*--force; nothing was written \(ERR_BUNDLE_PARTIAL\)/);
    assert.deepEqual(writeRequests(c), []);
    const forced = await runRenewKInProcess(c, ['--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^⚠  Replacing a partial bundle \(missing Secret dapr-system\/dapr-trust-bundle key issuer\.key\): --force was given$/m);
    const after = clusterBundle(c);
    assert.equal(after.configMapCa, after.secret.ca);

    c.server.api.mutate('configmaps', c.namespace, 'dapr-trust-bundle', (m) => {
      m.data = { 'ca.crt': 'stale\n' };
    });
    const mismatch = await runRenewKInProcess(c, ['--dry-run']);
    assert.match(mismatch.stdout, /^⚠  ConfigMap dapr-system\/dapr-trust-bundle ca\.crt differs from Secret dapr-system\/dapr-trust-bundle ca\.crt; renewing writes both byte-identical$/m);
  });

  test('trust domain: the Configuration\'s, else the current root\'s O=, else refused (never cluster.local); --trust-domain wins', async (t) => {
    const c = await cluster(t, { trustDomain: 'from-root.example', controlPlane: { trustDomain: 'from-config.example' } });
    const subjectAfter = async (args: string[]): Promise<string> => {
      const r = await runRenewKInProcess(c, args);
      assert.equal(r.code, 0, r.stderr);
      return parseCertificatesPem(clusterBundle(c).secret.ca)[0]!.subject.text;
    };
    assert.equal(await subjectAfter([]), 'O=from-config.example');
    c.server.api.patch('configurations', c.namespace, 'daprsystem', 'application/merge-patch+json', { spec: { mtls: { controlPlaneTrustDomain: null } } });
    // The current root is now the one just written: O=from-config.example.
    assert.equal(await subjectAfter([]), 'O=from-config.example');
    assert.equal(await subjectAfter(['--trust-domain', 'flag.example']), 'O=flag.example');

    const bare = await cluster(t, { withBundle: false, controlPlane: { trustDomain: 'x' } });
    bare.server.api.patch('configurations', bare.namespace, 'daprsystem', 'application/merge-patch+json', { spec: { mtls: { controlPlaneTrustDomain: null } } });
    const refused = await runRenewKInProcess(bare, []);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /cannot tell the trust domain of the cluster: .*pass --trust-domain/);
    assert.deepEqual(writeRequests(bare), []);
    const first = await runRenewKInProcess(bare, ['--trust-domain', 'chosen.example']);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stdout, /Backup/, 'Helm\'s empty Secret: nothing to back up');
    assert.equal(parseCertificatesPem(clusterBundle(bare).secret.ca)[0]!.subject.text, 'O=chosen.example');
  });

  test('--private-key keeps the root key; --valid-until; --root-key-out; the key algorithm is kept from the current bundle', async (t) => {
    const c = await cluster(t, { controlPlane: { version: '1.18.0' } });
    const dir = await tempDir(t);
    const keyPath = join(dir, 'root.key');
    await writeFile(keyPath, c.old.certs.root!.key.export({ type: 'pkcs8', format: 'pem' }) as string);
    const r = await runRenewKInProcess(c, ['--private-key', keyPath, '--valid-until', '30', '--backup-dir', join(dir, 'backups')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ℹ️  Using password file to generate root certificate$/m);
    const [newRoot] = parseCertificatesPem(clusterBundle(c).secret.ca);
    const [oldRoot] = parseCertificatesPem(c.old.texts.ca);
    assert.ok(newRoot!.spkiDer.equals(oldRoot!.spkiDer), 'same root key');
    assert.ok(Math.abs(newRoot!.notAfter.getTime() - Date.now() - 30 * DAY) < 60_000, '30 days');
    assert.match(r.stdout, /^ℹ️  The root kept its key and subject: restart the control plane in dapr-system, dapr-sentry first/m);
    assert.match(r.stdout, /^⚠  Dapr root certificate of your Kubernetes cluster expires in 29 days\. Expiry date: /m, 'the -k expiry banner judges the new bundle');
    const backup = /written to Secret dapr-system\/(\S+)$/m.exec(r.stdout)![1]!;
    assert.equal(await readFile(join(dir, 'backups', backup, 'ca.crt'), 'utf8'), c.old.texts.ca, 'the local copy of the backup');

    const keyOut = join(dir, 'new-root.key');
    const fresh = await runRenewKInProcess(c, ['--root-key-out', keyOut]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal((await stat(keyOut)).mode & 0o777, 0o600);
    // Dapr 1.18 generates Ed25519, but a renewal keeps the current bundle's algorithm unless asked.
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem(await readFile(keyOut))), 'ecdsa-p256', 'the current bundle\'s algorithm is kept');
    assert.match(fresh.stdout, /^ℹ️  The root certificate changed: restart the control plane .* --restart --restart-apps does all of it/m);
  });

  test('provided certificates are installed verbatim, after their checks', async (t) => {
    const c = await cluster(t);
    const dir = await tempDir(t);
    const mine = await buildBundle({ now: new Date(), trustDomain: 'mine.example', namespace: 'dapr-system' });
    const paths = { ca: join(dir, 'ca.pem'), cert: join(dir, 'issuer.pem'), key: join(dir, 'issuer-key.pem') };
    await writeFile(paths.ca, mine.texts.ca);
    await writeFile(paths.cert, mine.texts.issuerCert);
    await writeFile(paths.key, mine.texts.issuerKey);
    const partial = await runRenewKInProcess(c, ['--ca-root-certificate', paths.ca]);
    assert.equal(partial.code, 2);
    assert.match(partial.stderr, /all required flags for this certificate rotation path/);
    const r = await runRenewKInProcess(c, ['--ca-root-certificate', paths.ca, '--issuer-public-certificate', paths.cert, '--issuer-private-key', paths.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(clusterBundle(c).secret, mine.texts);
    assert.equal(clusterBundle(c).configMapCa, mine.texts.ca);
  });
});
