/**
 * Fidelity of the Kubernetes API test server, proven with the real kubectl (design §5): if these
 * pass, kubectl cannot tell the server from a cluster for the commands Warden and the Dapr CLI run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { RESTARTED_AT, seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { kubectl } from './http.js';

const NS = 'dapr-system';
const ROLLOUT_MS = 200;

async function until(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('kubectl against the Kubernetes API test server', () => {
  let server: KubeApiServer;
  let dir: string;
  let texts: BundleTexts;
  const k = (...args: string[]) => kubectl(server, join(dir, 'cache'), args);

  before(async () => {
    server = await startKubeApiServer({ rolloutDelayMs: ROLLOUT_MS });
    dir = mkdtempSync(join(tmpdir(), 'warden-kubectl-'));
    texts = generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: NS }).bundle.toTexts();
    seedDaprControlPlane(server, { trustBundle: texts });
    seedDaprApps(server, { namespaces: ['apps'], count: 1, kinds: ['daemonsets'] });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get secret -o json returns the trust bundle Secret with its base64 data', async () => {
    const r = await k('get', 'secret', 'dapr-trust-bundle', '-n', NS, '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const secret = JSON.parse(r.stdout);
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.apiVersion, 'v1');
    assert.equal(secret.metadata.labels.app, 'dapr-sentry');
    assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), texts.ca);
    assert.equal(Buffer.from(secret.data['issuer.crt'], 'base64').toString(), texts.issuerCert);
    assert.equal(Buffer.from(secret.data['issuer.key'], 'base64').toString(), texts.issuerKey);
    assert.equal(secret.metadata.resourceVersion, server.api.get('secrets', NS, 'dapr-trust-bundle').metadata.resourceVersion);
  });

  it('get configmap prints ca.crt byte-identical to the Secret', async () => {
    const r = await k('get', 'configmap', 'dapr-trust-bundle', '-n', NS, '-o', 'jsonpath={.data.ca\\.crt}');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, texts.ca);
  });

  it('get deploy -A and get configurations.dapr.io -A list the control plane', async () => {
    const [table, json, configs] = await Promise.all([
      k('get', 'deploy', '-A'), k('get', 'deploy', '-A', '-o', 'json'), k('get', 'configurations.dapr.io', '-A', '-o', 'json'),
    ]);
    assert.equal(table.code, 0, table.stderr);
    for (const name of ['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector']) assert.match(table.stdout, new RegExp(`${NS}\\s+${name}\\s`));
    const list = JSON.parse(json.stdout);
    assert.deepEqual(list.items.map((d: { metadata: { name: string } }) => d.metadata.name).sort(), ['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector']);
    assert.equal(configs.code, 0, configs.stderr);
    const [config] = JSON.parse(configs.stdout).items;
    assert.equal(config.metadata.name, 'daprsystem');
    assert.equal(config.spec.mtls.enabled, true);
    assert.equal(config.spec.mtls.controlPlaneTrustDomain, 'cluster.local');
  });

  it('label selectors, NotFound and Unauthorized read exactly as from a real cluster', async () => {
    const bad = join(dir, 'bad-kubeconfig');
    writeFileSync(bad, server.kubeconfigWith([{ name: 'bad', token: 'not-the-token' }]));
    const [selected, missing, refused] = await Promise.all([
      k('get', 'secrets,configmaps', '-A', '-l', 'app in (dapr-sentry),app.kubernetes.io/part-of=dapr', '-o', 'name'),
      k('get', 'secret', 'nope', '-n', NS),
      kubectl(server, join(dir, 'cache'), ['--kubeconfig', bad, 'get', 'ns']),
    ]);
    assert.equal(selected.code, 0, selected.stderr);
    assert.deepEqual(selected.stdout.trim().split('\n').sort(), ['configmap/dapr-trust-bundle', 'secret/dapr-trust-bundle']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'Error from server (NotFound): secrets "nope" not found');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /You must be logged in to the server \(Unauthorized\)/);
  });

  it('annotate, JSON and merge patches, delete: the write paths kubectl uses', async () => {
    server.api.create('secrets', 'apps', { metadata: { name: 'scratch' }, stringData: { a: 'b' } });
    const results = await Promise.all([
      k('annotate', 'secret', 'scratch', '-n', 'apps', 'warden.dev/note=x'),
      k('patch', 'secret', 'scratch', '-n', 'apps', '--type=json', '-p', '[{"op":"add","path":"/data/c","value":"Yw=="}]'),
      k('patch', 'secret', 'scratch', '-n', 'apps', '--type=merge', '-p', '{"data":{"a":null}}'),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const s = server.api.get('secrets', 'apps', 'scratch');
    assert.deepEqual(s.data, { c: 'Yw==' });
    assert.equal(s.metadata.annotations?.['warden.dev/note'], 'x');
    assert.deepEqual(server.requests.filter({ verb: 'patch', name: 'scratch' }).map((r) => r.contentType).sort(),
      ['application/json-patch+json', 'application/merge-patch+json', 'application/merge-patch+json']);
    const del = await k('delete', 'secret', 'scratch', '-n', 'apps');
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout.trim(), 'secret "scratch" deleted');
    assert.equal(server.api.find('secrets', 'apps', 'scratch'), undefined);
  });

  for (const { kind, resource, name, ns, done } of [
    { kind: 'deploy', resource: 'deployments', name: 'dapr-sentry', ns: NS, done: 'deployment "dapr-sentry" successfully rolled out' },
    { kind: 'sts', resource: 'statefulsets', name: 'dapr-placement-server', ns: NS, done: 'partitioned roll out complete: 1 new pods have been updated...' },
    { kind: 'ds', resource: 'daemonsets', name: 'app-0', ns: 'apps', done: 'daemon set "app-0" successfully rolled out' },
  ]) {
    it(`rollout restart ${kind}/${name} then rollout status follows it to completion, and the restart is recorded`, async () => {
      const ref = { resource, namespace: ns, name };
      const before = server.api.get(resource, ns, name);
      // Hold the rollout until kubectl is watching, so it must follow the stages through its watch.
      server.rollout.configure(ref, { outcome: 'hang' });
      const restart = await k('rollout', 'restart', `${kind}/${name}`, '-n', ns);
      assert.equal(restart.code, 0, restart.stderr);
      assert.match(restart.stdout, new RegExp(`${name} restarted`));
      const watching = () => server.requests.filter({ verb: 'watch', resource, namespace: ns }).some((r) => r.query.fieldSelector === `metadata.name=${name}`);
      const statusRun = k('rollout', 'status', `${kind}/${name}`, '-n', ns, '--timeout=120s');
      await until(watching);
      server.rollout.configure(ref, { outcome: 'succeed', delayMs: ROLLOUT_MS });
      const status = await statusRun;
      assert.equal(status.code, 0, status.stderr);
      const lines = status.stdout.trim().split('\n');
      assert.match(lines[0]!, /^Waiting for .*spec update to be observed\.\.\.$/);
      assert.ok(lines.slice(1, -1).some((l) => /^Waiting for /.test(l) && !/spec update/.test(l)), `a progress line: ${status.stdout}`);
      assert.equal(lines[lines.length - 1], done);

      const after = server.api.get(resource, ns, name);
      assert.equal(after.metadata.generation, before.metadata.generation! + 1);
      assert.equal((after.status as { observedGeneration: number }).observedGeneration, after.metadata.generation);
      const annotation = (after.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations[RESTARTED_AT];
      const restarts = server.rollout.restarts.filter((e) => e.name === name);
      assert.equal(restarts.length, 1);
      assert.equal(restarts[0]!.restartedAt, annotation);
      const completed = server.rollout.events.find((e) => e.type === 'completed' && e.name === name && e.generation === after.metadata.generation);
      assert.ok(completed && completed.seq > restarts[0]!.seq);
      const patch = server.requests.filter({ verb: 'patch', name }).at(-1);
      assert.equal(patch?.contentType, 'application/strategic-merge-patch+json');
    });
  }

  it('a rollout told to fail makes rollout status exit non-zero with the progress-deadline error', async () => {
    server.rollout.configure({ resource: 'deployments', namespace: NS, name: 'dapr-operator' }, { outcome: 'fail', delayMs: 300 });
    assert.equal((await k('rollout', 'restart', 'deploy/dapr-operator', '-n', NS)).code, 0);
    const status = await k('rollout', 'status', 'deploy/dapr-operator', '-n', NS, '--timeout=120s');
    assert.equal(status.code, 1);
    assert.match(status.stderr, /error: deployment "dapr-operator" exceeded its progress deadline/);
  });

  it('a hanging rollout makes rollout status time out', async () => {
    server.rollout.configure({ resource: 'deployments', namespace: NS, name: 'dapr-sidecar-injector' }, { outcome: 'hang' });
    assert.equal((await k('rollout', 'restart', 'deploy/dapr-sidecar-injector', '-n', NS)).code, 0);
    const status = await k('rollout', 'status', 'deploy/dapr-sidecar-injector', '-n', NS, '--timeout=1s');
    assert.equal(status.code, 1);
    assert.match(status.stdout, /Waiting for deployment spec update to be observed/);
    assert.match(status.stderr, /timed out waiting for the condition/);
  });

  it('injected 500s and conflicts reach kubectl as real Status errors', async () => {
    server.faults.failNext(1, { match: { verb: 'get', resource: 'secrets' } });
    const failed = await k('get', 'secret', 'dapr-trust-bundle', '-n', NS);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr.trim(), 'Error from server (InternalError): Internal error occurred: injected fault');
    server.faults.conflictNext(1, { resource: 'statefulsets', namespace: NS, name: 'dapr-scheduler-server' });
    const conflicted = await k('rollout', 'restart', 'sts/dapr-scheduler-server', '-n', NS);
    assert.equal(conflicted.code, 1);
    assert.match(conflicted.stderr, /Operation cannot be fulfilled on statefulsets\.apps "dapr-scheduler-server": the object has been modified; please apply your changes to the latest version and try again/);
    assert.equal(server.rollout.restarts.filter((e) => e.name === 'dapr-scheduler-server').length, 0);
  });
});
