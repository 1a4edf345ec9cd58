/**
 * `warden mtls export -k` through the built binary against the API test server, renamed Secret
 * keys, and every way the cluster's bundle can be missing (empty Secret, no Secret, no Dapr, a
 * wrong --namespace), plus -k with --issuer-credentials.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { buildBundle, type BuiltBundle } from '../support/bundles.js';
import { assertBuilt, modeOf, tempHome } from '../cli/helpers.js';
import { runK } from './cli-read-fixtures.js';

before(assertBuilt);

describe('warden mtls export -k and missing bundles (binary)', { concurrency: 3 }, () => {
  const servers: KubeApiServer[] = [];
  let built: BuiltBundle;
  /** A server with a Dapr control plane holding `texts` (default: a healthy bundle). */
  const start = async (texts: BuiltBundle['texts'] | null = built.texts, opts: { namespace?: string } = {}) => {
    const s = await startKubeApiServer();
    servers.push(s);
    seedDaprControlPlane(s, { ...(texts ? { trustBundle: texts } : {}), ...opts });
    return s;
  };
  before(async () => {
    built = await buildBundle({ now: new Date() });
  });
  after(() => Promise.all(servers.map((s) => s.close())));

  test('export -k -o DIR: the Secret\'s three keys verbatim, 0600, new directory 0700; Dapr\'s success line', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    // Keys Warden does not export stay where they are.
    server.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (s) => {
      (s.data as Record<string, string>)['jwt.key'] = Buffer.from('jwt').toString('base64');
    });
    const r = await runK(server, home, ['mtls', 'export', '-k', '-o', 'trust']);
    assert.equal(r.code, 0, r.stderr);
    const out = join(home, 'trust');
    assert.equal(r.stdout, `✅  Trust certs successfully exported to ${out}\n`);
    assert.deepEqual((await readdir(out)).sort(), ['ca.crt', 'issuer.crt', 'issuer.key']);
    assert.equal(await readFile(join(out, 'ca.crt'), 'utf8'), built.texts.ca);
    assert.equal(await readFile(join(out, 'issuer.crt'), 'utf8'), built.texts.issuerCert);
    assert.equal(await readFile(join(out, 'issuer.key'), 'utf8'), built.texts.issuerKey);
    for (const f of ['ca.crt', 'issuer.crt', 'issuer.key']) assert.equal(await modeOf(join(out, f)), 0o600);
    assert.equal(await modeOf(out), 0o700);
  });

  test('Secret keys renamed by Helm issuerFilenames: the file-name flags pick them', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    server.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (s) => {
      const data = s.data as Record<string, string>;
      s.data = { 'ca.crt': data['ca.crt'], 'tls.crt': data['issuer.crt'], 'tls.key': data['issuer.key'] };
    });
    const plain = await runK(server, home, ['mtls', 'expiry', '-k']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /incomplete trust bundle in Secret dapr-system\/dapr-trust-bundle: Secret dapr-system\/dapr-trust-bundle key issuer\.crt, .* key issuer\.key missing.*\(ERR_BUNDLE_PARTIAL\)/);
    const renamed = await runK(server, home, ['mtls', 'verify', '-k', '--issuer-certificate-filename', 'tls.crt', '--issuer-key-filename', 'tls.key']);
    assert.equal(renamed.code, 0, renamed.stderr);
  });

  test('missing bundles: empty Secret (Helm), no Secret, no Dapr, a --namespace without it', async (t) => {
    const { home } = await tempHome(t);
    const empty = await start(null);
    const r = await runK(empty, home, ['mtls', 'expiry', '-k']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^❌  Secret dapr-system\/dapr-trust-bundle holds no trust bundle .*root certificate not loaded yet.*renew-certificate -k'? \(ERR_BUNDLE_NOT_FOUND\)\n$/);
    empty.api.delete('secrets', 'dapr-system', 'dapr-trust-bundle');
    const gone = await runK(empty, home, ['mtls', 'export', '-k', '-o', 'x']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /Secret dapr-system\/dapr-trust-bundle not found .*--create \(ERR_KUBE_NOT_FOUND\)/);
    assert.deepEqual(await readdir(home), [], 'export wrote nothing');
    const wrongNs = await runK(empty, home, ['mtls', 'verify', '-k', '--namespace', 'default']);
    assert.equal(wrongNs.code, 1);
    assert.match(wrongNs.stderr, /Secret default\/dapr-trust-bundle and ConfigMap default\/dapr-trust-bundle not found/);
    const bare = await startKubeApiServer();
    servers.push(bare);
    const noDapr = await runK(bare, home, ['mtls', 'verify', '-k']);
    assert.equal(noDapr.code, 1);
    assert.match(noDapr.stderr, /no Dapr control plane found .*install Dapr, or pass --namespace with its namespace \(ERR_DAPR_NOT_FOUND\)/);
  });

  test('-k with --issuer-credentials is a usage error (exit 2) that never reaches the cluster', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    server.requests.clear();
    const r = await runK(server, home, ['mtls', 'expiry', '-k', '--issuer-credentials', home]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--issuer-credentials names a directory, -k reads the cluster's bundle/);
    assert.equal(server.requests.count(), 0);
  });
});
