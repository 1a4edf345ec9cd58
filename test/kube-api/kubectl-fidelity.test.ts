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
import { RESTARTED_AT, ROOT_CA_CONFIGMAP, seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
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

describe('kubectl and the simulated Dapr pods and per-namespace ConfigMaps (trust convergence, distribution)', () => {
  let server: KubeApiServer;
  let dir: string;
  let texts: BundleTexts;
  const k = (...args: string[]) => kubectl(server, join(dir, 'cache'), args);

  before(async () => {
    server = await startKubeApiServer({ rolloutDelayMs: ROLLOUT_MS });
    dir = mkdtempSync(join(tmpdir(), 'warden-kubectl-pods-'));
    texts = generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: NS }).bundle.toTexts();
    seedDaprControlPlane(server, { trustBundle: texts, withPods: false });
    seedDaprApps(server, { namespaces: ['env-apps'], count: 1 });
    seedDaprApps(server, { namespaces: ['file-apps'], count: 1, prefix: 'mounted' });
    simulateDaprPods(server, { anchors: ({ namespace }) => (namespace === 'file-apps' ? 'file' : 'env') });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get pods -A -o json: daprd with DAPR_TRUST_ANCHORS (value) or DAPR_TRUST_ANCHORS_FILE and its ConfigMap volume, owners, container start times', async () => {
    const r = await k('get', 'pods', '-A', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const pods = JSON.parse(r.stdout).items as { metadata: { namespace: string; name: string; labels: Record<string, string>; ownerReferences: { kind: string; name: string }[] };
      spec: { containers: { name: string; env?: { name: string; value: string }[]; volumeMounts?: { mountPath: string }[] }[]; volumes?: { configMap?: { name: string } }[] };
      status: { phase: string; containerStatuses: { name: string; state: { running: { startedAt: string } } }[] } }[];
    const env = pods.find((p) => p.metadata.namespace === 'env-apps')!;
    const daprd = env.spec.containers.find((c) => c.name === 'daprd')!;
    assert.equal(daprd.env?.find((e) => e.name === 'DAPR_TRUST_ANCHORS')?.value, texts.ca);
    assert.equal(env.metadata.ownerReferences[0]?.kind, 'ReplicaSet');
    assert.equal(env.metadata.ownerReferences[0]?.name, `app-0-${env.metadata.labels['pod-template-hash']}`);
    assert.match(env.status.containerStatuses.find((c) => c.name === 'daprd')!.state.running.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const file = pods.find((p) => p.metadata.namespace === 'file-apps')!;
    const fileDaprd = file.spec.containers.find((c) => c.name === 'daprd')!;
    assert.equal(fileDaprd.env?.find((e) => e.name === 'DAPR_TRUST_ANCHORS_FILE')?.value, '/var/run/secrets/dapr.io/root-ca/ca.crt');
    assert.ok(file.spec.volumes?.some((v) => v.configMap?.name === ROOT_CA_CONFIGMAP));
    const cp = pods.filter((p) => p.metadata.namespace === NS);
    assert.equal(cp.length, 5, 'one pod per control-plane workload');
    const jsonpath = await k('get', 'pods', '-n', 'env-apps', '-o', 'jsonpath={.items[*].spec.containers[?(@.name=="daprd")].env[?(@.name=="DAPR_TRUST_ANCHORS")].value}');
    assert.equal(jsonpath.stdout, texts.ca);
  });

  it('label and field selectors as the real server allows them (no annotation selector); paged lists', async () => {
    const byLabel = await k('get', 'pods', '-A', '-l', 'pod-template-hash', '-o', 'name');
    assert.equal(byLabel.code, 0, byLabel.stderr);
    assert.equal(byLabel.stdout.trim().split('\n').length, 5, 'the Deployments\' pods: 2 apps + sentry, operator, injector');
    const running = await k('get', 'pods', '-A', '--field-selector', 'status.phase=Running', '-o', 'name', '--chunk-size=2');
    assert.equal(running.stdout.trim().split('\n').length, 7);
    const annotation = await k('get', 'pods', '-A', '--field-selector', 'metadata.annotations.dapr.io/enabled=true');
    assert.equal(annotation.code, 1);
    assert.match(annotation.stderr, /field label not supported: metadata\.annotations\.dapr\.io\/enabled/);
  });

  it('dapr-root-ca.crt across namespaces: create, list -A by name, a stale replace is a conflict', async () => {
    // `kubectl create configmap` sends protobuf and `-f` validates against OpenAPI, neither of which this server serves.
    for (const ns of ['env-apps', 'file-apps']) {
      const manifest = join(dir, `${ns}.json`);
      writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns }, data: { 'ca.crt': texts.ca } }));
      const created = await k('create', '--validate=false', '-f', manifest);
      assert.equal(created.code, 0, created.stderr);
    }
    const listed = await k('get', 'configmaps', '-A', '--field-selector', `metadata.name=${ROOT_CA_CONFIGMAP}`, '-o', 'json');
    const items = JSON.parse(listed.stdout).items as { metadata: { namespace: string; resourceVersion: string }; data: Record<string, string> }[];
    assert.deepEqual(items.map((i) => i.metadata.namespace).sort(), ['env-apps', 'file-apps']);
    assert.ok(items.every((i) => i.data['ca.crt'] === texts.ca));
    const stale = items.find((i) => i.metadata.namespace === 'env-apps')!;
    server.api.mutate('configmaps', 'env-apps', ROOT_CA_CONFIGMAP, (cm) => { (cm.data as Record<string, string>).touched = 'yes'; });
    const file = join(dir, 'stale.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, namespace: 'env-apps', resourceVersion: stale.metadata.resourceVersion }, data: { 'ca.crt': 'x' } }));
    const replaced = await k('replace', '--validate=false', '-f', file);
    assert.equal(replaced.code, 1);
    assert.match(replaced.stderr, /Operation cannot be fulfilled on configmaps "dapr-root-ca\.crt": the object has been modified/);
  });
});
