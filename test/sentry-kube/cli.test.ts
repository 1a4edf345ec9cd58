/**
 * `warden sentry --mode kubernetes` through the CLI: spawned as a process with a generated
 * kubeconfig (serves, issues, exits 0 on SIGTERM); and in-process for `$KUBECONFIG` with
 * `--context`, and the exit codes of a missing Secret (1) and an unknown context (2).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { defaultDeps, type CliDeps } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { buildBundle } from '../support/bundles.js';
import { freePorts } from '../support/free-ports.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { connectSentry } from '../support/sentry-client.js';
import { NS, OUTSIDE_POD_RESOLV_CONF, SENTRY_ID, TD, kubeRequest, leafUris, podToken, secretTexts, startCluster, waitFor } from './harness.js';

// The in-process runs log with the default logger: keep the test output readable.
process.env['WARDEN_LOG_LEVEL'] = 'silent';
const REPO = join(import.meta.dirname, '../..');
const MAIN = pathToFileURL(join(REPO, 'src/cli/main.ts')).href;

async function healthStatus(port: number): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })).status;
  } catch {
    return undefined;
  }
}

describe('warden sentry --mode kubernetes (CLI)', () => {
  let server: KubeApiServer;
  let dir: string;

  before(async () => {
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: texts }, ['elsewhere']);
    dir = mkdtempSync(join(tmpdir(), 'warden-sentry-kube-cli-'));
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('spawned with --kubeconfig: serves, issues for a pod\'s token, exits 0 on SIGTERM', async (t) => {
    const [port, healthzPort] = await freePorts(2);
    const env: Record<string, string | undefined> = { ...process.env, NAMESPACE: NS, HOME: dir, WARDEN_LOG_LEVEL: 'info', WARDEN_RESOLV_CONF: OUTSIDE_POD_RESOLV_CONF };
    delete env['KUBECONFIG'];
    const child = spawn(process.execPath, [
      '--import', 'tsx', '--input-type=module', '-e',
      `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`,
      'sentry', '--mode', 'kubernetes', '--kubeconfig', server.kubeconfigPath, '--trust-domain', TD,
      '--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort),
      '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false',
    ], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] }); // cwd: where tsx resolves
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

    await waitFor('the spawned sentry to be healthy', async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      return (await healthStatus(healthzPort)) === 200;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    const client = connectSentry({ address: `127.0.0.1:${port}`, anchorsPem: secretTexts(server).ca, expectedId: SENTRY_ID });
    try {
      const res = await client.sign(kubeRequest('cli-app', podToken(server, { pod: 'cli-app', annotations: { 'dapr.io/app-id': 'cli-app' } })));
      assert.deepEqual(leafUris(res.workload_certificate), ['spiffe://public/ns/default/cli-app']);
    } finally {
      client.close();
    }
    assert.match(output, /Kubernetes mode: trust bundle in Secret and ConfigMap dapr-system\/dapr-trust-bundle/);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref())]);
    assert.equal(code, 0, output);
  });

  it('$KUBECONFIG and --context select the cluster (in-process); a bad context is a usage error (exit 2)', async () => {
    const kubeconfig = join(dir, 'two-contexts');
    writeFileSync(kubeconfig, server.kubeconfigWith([{ name: 'stale', token: 'wrong-token' }, { name: 'good' }], 'stale'), { mode: 0o600 });
    let shutdown: (signal: string) => void = () => {};
    let started: () => void = () => {};
    const running = new Promise<void>((r) => (started = r));
    const deps: CliDeps = {
      ...defaultDeps(),
      waitForShutdown: () => {
        started();
        return new Promise((r) => (shutdown = r));
      },
    };
    const io = captureIo({ env: { NAMESPACE: NS, HOME: dir, KUBECONFIG: kubeconfig, WARDEN_RESOLV_CONF: OUTSIDE_POD_RESOLV_CONF }, cwd: dir });
    const args = ['sentry', '--mode', 'kubernetes', '--context', 'good', '--trust-domain', TD, '--port', '0', '--listen-address', '127.0.0.1',
      '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false'];
    const exit = main(args, io, deps);
    await Promise.race([running, exit.then(() => assert.fail(`exited early: ${io.stderrText()}`))]);
    shutdown('SIGTERM');
    assert.equal(await exit, 0, io.stderrText());

    const bad = captureIo({ env: { NAMESPACE: NS, HOME: dir, KUBECONFIG: kubeconfig }, cwd: dir });
    assert.equal(await main(['sentry', '--mode', 'kubernetes', '--context', 'nope', '--port', '0', '--healthz-port', '0', '--enable-metrics=false'], bad, deps), 2);
    assert.match(bad.stderrText(), /--context "nope" is not in the kubeconfig.*\(ERR_USAGE\)/);
  });

  it('a namespace without the trust-bundle objects: exit 1 naming them', async () => {
    const io = captureIo({ env: { NAMESPACE: 'elsewhere', HOME: dir }, cwd: dir });
    const code = await main(['sentry', '--mode', 'kubernetes', '--kubeconfig', server.kubeconfigPath, '--port', '0', '--healthz-port', '0', '--enable-metrics=false'], io, defaultDeps());
    assert.equal(code, 1);
    assert.match(io.stderrText(), /^❌  Secret elsewhere\/dapr-trust-bundle and ConfigMap elsewhere\/dapr-trust-bundle do not exist; warden sentry reads the trust bundle from them and never creates them\. [^]*\(ERR_KUBE_NOT_FOUND\)\n$/);
  });
});
