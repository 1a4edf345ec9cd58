/**
 * The failures every `-k` command shares, through the built binary: no kubeconfig, no server, a
 * rejected token (401), no rights (403), and usage errors (-k flags without -k, -k where it does
 * not apply) that never reach the cluster.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { assertBuilt, runWarden, tempHome } from '../cli/helpers.js';
import { runK, writeBadTokenKubeconfig, writeUnreachableKubeconfig } from './cli-read-fixtures.js';

before(assertBuilt);

const ENABLED = 'Mutual TLS is enabled in your Kubernetes cluster \n';

describe('-k failures every command shares (binary)', { concurrency: 3 }, () => {
  const servers: KubeApiServer[] = [];
  let dir: string;
  const start = async () => {
    const s = await startKubeApiServer();
    servers.push(s);
    return s;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-k-mtls-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('no cluster reachable: exit 1 quickly; no kubeconfig at all: exit 1 naming where it looked', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    const unreachable = await writeUnreachableKubeconfig(server, dir);
    const started = performance.now();
    const r = await runWarden(['mtls', '-k', '--kubeconfig', unreachable], { home });
    // The refusal itself is reported (ECONNREFUSED below), not the 30 s request timeout; a stopwatch
    // cannot tell more on a loaded machine (starting node alone can take many seconds), so it only bounds a hang.
    assert.ok(performance.now() - started < 120_000, `fails (${Math.round(performance.now() - started)} ms)`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^❌  error checking mTLS: cannot list Configurations .*unreachable.*ECONNREFUSED.*\(ERR_KUBE_UNREACHABLE\)\n$/);
    const none = await runWarden(['mtls', '-k'], { home, env: { KUBECONFIG: '' } });
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`no kubeconfig found \\(looked at ${join(home, '.kube', 'config').replace(/[.]/g, '\\.')}\\).*\\(ERR_KUBE_UNREACHABLE\\)`));
  });

  test('a token the server rejects (401): ERR_KUBE_FORBIDDEN, exit 1; --context picks the good one', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    seedDaprControlPlane(server);
    const kubeconfig = await writeBadTokenKubeconfig(server, dir);
    const bad = await runWarden(['mtls', '-k', '--kubeconfig', kubeconfig], { home });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /401 Unauthorized.*--context \(ERR_KUBE_FORBIDDEN\)/);
    const good = await runWarden(['mtls', '-k', '--kubeconfig', kubeconfig, '--context', 'good'], { home });
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, ENABLED);
    const unknown = await runWarden(['mtls', '-k', '--kubeconfig', kubeconfig, '--context', 'nope'], { home });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--context "nope" is not in the kubeconfig \(contexts: bad, good\)/);
  });

  test('a 403 on the cluster-wide lookup suggests --namespace', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    seedDaprControlPlane(server);
    server.faults.failNext(1, { status: 403, message: 'configurations.dapr.io is forbidden: User "dev" cannot list resource "configurations" at the cluster scope', match: { resource: 'configurations' } });
    const r = await runK(server, home, ['mtls', '-k']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^❌  error checking mTLS: .*cannot list resource "configurations".*403 Forbidden.*pass --namespace.*\(ERR_KUBE_FORBIDDEN\)/);
  });

  test('usage: -k flags without -k, -k with a subcommand that has no Kubernetes mode, extra arguments', async (t) => {
    const { home } = await tempHome(t);
    const server = await start();
    const noK = await runK(server, home, ['mtls', '--context', 'x']);
    assert.equal(noK.code, 2);
    assert.match(noK.stderr, /--context only apply to the cluster's bundle: add -k/);
    const nsNoK = await runK(server, home, ['mtls', 'expiry', '--namespace', 'dapr-system']);
    assert.equal(nsNoK.code, 2);
    assert.match(nsNoK.stderr, /--namespace only apply/);
    const wrongSub = await runK(server, home, ['mtls', '-k', 'request-cert', '--id', 'x']);
    assert.equal(wrongSub.code, 2);
    assert.match(wrongSub.stderr, /-k\/--kubernetes does not apply to 'mtls request-cert'/);
    const extra = await runK(server, home, ['mtls', '-k', 'bogus']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /unknown command 'mtls bogus'/);
    assert.equal(server.requests.count(), 0, 'none of these talked to the cluster');
  });
});
