/**
 * `warden mtls verify -k` through the built binary against the API test server: the Secret/ConfigMap
 * `ca.crt` mismatch reported (an error finding for verify, a warning for expiry and export),
 * and check findings that name the Secret key.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { buildBundle, withExpiredIssuer, type BuiltBundle } from '../support/bundles.js';
import { assertBuilt, tempHome } from '../cli/helpers.js';
import { runK } from './cli-read-fixtures.js';

before(assertBuilt);

const WHERE = 'Secret and ConfigMap dapr-system/dapr-trust-bundle';

describe('warden mtls verify -k findings (binary)', { concurrency: 3 }, () => {
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

  test('verify -k: a ConfigMap ca.crt that differs is an error finding (exit 3); expiry -k and export -k warn; nothing is written', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    server.api.mutate('configmaps', 'dapr-system', 'dapr-trust-bundle', (c) => {
      c.data = { 'ca.crt': `${built.texts.ca}# edited\n` };
    });
    const writesBefore = server.requests.count({ verb: ['create', 'update', 'patch', 'delete'] });
    const r = await runK(server, home, ['mtls', 'verify', '-k']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /error\s+ERR_TRUST_ANCHORS_MISMATCH\s+ConfigMap dapr-system\/dapr-trust-bundle\s+ConfigMap dapr-system\/dapr-trust-bundle ca\.crt differs from Secret dapr-system\/dapr-trust-bundle ca\.crt: Dapr's Sentry generates a new CA .*warden mtls renew-certificate -k/);
    assert.match(r.stderr, new RegExp(`^❌  Trust bundle in ${WHERE} failed verification: 1 error`));
    const json = await runK(server, home, ['mtls', 'verify', '-k', '-o', 'json']);
    assert.equal(json.code, 3);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; findings: { code: string; severity: string }[] };
    assert.deepEqual(parsed.findings.map((f) => [f.severity, f.code]), [['error', 'ERR_TRUST_ANCHORS_MISMATCH']]);
    const expiry = await runK(server, home, ['mtls', 'expiry', '-k']);
    assert.equal(expiry.code, 0, expiry.stderr);
    assert.match(expiry.stdout, /^Root certificate.*\nIssuer certificate.*\n⚠  ConfigMap dapr-system\/dapr-trust-bundle ca\.crt differs .* \(ERR_TRUST_ANCHORS_MISMATCH\)\n$/);
    const out = join(home, 'out');
    const exported = await runK(server, home, ['mtls', 'export', '-k', '-o', out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /\n⚠  ConfigMap .* differs .*\(ERR_TRUST_ANCHORS_MISMATCH\)\n$/);
    assert.equal(await readFile(join(out, 'ca.crt'), 'utf8'), built.texts.ca, 'export takes the Secret (source of truth)');
    assert.equal(server.requests.count({ verb: ['create', 'update', 'patch', 'delete'] }), writesBefore, 'read commands never write');
  });

  test('verify -k: check findings of the cluster\'s bundle name the Secret key', async (t) => {
    const { home } = await tempHome(t);
    const expired = await buildBundle({ now: new Date() }, withExpiredIssuer());
    const server = await start(expired.texts);
    const r = await runK(server, home, ['mtls', 'verify', '-k']);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /ERR_ISSUER_EXPIRED/);
    server.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (s) => {
      (s.data as Record<string, string>)['issuer.key'] = Buffer.from('not a key').toString('base64');
    });
    const bad = await runK(server, home, ['mtls', 'verify', '-k']);
    assert.equal(bad.code, 3);
    assert.match(bad.stdout, /Secret dapr-system\/dapr-trust-bundle key issuer\.key/);
  });
});
