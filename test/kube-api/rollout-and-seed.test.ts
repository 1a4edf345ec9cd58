/** The rollout controller's stages, outcomes and restart log, and the Dapr seeding helpers. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rolloutVerdict, type WorkloadLike } from '../../src/kube/rollout-status.js';
import {
  ManualServerClock, RESTARTED_AT, seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer, type KubeObject, type ServerTimers,
} from '../support/kube-api/index.js';
import { call } from './http.js';

const NS = 'dapr-system';
const statusOf = (o: KubeObject) => (o.status ?? {}) as Record<string, unknown>;

function restart(server: KubeApiServer, resource: string, name: string, at: string, namespace = NS): KubeObject {
  return server.api.patch(resource, namespace, name, 'application/strategic-merge-patch+json',
    { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: at } } } } });
}

describe('rollout controller', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer({ rolloutDelayMs: 80 });
    seedDaprControlPlane(server);
  });
  after(() => server.close());

  it('moves a restarted deployment through observed → progressing → complete, logging each step in order', async () => {
    const before = server.api.get('deployments', NS, 'dapr-sentry');
    const patched = restart(server, 'deployments', 'dapr-sentry', '2026-01-01T00:00:00Z');
    assert.equal(patched.metadata.generation, before.metadata.generation! + 1);
    assert.equal(statusOf(patched).observedGeneration, before.metadata.generation, 'not observed synchronously');
    const generation = patched.metadata.generation!;
    const started = await server.rollout.waitFor({ type: 'started', name: 'dapr-sentry', generation });
    const mid = server.api.get('deployments', NS, 'dapr-sentry');
    assert.equal(statusOf(mid).observedGeneration, patched.metadata.generation);
    assert.equal(statusOf(mid).replicas, 2, 'old and new pod while rolling');
    const completed = await server.rollout.waitFor({ type: 'completed', name: 'dapr-sentry', namespace: NS, resource: 'deployments', generation });
    const done = server.api.get('deployments', NS, 'dapr-sentry');
    assert.deepEqual({ ...statusOf(done), conditions: undefined }, {
      observedGeneration: patched.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: undefined,
    });
    const conditions = statusOf(done).conditions as { type: string; status: string; reason: string }[];
    assert.deepEqual(conditions.map((c) => [c.type, c.status, c.reason]), [['Available', 'True', 'MinimumReplicasAvailable'], ['Progressing', 'True', 'NewReplicaSetAvailable']]);
    const restarted = server.rollout.restarts.find((e) => e.name === 'dapr-sentry')!;
    assert.equal(restarted.restartedAt, '2026-01-01T00:00:00Z');
    assert.ok(restarted.seq < started.seq && started.seq < completed.seq);
    assert.ok(Number(done.metadata.resourceVersion) > Number(patched.metadata.resourceVersion), 'status writes bump the resourceVersion');
  });

  it('status writes race with clients exactly as in a cluster: a PUT from before them conflicts', async () => {
    const read = server.api.get('deployments', NS, 'dapr-operator');
    const { generation } = restart(server, 'deployments', 'dapr-operator', '2026-01-01T00:00:01Z').metadata;
    await server.rollout.waitFor({ type: 'completed', name: 'dapr-operator', generation });
    const r = await call(server, 'PUT', `/apis/apps/v1/namespaces/${NS}/deployments/dapr-operator`, { body: read });
    assert.equal(r.status, 409);
  });

  it('failed rollouts: deployments report ProgressDeadlineExceeded, statefulsets stay short of ready', async () => {
    server.rollout.configure({ resource: 'deployments', namespace: NS, name: 'dapr-operator' }, { outcome: 'fail' });
    restart(server, 'deployments', 'dapr-operator', '2026-01-01T00:00:04Z');
    await server.rollout.waitFor({ type: 'failed', name: 'dapr-operator' });
    const progressing = (statusOf(server.api.get('deployments', NS, 'dapr-operator')).conditions as { type: string; status: string; reason: string }[])
      .find((c) => c.type === 'Progressing');
    assert.deepEqual([progressing?.status, progressing?.reason], ['False', 'ProgressDeadlineExceeded']);

    server.rollout.configure({ resource: 'statefulsets', namespace: NS, name: 'dapr-placement-server' }, { outcome: 'fail' });
    const sts = restart(server, 'statefulsets', 'dapr-placement-server', '2026-01-01T00:00:05Z');
    await server.rollout.waitFor({ type: 'failed', name: 'dapr-placement-server' });
    const status = statusOf(server.api.get('statefulsets', NS, 'dapr-placement-server'));
    assert.equal(status.observedGeneration, sts.metadata.generation);
    assert.equal(status.readyReplicas, undefined, 'zero ready (omitted, as omitempty)');
    assert.notEqual(status.currentRevision, status.updateRevision);
  });

  it('restart order is inspectable: one workload completes before the next restarts', async () => {
    const fresh = await startKubeApiServer({ rolloutDelayMs: 40 });
    try {
      seedDaprControlPlane(fresh);
      restart(fresh, 'deployments', 'dapr-sentry', 't1');
      await fresh.rollout.waitFor({ type: 'completed', name: 'dapr-sentry', resource: 'deployments', namespace: NS, generation: 2 });
      for (const name of ['dapr-operator', 'dapr-sidecar-injector']) restart(fresh, 'deployments', name, 't2');
      await Promise.all(['dapr-operator', 'dapr-sidecar-injector'].map((name) => fresh.rollout.waitFor({ type: 'completed', name, generation: 2 })));
      const seq = (type: string, name: string) => fresh.rollout.events.find((e) => e.type === type && e.name === name && e.generation === 2)!.seq;
      assert.ok(seq('completed', 'dapr-sentry') < seq('restarted', 'dapr-operator'));
      assert.ok(seq('completed', 'dapr-sentry') < seq('restarted', 'dapr-sidecar-injector'));
      assert.deepEqual(fresh.rollout.restarts.map((e) => e.name), ['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector']);
      await assert.rejects(fresh.rollout.waitFor({ type: 'completed', name: 'dapr-nothing' }, 50), /no rollout event matching/);
    } finally {
      await fresh.close();
    }
  });
});

/** Timers as a badly loaded event loop runs them: nothing until `flush`, then every due callback in one turn, newest first. */
class LateTimers implements ServerTimers {
  private queue: (() => void)[] = [];
  after(_ms: number, fn: () => void): () => void {
    this.queue.push(fn);
    return () => {
      this.queue = this.queue.filter((f) => f !== fn);
    };
  }

  flush(): void {
    for (let turns = 0; this.queue.length > 0 && turns < 100; turns++) {
      const due = this.queue.reverse();
      this.queue = [];
      for (const fn of due) fn();
    }
  }
}

/** kubectl's verdict (the product's copy of rollout_status.go) on a workload as stored. */
const verdictOf = (server: KubeApiServer, resource: string, name: string) =>
  rolloutVerdict(resource === 'deployments' ? 'Deployment' : 'StatefulSet', server.api.get(resource, NS, name) as WorkloadLike);

describe('rollout controller on the server clock (no real waiting)', () => {
  let server: KubeApiServer;
  let clock: ManualServerClock;
  before(async () => {
    clock = new ManualServerClock(new Date('2026-03-01T00:00:00Z'));
    server = await startKubeApiServer({ clock, rolloutDelayMs: 100 });
    seedDaprControlPlane(server);
  });
  after(() => server.close());

  it('a rollout takes rolloutDelayMs of the server clock: observed after 20 ms, complete at 100 ms, not a tick earlier', () => {
    const t0 = clock.now().getTime();
    const { generation } = restart(server, 'deployments', 'dapr-sentry', 'm1').metadata;
    clock.advance(19);
    assert.equal(verdictOf(server, 'deployments', 'dapr-sentry').message, 'Waiting for deployment spec update to be observed...');
    clock.advance(1);
    assert.equal(verdictOf(server, 'deployments', 'dapr-sentry').message, 'Waiting for deployment "dapr-sentry" rollout to finish: 1 old replicas are pending termination...');
    clock.advance(79);
    assert.equal(verdictOf(server, 'deployments', 'dapr-sentry').done, false);
    clock.advance(1);
    assert.equal(verdictOf(server, 'deployments', 'dapr-sentry').message, 'deployment "dapr-sentry" successfully rolled out');
    const log = server.rollout.events.filter((e) => e.name === 'dapr-sentry' && e.generation === generation);
    assert.deepEqual(log.map((e) => [e.type, e.at - t0]), [['restarted', 0], ['started', 20], ['completed', 100]]);
    assert.equal(clock.pending, 0, 'nothing left scheduled');
  });

  it('label-only changes start no rollout; per-workload delays apply', () => {
    const events = server.rollout.events.length;
    server.api.patch('deployments', NS, 'dapr-sidecar-injector', 'application/merge-patch+json', { metadata: { labels: { extra: 'x' } } });
    clock.advance(60_000);
    assert.equal(server.rollout.events.length, events);
    server.rollout.configure({ resource: 'deploy', namespace: NS, name: 'dapr-sidecar-injector' }, { delayMs: 400 });
    restart(server, 'deployments', 'dapr-sidecar-injector', 'm2');
    clock.advance(399);
    assert.equal(verdictOf(server, 'deployments', 'dapr-sidecar-injector').done, false);
    clock.advance(1);
    assert.equal(verdictOf(server, 'deployments', 'dapr-sidecar-injector').done, true);
  });

  it('a hanging rollout is never observed until told to proceed', () => {
    const ref = { resource: 'statefulsets', namespace: NS, name: 'dapr-scheduler-server' };
    server.rollout.configure(ref, { outcome: 'hang' });
    const patched = restart(server, 'statefulsets', 'dapr-scheduler-server', 'm3');
    clock.advance(3_600_000);
    assert.notEqual(statusOf(server.api.get('statefulsets', NS, 'dapr-scheduler-server')).observedGeneration, patched.metadata.generation);
    server.rollout.configure(ref, { outcome: 'succeed' });
    clock.advance(100);
    const sts = statusOf(server.api.get('statefulsets', NS, 'dapr-scheduler-server'));
    assert.equal(sts.observedGeneration, patched.metadata.generation);
    assert.equal(sts.currentRevision, sts.updateRevision);
    assert.equal(sts.readyReplicas, 1);
    assert.equal(verdictOf(server, 'statefulsets', 'dapr-scheduler-server').done, true);
  });

  it('a restart that supersedes one in flight: the newer generation rolls out completely, the superseded one never completes', () => {
    for (const [resource, name] of [['deployments', 'dapr-operator'], ['statefulsets', 'dapr-placement-server']] as const) {
      const first = restart(server, resource, name, `${name}-a`).metadata.generation!;
      clock.advance(50); // observed and progressing
      const second = restart(server, resource, name, `${name}-b`).metadata.generation!;
      assert.equal(second, first + 1);
      clock.advance(60); // past the first rollout's completion time
      assert.equal(server.rollout.events.some((e) => e.name === name && e.type === 'completed' && e.generation === first), false, 'the superseded rollout does not complete');
      assert.equal(statusOf(server.api.get(resource, NS, name)).observedGeneration, second);
      assert.equal(verdictOf(server, resource, name).done, false);
      clock.advance(40);
      assert.equal(verdictOf(server, resource, name).done, true, verdictOf(server, resource, name).message);
      // Superseded before it was even observed: only the newest generation is.
      const third = restart(server, resource, name, `${name}-c`).metadata.generation!;
      clock.advance(5);
      const fourth = restart(server, resource, name, `${name}-d`).metadata.generation!;
      clock.advance(1000);
      const log = server.rollout.events.filter((e) => e.name === name && e.type !== 'restarted' && e.generation >= third);
      assert.deepEqual(log.map((e) => [e.type, e.generation]), [['started', fourth], ['completed', fourth]]);
      assert.equal(verdictOf(server, resource, name).done, true);
    }
  });

  it('stages never go backwards when the event loop runs the timers late and together (the "1 old replicas are pending termination" forever flake)', async () => {
    const timers = new LateTimers();
    const late = await startKubeApiServer({ timers, rolloutDelayMs: 30 });
    try {
      seedDaprControlPlane(late);
      const names = ['dapr-sentry', 'dapr-operator', 'dapr-sidecar-injector'];
      for (const name of names) restart(late, 'deployments', name, 'late-1');
      timers.flush();
      for (const name of names) {
        assert.equal(verdictOf(late, 'deployments', name).message, `deployment "${name}" successfully rolled out`);
        const types = late.rollout.events.filter((e) => e.name === name && e.generation === 2).map((e) => e.type);
        assert.deepEqual(types, ['restarted', 'started', 'completed']);
      }
    } finally {
      await late.close();
    }
  });
});

describe('Dapr seeding helpers', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer();
  });
  after(() => server.close());

  it('seeds the control plane as Helm renders it', () => {
    const cp = seedDaprControlPlane(server, { namespace: 'dapr-x', version: '1.15.4', withScheduler: false, mtlsEnabled: null, trustDomain: 'example.org' });
    assert.deepEqual(cp.workloads.map((w) => `${w.resource}/${w.name}`),
      ['deployments/dapr-sentry', 'deployments/dapr-operator', 'deployments/dapr-sidecar-injector', 'statefulsets/dapr-placement-server']);
    const operator = server.api.get('deployments', 'dapr-x', 'dapr-operator');
    assert.equal(operator.metadata.labels?.app, 'dapr-operator');
    assert.equal(operator.metadata.labels?.['app.kubernetes.io/version'], '1.15.4');
    const template = (operator.spec as { template: { metadata: { annotations: Record<string, string> }; spec: { serviceAccountName: string; containers: { image: string }[] } } }).template;
    assert.equal(template.spec.containers[0]!.image, 'ghcr.io/dapr/operator:1.15.4');
    assert.equal(template.spec.serviceAccountName, 'dapr-operator');
    assert.equal(template.metadata.annotations['dapr.io/control-plane'], 'operator');
    assert.equal(statusOf(operator).observedGeneration, 1, 'seeded rolled out');
    const config = server.api.get('configurations', 'dapr-x', 'daprsystem');
    const mtls = (config.spec as { mtls: Record<string, unknown> }).mtls;
    assert.equal('enabled' in mtls, false);
    assert.equal(mtls.controlPlaneTrustDomain, 'example.org');
    const secret = server.api.get('secrets', 'dapr-x', 'dapr-trust-bundle');
    assert.equal(secret.data, undefined, 'empty Secret without a bundle, as Helm renders it');
    assert.equal(secret.metadata.labels?.app, 'dapr-sentry');
    assert.equal(server.api.get('configmaps', 'dapr-x', 'dapr-trust-bundle').data, undefined);
    assert.deepEqual(Object.keys(cp.pods).sort(), ['injector', 'operator', 'placement', 'sentry']);
    assert.equal(server.api.find('statefulsets', 'dapr-x', 'dapr-scheduler-server'), undefined);
  });

  it('seeds Dapr-enabled and other workloads across namespaces and kinds', () => {
    const apps = seedDaprApps(server, { namespaces: ['n1', 'n2'], count: 4, kinds: ['deployments', 'statefulsets'], nonDaprCount: 2, prefix: 'svc' });
    assert.deepEqual(apps.map((a) => `${a.namespace}/${a.resource}/${a.name}/${a.daprEnabled}`), [
      'n1/deployments/svc-0/true', 'n2/deployments/svc-1/true', 'n1/statefulsets/svc-2/true', 'n2/statefulsets/svc-3/true',
      'n1/deployments/svc-4/false', 'n2/deployments/svc-5/false',
    ]);
    const annotations = (o: KubeObject) => (o.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;
    assert.deepEqual(annotations(server.api.get('statefulsets', 'n1', 'svc-2')), { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'svc-2', 'dapr.io/app-port': '8080' });
    assert.equal(annotations(server.api.get('deployments', 'n1', 'svc-4')), undefined);
    assert.deepEqual(annotations(server.api.get('deployments', 'n2', 'svc-5')), { 'dapr.io/enabled': 'false' });
    const ds = seedDaprApps(server, { namespaces: ['n3'], count: 1, kinds: ['daemonsets'] });
    assert.equal(statusOf(server.api.get('daemonsets', 'n3', ds[0]!.name)).desiredNumberScheduled, 1);
  });
});
