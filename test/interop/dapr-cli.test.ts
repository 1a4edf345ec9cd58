/**
 * The real `dapr` CLI against the Kubernetes API test server (issue 9), as kubectl is in
 * test/kube-api/kubectl-fidelity.test.ts: it reads the trust bundle `warden mtls renew-certificate
 * -k` wrote (`dapr mtls -k`, `dapr mtls expiry`, `dapr mtls export`) and prints what `warden mtls
 * … -k` prints. Needs DAPR_CLI (skipped, saying so, without it).
 *
 * Not covered, because it cannot run here: `dapr mtls renew-certificate -k` renews through
 * `helm upgrade` of the Dapr release (a chart download from the Helm repository and a release
 * stored in the cluster), which the test API server does not host; the last test pins that it
 * fails before writing anything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { warden } from '../e2e/fixtures/mesh.js';
import { buildBundle } from '../support/bundles.js';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { binary, skipUnless } from './support/binaries.js';

const skip = skipUnless('DAPR_CLI');
const NS = 'dapr-system';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const text = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('utf8');

describe('the real dapr CLI reads the bundle warden wrote to the cluster, and both print the same', { skip }, () => {
  let server: KubeApiServer;
  let home: string;
  let env: Record<string, string>;
  const dapr = (...args: string[]): Promise<Run> => run(binary('DAPR_CLI'), args, env);
  const wardenK = (...args: string[]) => warden([...args, '--kubeconfig', server.kubeconfigPath]);
  const secretData = (): Record<string, string> => (server.api.get('secrets', NS, 'dapr-trust-bundle').data ?? {}) as Record<string, string>;

  before(async () => {
    server = await startKubeApiServer();
    home = mkdtempSync(join(tmpdir(), 'warden-interop-cli-'));
    env = { HOME: home, KUBECONFIG: server.kubeconfigPath };
    const old = await buildBundle({ now: new Date(), trustDomain: 'cluster.local', namespace: NS });
    seedDaprControlPlane(server, { trustBundle: old.texts, version: '1.18.3' });
    // Warden writes the bundle the dapr CLI then reads: 10 days, so Dapr's expiry banner shows too.
    const renewed = await wardenK('mtls', 'renew-certificate', '-k', '--valid-until', '10');
    assert.equal(renewed.code, 0, `${renewed.stdout}${renewed.stderr}`);
    assert.notEqual(text(secretData()['ca.crt']), old.texts.ca, 'warden did not replace the bundle');
  });

  after(async () => {
    await server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('`dapr mtls -k` and `warden mtls -k`: the same status line and the same expiry banner', async (t) => {
    const [d, w] = await Promise.all([dapr('mtls', '-k'), wardenK('mtls', '-k')]);
    t.diagnostic(`dapr mtls -k: ${JSON.stringify(d.stdout)}`);
    t.diagnostic(`warden mtls -k: ${JSON.stringify(w.stdout)}`);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(w.code, 0, w.stderr);
    assert.match(d.stdout, /^Mutual TLS is enabled in your Kubernetes cluster \n/);
    assert.match(d.stdout, /Dapr root certificate of your Kubernetes cluster expires in 9 days\./);
    // Warden prints the issuer's banner too (Dapr looks at the root only): compare the lines Dapr prints.
    const daprLines = d.stdout.split('\n').filter((l) => l !== '');
    const wardenLines = w.stdout.split('\n').filter((l) => l !== '');
    for (const line of daprLines) assert.ok(wardenLines.includes(line), `warden did not print Dapr's line ${JSON.stringify(line)}:\n${w.stdout}`);
  });

  it('`dapr mtls expiry` reads the root warden wrote: the same line as `warden mtls expiry -k`', async () => {
    const [d, w] = await Promise.all([dapr('mtls', 'expiry'), wardenK('mtls', 'expiry', '-k')]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(w.code, 0, w.stderr);
    const root = parseCertificatesPem(text(secretData()['ca.crt']))[0]!;
    const goDate = root.notAfter.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' +0000 UTC');
    // Dapr prints no newline after the date; hours are whole hours left, truncated.
    assert.match(d.stdout, /^Root certificate expires in \d+ hours\. Expiry date: /);
    assert.equal(d.stdout.replace(/^.*Expiry date: /, ''), goDate);
    assert.equal(w.stdout.split('\n')[0], d.stdout, 'warden\'s first line is Dapr\'s, byte for byte');
  });

  it('`dapr mtls export` writes warden\'s bundle byte for byte, which `warden mtls verify` then passes', async (t) => {
    const out = join(home, 'exported-by-dapr');
    const d = await dapr('mtls', 'export', '-o', out);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /Trust certs successfully exported to /);
    const data = secretData();
    for (const [file, key] of [['ca.crt', 'ca.crt'], ['issuer.crt', 'issuer.crt'], ['issuer.key', 'issuer.key']] as const) {
      assert.equal(readFileSync(join(out, file), 'utf8'), text(data[key]), `${file} differs from the Secret`);
      assert.equal(statSync(join(out, file)).mode & 0o777, 0o600, `${file} mode`);
    }
    const verify = await warden(['mtls', 'verify', '--issuer-credentials', out]);
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    const wardenOut = join(home, 'exported-by-warden');
    const w = await wardenK('mtls', 'export', '-k', '-o', wardenOut);
    assert.equal(w.code, 0, w.stderr);
    for (const file of ['ca.crt', 'issuer.crt', 'issuer.key']) {
      assert.equal(readFileSync(join(wardenOut, file), 'utf8'), readFileSync(join(out, file), 'utf8'), `${file}: warden and dapr export differ`);
    }
    // The one difference: a directory Dapr creates is 0755, Warden's 0700 (it holds issuer.key).
    t.diagnostic(`new export directory mode: dapr ${(statSync(out).mode & 0o777).toString(8)}, warden ${(statSync(wardenOut).mode & 0o777).toString(8)}`);
    assert.equal(statSync(wardenOut).mode & 0o777, 0o700);
  });

  it('`dapr mtls renew-certificate -k` cannot run here (it is a helm upgrade) and changes nothing in the cluster', async (t) => {
    const before = JSON.stringify(secretData());
    // A Helm repository address on loopback that nothing serves: the chart download fails there,
    // never on the network.
    const d = await run(binary('DAPR_CLI'), ['mtls', 'renew-certificate', '-k', '--valid-until', '30'],
      { ...env, DAPR_HELM_REPO_URL: 'http://127.0.0.1:9/charts' });
    assert.notEqual(d.code, 0, `dapr renew-certificate -k unexpectedly succeeded:\n${d.stdout}${d.stderr}`);
    t.diagnostic(`dapr mtls renew-certificate -k (exit ${d.code}): ${JSON.stringify(`${d.stdout}${d.stderr}`.slice(-600))}`);
    assert.equal(JSON.stringify(secretData()), before, 'the Secret changed');
  });
});
