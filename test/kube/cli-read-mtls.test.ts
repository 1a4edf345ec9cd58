/**
 * `warden mtls -k` through the built binary against the API test server: Dapr's exact status
 * line, an absent field, no Dapr; and self-hosted commands never load the Kubernetes client.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { buildBundle } from '../support/bundles.js';
import { assertBuilt, REPO, tempHome, writeBundle } from '../cli/helpers.js';
import { runK } from './cli-read-fixtures.js';

before(assertBuilt);

const ENABLED = 'Mutual TLS is enabled in your Kubernetes cluster \n';

describe('warden mtls -k (binary)', { concurrency: 3 }, () => {
  const servers: KubeApiServer[] = [];
  const start = async () => {
    const s = await startKubeApiServer();
    servers.push(s);
    return s;
  };
  after(() => Promise.all(servers.map((s) => s.close())));

  test('enabled / disabled exactly as Dapr prints it (space before the newline)', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    seedDaprControlPlane(server, { namespace: 'dapr-on' });
    const on = await runK(server, home, ['mtls', '-k']);
    assert.equal(on.code, 0, on.stderr);
    assert.equal(on.stdout, ENABLED);
    assert.equal(on.stderr, '');
    server.api.mutate('configurations', 'dapr-on', 'daprsystem', (c) => {
      (c.spec as { mtls: { enabled: boolean } }).mtls.enabled = false;
    });
    const off = await runK(server, home, ['mtls', '--kubernetes']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.stdout, 'Mutual TLS is disabled in your Kubernetes cluster \n');
  });

  test('spec.mtls.enabled absent: no crash; says what it means (Dapr\'s default, enabled)', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    seedDaprControlPlane(server, { mtlsEnabled: null });
    const r = await runK(server, home, ['mtls', '-k']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ENABLED}ℹ️  the daprsystem Configuration in dapr-system does not set spec.mtls.enabled; Dapr's default is enabled\n`);
    server.api.mutate('configurations', 'dapr-system', 'daprsystem', (c) => {
      c.spec = {};
    });
    const noMtls = await runK(server, home, ['mtls', '-k']);
    assert.equal(noMtls.code, 0, noMtls.stderr);
    assert.ok(noMtls.stdout.startsWith(ENABLED));
  });

  test('no daprsystem Configuration: Dapr\'s error, exit 1; --namespace looks only there', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    const r = await runK(server, home, ['mtls', '-k']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^❌  error checking mTLS: system configuration not found — no Configuration "daprsystem" in any namespace.*\(ERR_DAPR_NOT_FOUND\)\n$/);
    seedDaprControlPlane(server, { namespace: 'dapr-x', mtlsEnabled: false });
    const elsewhere = await runK(server, home, ['mtls', '-k', '--namespace', 'default']);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /system configuration not found — no Configuration "daprsystem" in namespace default/);
    const there = await runK(server, home, ['mtls', '-k', '--namespace', 'dapr-x']);
    assert.equal(there.stdout, 'Mutual TLS is disabled in your Kubernetes cluster \n');
  });

  test('self-hosted commands never load @kubernetes/client-node; -k commands do', async (t) => {
    const { home, certs } = await tempHome(t);
    await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
    const server = await start();
    seedDaprControlPlane(server);
    // A resolve hook that reports every module the CLI imports from @kubernetes/client-node.
    const hook = 'data:text/javascript,export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes("@kubernetes/client-node")) console.error("LOADED " + s); return r; }';
    const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(hook)});`;
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) => new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', register, join(REPO, 'bin', 'warden.js'), ...args], { cwd: home, env: { ...process.env, HOME: home, KUBECONFIG: server.kubeconfigPath } }, (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      });
    });
    const selfHosted = await run(['mtls', 'expiry']);
    assert.equal(selfHosted.code, 0, selfHosted.stderr);
    assert.match(selfHosted.stdout, /^Root certificate expires in/);
    assert.doesNotMatch(selfHosted.stderr, /LOADED/);
    const kube = await run(['mtls', '-k']);
    assert.equal(kube.code, 0, kube.stderr);
    assert.match(kube.stderr, /LOADED @kubernetes\/client-node/, 'the hook does see the client when it is loaded');
  });
});
