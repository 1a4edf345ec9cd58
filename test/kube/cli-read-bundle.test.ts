/**
 * `warden mtls expiry -k` and `verify -k` through the built binary against the API test server:
 * the cluster's bundle read through KubeTrustBundleStore (text and JSON output).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { buildBundle, type BuiltBundle } from '../support/bundles.js';
import { assertBuilt, goTime, tempHome } from '../cli/helpers.js';
import { runK } from './cli-read-fixtures.js';

before(assertBuilt);

const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function hoursLeft(notAfter: Date): number {
  return Math.trunc((notAfter.getTime() - Date.now()) / 3_600_000);
}

describe('warden mtls expiry|verify -k (binary)', { concurrency: 3 }, () => {
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

  test('expiry -k: Dapr\'s root line and the issuer line from the cluster\'s Secret; -o json', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    const rootNotAfter = built.certs.root!.spec.notAfter;
    const issuerNotAfter = built.certs.issuer!.spec.notAfter;
    const r = await runK(server, home, ['mtls', 'expiry', '-k']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^Root certificate expires in (${hoursLeft(rootNotAfter)}|${hoursLeft(rootNotAfter) - 1}) hours\\. Expiry date: ${esc(goTime(rootNotAfter))}$`));
    assert.match(lines[1]!, new RegExp(`^Issuer certificate expires in \\d+ hours\\. Expiry date: ${esc(goTime(issuerNotAfter))}$`));
    assert.equal(lines.length, 3, 'two lines, nothing else (no banner for a healthy bundle)');
    const json = await runK(server, home, ['mtls', 'expiry', '-k', '-o', 'json']);
    const parsed = JSON.parse(json.stdout) as { root: { notAfter: string }; issuer: { notAfter: string } };
    assert.equal(parsed.root.notAfter, rootNotAfter.toISOString());
    assert.equal(parsed.issuer.notAfter, issuerNotAfter.toISOString());
  });

  test('verify -k: a healthy cluster bundle passes; -o json names the namespace and objects', async (t) => {
    const { home } = await tempHome(t);
    const server = await start(built.texts, { namespace: 'dapr-prod' });
    const r = await runK(server, home, ['mtls', 'verify', '-k']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '✅  Trust bundle in Secret and ConfigMap dapr-prod/dapr-trust-bundle passed all checks\n');
    const json = await runK(server, home, ['mtls', 'verify', '-k', '-o', 'json', '--namespace', 'dapr-prod']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { namespace: 'dapr-prod', secret: 'dapr-trust-bundle', configMap: 'dapr-trust-bundle', ok: true, errors: 0, warnings: 0, findings: [] });
  });
});
