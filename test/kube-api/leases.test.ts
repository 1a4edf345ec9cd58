/**
 * Leases (coordination.k8s.io/v1) and core/v1 Events in the Kubernetes API test server, with the
 * real server's semantics: resourceVersion conflicts (409), MicroTime decoding (400), spec
 * validation (422), merge patches; checked with the real kubectl and client-node. Then Warden's
 * LeaseElector (src/kube/lease.ts) on top: one leader, a follower that takes over only once the
 * dead leader's lease has expired, with leaseTransitions counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { FixedClock } from '../../src/core/clock.js';
import { httpStatusOf, loadKubeClients, type KubeClients } from '../../src/kube/client.js';
import { LeaseElector } from '../../src/kube/lease.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { kubectl } from './http.js';
import { waitUntil } from '../support/wait-until.js';

const NS = 'dapr-system';

describe('Leases and Events in the Kubernetes API test server', () => {
  let server: KubeApiServer;
  let dir: string;
  let clients: KubeClients;
  let leases: CoordinationV1Api;
  const k = (...args: string[]) => kubectl(server, join(dir, 'cache'), args);

  before(async () => {
    server = await startKubeApiServer();
    dir = mkdtempSync(join(tmpdir(), 'warden-lease-'));
    server.api.create('namespaces', undefined, { metadata: { name: NS } });
    clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    leases = clients.kubeConfig.makeApiClient(CoordinationV1Api);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create, get, update with resourceVersion (409 when stale), merge patch', async () => {
    const created = await leases.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2027-01-01T00:00:00.000000Z' as unknown as Date, leaseTransitions: 0 } },
    });
    assert.equal(created.spec?.holderIdentity, 'a');
    const rv = created.metadata?.resourceVersion as string;
    const renewed = await leases.replaceNamespacedLease({ name: 'l1', namespace: NS, body: { ...created, spec: { ...created.spec, renewTime: '2027-01-01T00:00:05.000000Z' as unknown as Date } } });
    assert.notEqual(renewed.metadata?.resourceVersion, rv);
    await assert.rejects(
      leases.replaceNamespacedLease({ name: 'l1', namespace: NS, body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } } }),
      (err: unknown) => httpStatusOf(err) === 409,
    );
    const got = await leases.readNamespacedLease({ name: 'l1', namespace: NS });
    assert.equal(got.spec?.holderIdentity, 'a');
    // MicroTime: kept with its six fraction digits, as the real server writes it.
    assert.equal(String(got.spec?.renewTime), '2027-01-01T00:00:05.000000Z');
    const patch = await k('patch', 'lease', 'l1', '-n', NS, '--type', 'merge', '-p', '{"spec":{"holderIdentity":"c","leaseTransitions":1}}', '-o', 'json');
    assert.equal(patch.code, 0, patch.stderr);
    const patched = JSON.parse(patch.stdout) as V1Lease;
    assert.equal(patched.spec?.holderIdentity, 'c');
    assert.equal(patched.spec?.leaseTransitions, 1);
    assert.equal(patched.spec?.leaseDurationSeconds, 15);
  });

  it('kubectl reads leases as from a cluster; invalid specs are refused with the real errors', async () => {
    const [one, all, api] = await Promise.all([
      k('get', 'lease', 'l1', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity} {.spec.leaseDurationSeconds}'),
      k('get', 'leases', '-A'),
      k('api-resources', '--api-group', 'coordination.k8s.io', '-o', 'name'),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, 'c 15');
    assert.equal(all.code, 0, all.stderr);
    // The test server serves no server-side Table, so kubectl prints NAME and AGE (a cluster adds HOLDER).
    assert.match(all.stdout, new RegExp(`${NS}\\s+l1\\s`));
    assert.equal(api.code, 0, api.stderr);
    assert.equal(api.stdout.trim(), 'leases.coordination.k8s.io');
    const zero = await k('patch', 'lease', 'l1', '-n', NS, '--type', 'merge', '-p', '{"spec":{"leaseDurationSeconds":0}}');
    assert.notEqual(zero.code, 0);
    assert.match(zero.stderr, /spec\.leaseDurationSeconds: Invalid value: 0: must be greater than 0/);
    const badTime = join(dir, 'bad.json');
    writeFileSync(badTime, JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l2', namespace: NS }, spec: { renewTime: 'yesterday' } }));
    const created = await k('create', '--validate=false', '-f', badTime);
    assert.notEqual(created.code, 0);
    assert.match(created.stderr, /parsing time "yesterday"/);
  });

  it('core/v1 Events about a Secret are created with generateName and listed by kubectl', async () => {
    const ev = await clients.core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { generateName: 'dapr-trust-bundle.' }, involvedObject: { apiVersion: 'v1', kind: 'Secret', name: 'dapr-trust-bundle', namespace: NS },
        type: 'Normal', reason: 'RotationPhase', message: 'add-anchor started', source: { component: 'warden-sentry' },
      },
    });
    assert.match(ev.metadata?.name ?? '', /^dapr-trust-bundle\.[a-z0-9]+$/);
    const r = await k('get', 'events', '-n', NS, '-o', 'jsonpath={.items[*].reason}');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /RotationPhase/);
    await assert.rejects(
      clients.core.createNamespacedEvent({ namespace: NS, body: { metadata: { name: 'x' }, involvedObject: { kind: 'Secret', name: 's', namespace: 'other' }, reason: 'R' } }),
      (err: unknown) => httpStatusOf(err) === 422,
    );
  });

  it('LeaseElector: one leader; a dead leader is replaced only after its lease expires', async () => {
    const clock = new FixedClock(Date.UTC(2027, 0, 1));
    const waits: { at: number; resolve: () => void }[] = [];
    const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => {
      const w = { at: clock.now().getTime() + ms, resolve };
      waits.push(w);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    // `sleepers`: the electors still running, each of which goes back to sleep after its round trip.
    const tick = async (ms: number, sleepers = 2): Promise<void> => {
      clock.advance(ms);
      for (const w of waits.splice(0).filter((x) => { const due = x.at <= clock.now().getTime(); if (!due) waits.push(x); return due; })) w.resolve();
      // Let the electors finish their API round trips: until each sleeps again (the bound is for a
      // hang; 200 polls of 2 ms were not enough for a round trip on a loaded machine).
      await waitUntil('the electors to sleep again', () => waits.length >= sleepers, 60_000, 2);
    };
    const make = (identity: string) => new LeaseElector({ clients, namespace: NS, name: 'sentry-lease', identity, clock, leaseDurationMs: 15_000, retryPeriodMs: 5_000, sleep });
    const a = make('replica-a');
    const b = make('replica-b');
    a.start();
    await waitUntil('a to lead', () => a.isLeader(), 60_000, 2);
    b.start();
    await tick(5_000);
    await tick(5_000);
    assert.ok(a.isLeader() && !b.isLeader(), 'one leader at a time');
    const lease = server.api.get('leases', NS, 'sentry-lease') as unknown as V1Lease;
    assert.equal(lease.spec?.holderIdentity, 'replica-a');
    // "Kill" a: it stops renewing (its loop never runs again) without releasing.
    const aLost = a.lost;
    (a as unknown as { stopController: AbortController }).stopController.abort();
    await tick(5_000, 1);
    assert.ok(!b.isLeader(), 'b waits while a\'s lease is still valid');
    await tick(5_000, 1);
    await tick(5_000, 1);
    await tick(5_000, 1);
    assert.ok(b.isLeader(), 'b took over after the lease expired');
    const after = server.api.get('leases', NS, 'sentry-lease') as unknown as V1Lease;
    assert.equal(after.spec?.holderIdentity, 'replica-b');
    assert.equal(after.spec?.leaseTransitions, 1);
    assert.equal(aLost.aborted, false, 'a never learned (it was dead)');
    await b.stop();
    const released = server.api.get('leases', NS, 'sentry-lease') as unknown as V1Lease;
    assert.equal(released.spec?.holderIdentity, '');
  });
});
