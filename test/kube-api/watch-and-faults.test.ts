/** Watch streams (start points, selectors, bookmarks, 410, timeouts) and the fault-injection switches. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { call, openWatch } from './http.js';

const CMS = '/api/v1/namespaces/default/configmaps';

describe('Kubernetes API test server: watches', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer();
  });
  after(() => server.close());

  it('from a resourceVersion: replays later changes, then streams live ones with kind and apiVersion', async () => {
    const a = server.api.create('configmaps', 'default', { metadata: { name: 'w1' }, data: { v: '1' } });
    server.api.mutate('configmaps', 'default', 'w1', (o) => {
      o.data = { v: '2' };
    });
    const w = await openWatch(server, `${CMS}?watch=1&resourceVersion=${a.metadata.resourceVersion}`);
    try {
      assert.equal(w.status, 200);
      await w.waitFor(1);
      server.api.delete('configmaps', 'default', 'w1');
      const events = await w.waitFor(2);
      assert.deepEqual(events.map((e) => e.type), ['MODIFIED', 'DELETED']);
      assert.equal(events[0]!.object.kind, 'ConfigMap');
      assert.equal(events[0]!.object.apiVersion, 'v1');
      assert.deepEqual(events[0]!.object.data, { v: '2' });
      assert.ok(Number(events[1]!.object.metadata.resourceVersion) > Number(events[0]!.object.metadata.resourceVersion));
    } finally {
      w.close();
    }
  });

  it('without a resourceVersion: synthetic ADDED for what exists; a named watch sees only its object', async () => {
    server.api.create('configmaps', 'default', { metadata: { name: 'w2' } });
    const all = await openWatch(server, `${CMS}?watch=true`);
    const named = await openWatch(server, `${CMS}/w2?watch=true`);
    try {
      const initial = await all.waitFor(2);
      assert.deepEqual(initial.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['ADDED kube-root-ca.crt', 'ADDED w2']);
      server.api.create('configmaps', 'default', { metadata: { name: 'w3' } });
      server.api.mutate('configmaps', 'default', 'w2', (o) => {
        o.data = { x: 'y' };
      });
      await all.waitFor(4);
      const mine = await named.waitFor(2);
      assert.deepEqual(mine.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w2', 'MODIFIED w2']);
    } finally {
      all.close();
      named.close();
    }
  });

  it('label selectors apply to both sides of a change: leaving the selection is DELETED, entering is ADDED', async () => {
    server.api.create('configmaps', 'default', { metadata: { name: 'sel', labels: { tier: 'b' } } });
    const w = await openWatch(server, `${CMS}?watch=true&labelSelector=tier%3Da&resourceVersion=${server.store.currentRevision}`);
    try {
      const relabel = (tier: string) => server.api.mutate('configmaps', 'default', 'sel', (o) => {
        o.metadata.labels = { tier };
      });
      relabel('a');
      server.api.mutate('configmaps', 'default', 'sel', (o) => {
        o.data = { n: '1' };
      });
      relabel('b');
      relabel('c');
      const events = await w.waitFor(3);
      assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(w.events.length, 3, 'changes outside the selection are not sent');
    } finally {
      w.close();
    }
  });

  it('sendInitialEvents ends the initial list with the initial-events-end BOOKMARK', async () => {
    const w = await openWatch(server, `${CMS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&fieldSelector=metadata.name%3Dw2`);
    try {
      const events = await w.waitFor(2);
      assert.equal(events[0]!.type, 'ADDED');
      assert.equal(events[1]!.type, 'BOOKMARK');
      assert.deepEqual(events[1]!.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
      assert.equal(events[1]!.object.metadata.resourceVersion, String(server.store.currentRevision));
    } finally {
      w.close();
    }
  });

  it('timeoutSeconds ends the stream; close() ends open watches', async () => {
    const started = Date.now();
    const timed = await openWatch(server, `${CMS}?watch=true&timeoutSeconds=1`);
    await timed.ended;
    const elapsed = Date.now() - started;
    // Not before its second; the upper bound only rules out "never" (a loaded machine is slow).
    assert.ok(elapsed >= 900 && elapsed < 30_000, `ended after ${elapsed} ms`);
    const other = await startKubeApiServer();
    const open = await openWatch(other, `${CMS}?watch=true`);
    await other.close();
    await open.ended;
  });

  it('a resourceVersion older than the history gets a 410 Expired ERROR event', async () => {
    const small = await startKubeApiServer({ watchHistory: 3 });
    try {
      const first = small.api.create('configmaps', 'default', { metadata: { name: 'h' }, data: { n: '0' } });
      for (let i = 1; i <= 5; i += 1) {
        small.api.mutate('configmaps', 'default', 'h', (o) => {
          o.data = { n: String(i) };
        });
      }
      const w = await openWatch(small, `${CMS}?watch=true&resourceVersion=${first.metadata.resourceVersion}`);
      const [event] = await w.waitFor(1);
      await w.ended;
      assert.equal(w.status, 200);
      assert.equal(event!.type, 'ERROR');
      assert.equal(event!.object.code, 410);
      assert.equal(event!.object.reason, 'Expired');
      assert.match(event!.object.message, /^too old resource version: \d+ \(\d+\)$/);
    } finally {
      await small.close();
    }
  });
});

describe('Kubernetes API test server: fault injection and the request log', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer();
    server.api.create('secrets', 'default', { metadata: { name: 'target' }, stringData: { v: '0' } });
  });
  after(() => server.close());

  it('failNext hits only matching requests, N times, with the status asked for', async () => {
    const rule = server.faults.failNext(2, { status: 503, message: 'etcd leader changed', match: { verb: 'get', resource: 'secrets', name: 'target' } });
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt')).status, 200);
    const first = await call(server, 'GET', '/api/v1/namespaces/default/secrets/target');
    assert.equal(first.status, 503);
    assert.deepEqual(first.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'etcd leader changed', reason: 'ServiceUnavailable', code: 503 });
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/secrets/target')).status, 503);
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/secrets/target')).status, 200);
    assert.equal(rule.hits, 2);
    server.faults.failNext(1, { status: 429 });
    const throttled = await call(server, 'GET', '/api/v1/namespaces');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '1');
    const unmatched = server.faults.failNext(1, { match: { path: /\/pods$/ } });
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/pods')).status, 500);
    assert.equal(unmatched.remaining, 0);
  });

  it('conflictNext makes the next K writes of one object 409 without changing it', async () => {
    const before = server.api.get('secrets', 'default', 'target');
    server.faults.conflictNext(2, { resource: 'secrets', namespace: 'default', name: 'target' });
    const body = { ...before, stringData: { v: '1' } };
    const put = await call(server, 'PUT', '/api/v1/namespaces/default/secrets/target', { body });
    assert.equal(put.status, 409);
    assert.equal(put.json.message, 'Operation cannot be fulfilled on secrets "target": the object has been modified; please apply your changes to the latest version and try again');
    const patch = await call(server, 'PATCH', '/api/v1/namespaces/default/secrets/target', { body: { data: { v: 'MQ==' } }, contentType: 'application/merge-patch+json' });
    assert.equal(patch.status, 409);
    assert.deepEqual(server.api.get('secrets', 'default', 'target'), before);
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/secrets/target')).status, 200, 'reads are not affected');
    assert.equal((await call(server, 'PUT', '/api/v1/namespaces/default/secrets/target', { body })).status, 200);
  });

  it('hold keeps matching requests waiting until released; others pass meanwhile', async () => {
    const held = server.faults.hold({ verb: 'get', name: 'target' });
    let answered = false;
    const pending = call(server, 'GET', '/api/v1/namespaces/default/secrets/target').then((r) => {
      answered = true;
      return r;
    });
    await held.arrived;
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/secrets')).status, 200, 'a list is not held');
    assert.equal(answered, false, 'still held');
    held.release();
    assert.equal((await pending).status, 200);
    assert.equal(held.hits, 1);
    assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/secrets/target')).status, 200, 'released for good');
    assert.equal(held.hits, 1);
  });

  it('addLatency delays matching requests until cancelled', async () => {
    const rule = server.faults.addLatency(250, { verb: 'list' });
    const t0 = Date.now();
    await call(server, 'GET', '/api/v1/namespaces/default/secrets');
    assert.ok(Date.now() - t0 >= 240, 'list delayed');
    assert.equal(rule.hits, 1);
    // Whether a request was delayed is read from the rule, not from a stopwatch (a loaded machine is slow anyway).
    await call(server, 'GET', '/api/v1/namespaces/default/secrets/target');
    assert.equal(rule.hits, 1, 'get not delayed');
    rule.cancel();
    await call(server, 'GET', '/api/v1/namespaces/default/secrets');
    assert.equal(rule.hits, 1, 'no delay after cancel');
  });

  it('the request log records verb, resource, status, faults and timing', async () => {
    server.requests.clear();
    server.faults.failNext(1, { match: { verb: 'create' } });
    await call(server, 'POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'log1' } } });
    await call(server, 'POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'log1' } } });
    await call(server, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=a%3Db');
    const entries = server.requests.entries;
    assert.deepEqual(entries.map((e) => [e.verb, e.status, e.fault]), [['create', 500, 'error'], ['create', 201, undefined], ['list', 200, undefined]]);
    assert.equal(entries[2]!.query.labelSelector, 'a=b');
    assert.equal(entries[1]!.contentType, 'application/json');
    assert.ok(entries.every((e) => e.resource === 'configmaps' && e.namespace === 'default' && typeof e.durationMs === 'number'));
    assert.equal(server.requests.count({ verb: 'create', status: 201 }), 1);
  });
});
