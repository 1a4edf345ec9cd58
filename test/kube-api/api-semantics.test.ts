/**
 * The API server semantics of the test server on the wire: authentication, discovery, create /
 * update / patch / delete / list rules and the exact Status bodies a real server answers with.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { call, openWatch } from './http.js';

const SECRETS = '/api/v1/namespaces/default/secrets';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'img:1' }, { name: 'side', image: 'side:1' }] } },
      ...extra,
    },
  };
}

describe('Kubernetes API test server: semantics on the wire', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer({ namespaces: ['other'] });
  });
  after(() => server.close());

  describe('authentication and discovery', () => {
    it('refuses a missing or wrong bearer token with the Unauthorized Status, but serves /version', async () => {
      for (const token of [null, 'wrong']) {
        const r = await call(server, 'GET', SECRETS, { token });
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      }
      const version = await call(server, 'GET', '/version', { token: null });
      assert.equal(version.status, 200);
      assert.equal(version.json.gitVersion, 'v1.32.4');
      assert.equal((await call(server, 'GET', '/version', { token: 'wrong' })).status, 401, 'a bad token fails even on public paths');
    });

    it('publishes the groups, versions and resources kubectl needs', async () => {
      const api = await call(server, 'GET', '/api');
      assert.deepEqual(api.json.versions, ['v1']);
      const core = await call(server, 'GET', '/api/v1');
      const secrets = core.json.resources.find((r: { name: string }) => r.name === 'secrets');
      assert.deepEqual(secrets, { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] });
      const groups = await call(server, 'GET', '/apis');
      assert.deepEqual(groups.json.groups.map((g: { name: string }) => g.name), ['apps', 'authentication.k8s.io', 'authorization.k8s.io', 'rbac.authorization.k8s.io', 'coordination.k8s.io', 'dapr.io']);
      const apps = await call(server, 'GET', '/apis/apps/v1');
      const deploy = apps.json.resources.find((r: { name: string }) => r.name === 'deployments');
      assert.deepEqual(deploy.shortNames, ['deploy']);
      assert.ok(apps.json.resources.some((r: { name: string }) => r.name === 'deployments/status'));
      const dapr = await call(server, 'GET', '/apis/dapr.io/v1alpha1');
      assert.equal(dapr.json.resources[0].kind, 'Configuration');
      const auth = await call(server, 'GET', '/apis/authentication.k8s.io/v1');
      assert.deepEqual(auth.json.resources[0].verbs, ['create']);
    });

    it('negotiates metadata-only answers (PartialObjectMetadata) for get, list and watch; 406 for protobuf-only clients', async () => {
      const accept = (as: string) => ({ Accept: `application/json;as=${as};g=meta.k8s.io;v=v1,application/json` });
      const one = await call(server, 'GET', '/api/v1/namespaces/default/serviceaccounts/default', { headers: accept('PartialObjectMetadata') });
      assert.deepEqual(Object.keys(one.json).sort(), ['apiVersion', 'kind', 'metadata']);
      assert.equal(one.json.kind, 'PartialObjectMetadata');
      assert.equal(one.json.metadata.name, 'default');
      const list = await call(server, 'GET', '/api/v1/namespaces/default/serviceaccounts', { headers: accept('PartialObjectMetadataList') });
      assert.equal(list.json.kind, 'PartialObjectMetadataList');
      assert.equal(list.json.apiVersion, 'meta.k8s.io/v1');
      assert.deepEqual(list.json.items.map((i: { kind: string; metadata: { name: string } }) => [i.kind, i.metadata.name]), [['PartialObjectMetadata', 'default']]);
      const w = await openWatch(server, '/api/v1/namespaces/default/serviceaccounts?watch=true', accept('PartialObjectMetadata'));
      try {
        const [added] = await w.waitFor(1);
        assert.equal(added!.object.kind, 'PartialObjectMetadata');
      } finally {
        w.close();
      }
      const table = await call(server, 'GET', '/api/v1/namespaces/default/serviceaccounts/default', { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
      assert.equal(table.json.kind, 'ServiceAccount', 'Table is not produced; the plain JSON fallback is');
      const proto = await call(server, 'GET', '/api/v1/namespaces/default/serviceaccounts/default', { headers: { Accept: 'application/vnd.kubernetes.protobuf' } });
      assert.equal(proto.status, 406);
      assert.equal(proto.json.reason, 'NotAcceptable');
    });

    it('answers unknown paths like the real server', async () => {
      const unknownGroup = await call(server, 'GET', '/apis/nope.io/v1/things');
      assert.equal(unknownGroup.status, 404);
      assert.equal(unknownGroup.text, '404 page not found\n');
      const unknownResource = await call(server, 'GET', '/api/v1/namespaces/default/services');
      assert.equal(unknownResource.status, 404);
      assert.equal(unknownResource.json.message, 'the server could not find the requested resource');
      const badVerb = await call(server, 'GET', '/apis/authentication.k8s.io/v1/tokenreviews');
      assert.equal(badVerb.status, 405);
      assert.equal(badVerb.json.reason, 'MethodNotAllowed');
    });
  });

  describe('create', () => {
    it('sets server metadata, merges stringData into base64 data, defaults type', async () => {
      const r = await call(server, 'POST', SECRETS, { body: { metadata: { name: 's1' }, data: { a: 'YQ==' }, stringData: { b: 'bé' } } });
      assert.equal(r.status, 201);
      assert.equal(r.json.kind, 'Secret');
      assert.deepEqual(r.json.data, { a: 'YQ==', b: Buffer.from('bé').toString('base64') });
      assert.equal(r.json.stringData, undefined);
      assert.equal(r.json.type, 'Opaque');
      assert.match(r.json.metadata.uid, /^[0-9a-f-]{36}$/);
      assert.match(r.json.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(r.json.metadata.resourceVersion, String(server.store.currentRevision));
      assert.equal(r.json.metadata.generation, undefined, 'secrets have no generation');
    });

    it('AlreadyExists, missing namespace, invalid names, labels and base64 are refused as the real server does', async () => {
      const dup = await call(server, 'POST', SECRETS, { body: { metadata: { name: 's1' } } });
      assert.equal(dup.status, 409);
      assert.deepEqual(dup.json, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'secrets "s1" already exists',
        reason: 'AlreadyExists', details: { name: 's1', kind: 'secrets' }, code: 409,
      });
      const noNs = await call(server, 'POST', '/api/v1/namespaces/ghost/secrets', { body: { metadata: { name: 'x' } } });
      assert.equal(noNs.status, 404);
      assert.equal(noNs.json.message, 'namespaces "ghost" not found');
      const badName = await call(server, 'POST', SECRETS, { body: { metadata: { name: 'Bad_Name' } } });
      assert.equal(badName.status, 422);
      assert.equal(badName.json.reason, 'Invalid');
      assert.match(badName.json.message, /^Secret "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
      assert.equal(badName.json.details.causes[0].field, 'metadata.name');
      const badLabel = await call(server, 'POST', SECRETS, { body: { metadata: { name: 'x', labels: { when: '2026-01-01T00:00:00Z' } } } });
      assert.equal(badLabel.status, 422);
      assert.match(badLabel.json.message, /metadata\.labels: Invalid value: "2026-01-01T00:00:00Z": a valid label must be/);
      const badB64 = await call(server, 'POST', SECRETS, { body: { metadata: { name: 'x' }, data: { 'ca.crt': '-----BEGIN' } } });
      assert.equal(badB64.status, 400);
      assert.equal(badB64.json.message, 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0');
      const badKey = await call(server, 'POST', SECRETS, { body: { metadata: { name: 'x' }, stringData: { 'a b': 'x' } } });
      assert.equal(badKey.status, 422);
      assert.match(badKey.json.message, /data\[a b\]: Invalid value: "a b": a valid config key must consist of/);
      const withRv = await call(server, 'POST', SECRETS, { body: { metadata: { name: 'x', resourceVersion: '5' } } });
      assert.equal(withRv.status, 400);
      const wrongNs = await call(server, 'POST', SECRETS, { body: { metadata: { name: 'x', namespace: 'other' } } });
      assert.equal(wrongNs.status, 400);
      assert.equal(wrongNs.json.message, 'the namespace of the provided object does not match the namespace sent on the request');
      assert.equal(server.api.find('secrets', 'default', 'x'), undefined, 'no failed create left anything behind');
    });

    it('generateName, dryRun and the pod service-account admission check', async () => {
      const gen = await call(server, 'POST', SECRETS, { body: { metadata: { generateName: 'backup-' } } });
      assert.equal(gen.status, 201);
      assert.match(gen.json.metadata.name, /^backup-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      const dry = await call(server, 'POST', `${SECRETS}?dryRun=All`, { body: { metadata: { name: 'dry' } } });
      assert.equal(dry.status, 201);
      assert.equal(server.api.find('secrets', 'default', 'dry'), undefined);
      const pod = { metadata: { name: 'p' }, spec: { serviceAccountName: 'ghost', containers: [{ name: 'c', image: 'i:1' }] } };
      const forbidden = await call(server, 'POST', '/api/v1/namespaces/default/pods', { body: pod });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.json.message, 'pods "p" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found');
      const ok = await call(server, 'POST', '/api/v1/namespaces/default/pods', { body: { ...pod, spec: { ...pod.spec, serviceAccountName: undefined } } });
      assert.equal(ok.status, 201);
      assert.equal(ok.json.spec.serviceAccountName, 'default');
      assert.equal(ok.json.status.phase, 'Pending');
    });

    it('new namespaces get the default service account and kube-root-ca.crt', async () => {
      assert.equal((await call(server, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'fresh' } } })).status, 201);
      assert.ok(server.api.find('serviceaccounts', 'fresh', 'default'));
      assert.equal((server.api.get('configmaps', 'fresh', 'kube-root-ca.crt').data as Record<string, string>)['ca.crt'], server.caPem);
      assert.equal(server.api.get('namespaces', undefined, 'fresh').metadata.labels?.['kubernetes.io/metadata.name'], 'fresh');
    });
  });

  describe('update and patch', () => {
    it('PUT with a stale resourceVersion is 409 Conflict; without one it is unconditional', async () => {
      const created = (await call(server, 'POST', SECRETS, { body: { metadata: { name: 'u1' }, stringData: { v: '1' } } })).json;
      const first = await call(server, 'PUT', `${SECRETS}/u1`, { body: { ...created, stringData: { v: '2' } } });
      assert.equal(first.status, 200);
      assert.ok(Number(first.json.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
      const stale = await call(server, 'PUT', `${SECRETS}/u1`, { body: { ...created, stringData: { v: '3' } } });
      assert.equal(stale.status, 409);
      assert.equal(stale.json.message, 'Operation cannot be fulfilled on secrets "u1": the object has been modified; please apply your changes to the latest version and try again');
      const { resourceVersion: _rv, ...meta } = created.metadata;
      const blind = await call(server, 'PUT', `${SECRETS}/u1`, { body: { ...created, metadata: meta, stringData: { v: '4' } } });
      assert.equal(blind.status, 200);
      assert.equal(Buffer.from(blind.json.data.v, 'base64').toString(), '4');
      const missing = await call(server, 'PUT', `${SECRETS}/ghost`, { body: { metadata: { name: 'ghost' } } });
      assert.equal(missing.status, 404);
      const renamed = await call(server, 'PUT', `${SECRETS}/u1`, { body: { metadata: { name: 'u2' } } });
      assert.equal(renamed.status, 400);
      assert.equal(renamed.json.message, 'the name of the object (u2) does not match the name on the URL (u1)');
    });

    it('a no-op write keeps the resourceVersion, as etcd is not written', async () => {
      const current = (await call(server, 'GET', `${SECRETS}/u1`)).json;
      const revision = server.store.currentRevision;
      const same = await call(server, 'PUT', `${SECRETS}/u1`, { body: current });
      assert.equal(same.json.metadata.resourceVersion, current.metadata.resourceVersion);
      const noopPatch = await call(server, 'PATCH', `${SECRETS}/u1`, { body: { data: current.data }, contentType: 'application/merge-patch+json' });
      assert.equal(noopPatch.json.metadata.resourceVersion, current.metadata.resourceVersion);
      assert.equal(server.store.currentRevision, revision);
    });

    it('workload generation moves on spec changes only; status is kept from the store on main-resource writes', async () => {
      const d = (await call(server, 'POST', DEPLOYMENTS, { body: deployment('web') })).json;
      assert.equal(d.metadata.generation, 1);
      assert.equal(d.spec.replicas, 1, 'defaulted');
      assert.equal(d.spec.strategy.type, 'RollingUpdate');
      assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
      const labelled = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, { body: { metadata: { labels: { tier: 'x' } } }, contentType: 'application/merge-patch+json' });
      assert.equal(labelled.json.metadata.generation, 1);
      const spoofed = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, { body: { status: { observedGeneration: 99 } }, contentType: 'application/merge-patch+json' });
      assert.notEqual(spoofed.json.status.observedGeneration, 99);
      const image = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, {
        body: { spec: { template: { spec: { containers: [{ name: 'side', image: 'side:2' }] } } } }, contentType: 'application/strategic-merge-patch+json',
      });
      assert.equal(image.json.metadata.generation, 2);
      assert.deepEqual(image.json.spec.template.spec.containers.map((c: { image: string }) => c.image), ['img:1', 'side:2'], 'merged by container name');
      const status = await call(server, 'PATCH', `${DEPLOYMENTS}/web/status`, { body: { status: { observedGeneration: 2 } }, contentType: 'application/merge-patch+json' });
      assert.equal(status.json.status.observedGeneration, 2);
      assert.equal(status.json.metadata.generation, 2);
      const selector = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, {
        body: { spec: { selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } } } } }, contentType: 'application/merge-patch+json',
      });
      assert.equal(selector.status, 422);
      assert.match(selector.json.message, /spec\.selector: Invalid value: .*: field is immutable/);
    });

    it('JSON patch: failed test op is 422; a resourceVersion inside a patch is a precondition', async () => {
      const d = (await call(server, 'GET', `${DEPLOYMENTS}/web`)).json;
      const failedTest = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, {
        body: [{ op: 'test', path: '/spec/replicas', value: 5 }, { op: 'replace', path: '/spec/replicas', value: 6 }], contentType: 'application/json-patch+json',
      });
      assert.equal(failedTest.status, 422);
      const replaced = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, {
        body: [{ op: 'test', path: '/spec/replicas', value: 1 }, { op: 'replace', path: '/spec/replicas', value: 3 }], contentType: 'application/json-patch+json',
      });
      assert.equal(replaced.json.spec.replicas, 3);
      const guarded = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, {
        body: { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { replicas: 4 } }, contentType: 'application/merge-patch+json',
      });
      assert.equal(guarded.status, 409);
      assert.equal(guarded.json.message, 'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again');
      const apply = await call(server, 'PATCH', `${DEPLOYMENTS}/web`, { body: 'spec: {}', contentType: 'application/apply-patch+yaml' });
      assert.equal(apply.status, 415);
    });

    it('custom resources need a resourceVersion on PUT and count any non-metadata change as a generation', async () => {
      const path = '/apis/dapr.io/v1alpha1/namespaces/default/configurations';
      const created = (await call(server, 'POST', path, { body: { metadata: { name: 'appconfig' }, spec: { accessControl: { trustDomain: 'a' } } } })).json;
      assert.equal(created.metadata.generation, 1);
      const { resourceVersion: _rv, ...meta } = created.metadata;
      const blind = await call(server, 'PUT', `${path}/appconfig`, { body: { ...created, metadata: meta } });
      assert.equal(blind.status, 422);
      assert.match(blind.json.message, /metadata\.resourceVersion: Invalid value: 0x0: must be specified for an update/);
      const updated = await call(server, 'PUT', `${path}/appconfig`, { body: { ...created, spec: { accessControl: { trustDomain: 'b' } } } });
      assert.equal(updated.json.metadata.generation, 2);
    });
  });

  describe('delete and list', () => {
    it('delete answers a Status for secrets, the object for pods and custom resources; preconditions are checked', async () => {
      const s = (await call(server, 'POST', SECRETS, { body: { metadata: { name: 'd1' } } })).json;
      const pre = await call(server, 'DELETE', `${SECRETS}/d1`, { body: { preconditions: { resourceVersion: '1' } } });
      assert.equal(pre.status, 409);
      assert.equal(pre.json.message, `Operation cannot be fulfilled on secrets "d1": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${s.metadata.resourceVersion}`);
      const del = await call(server, 'DELETE', `${SECRETS}/d1`);
      assert.equal(del.status, 200);
      assert.deepEqual(del.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'd1', kind: 'secrets', uid: s.metadata.uid } });
      assert.equal((await call(server, 'DELETE', `${SECRETS}/d1`)).status, 404);
      const pod = await call(server, 'DELETE', '/api/v1/namespaces/default/pods/p');
      assert.equal(pod.json.kind, 'Pod');
      assert.ok(pod.json.metadata.deletionTimestamp);
      const cr = await call(server, 'DELETE', '/apis/dapr.io/v1alpha1/namespaces/default/configurations/appconfig');
      assert.equal(cr.json.kind, 'Configuration');
    });

    it('deleting a namespace removes what is in it', async () => {
      server.api.create('secrets', 'fresh', { metadata: { name: 'inside' } });
      assert.equal((await call(server, 'DELETE', '/api/v1/namespaces/fresh')).json.status.phase, 'Terminating');
      assert.equal(server.api.find('secrets', 'fresh', 'inside'), undefined);
      assert.equal(server.api.find('namespaces', undefined, 'fresh'), undefined);
    });

    it('lists: items without kind for built-ins, every selector operator, pagination with continue', async () => {
      for (const [name, labels] of [['l1', { tier: 'a', env: 'prod' }], ['l2', { tier: 'b' }], ['l3', { env: 'dev' }], ['l4', {}]] as const) {
        server.api.create('configmaps', 'other', { metadata: { name, labels } });
      }
      const names = async (selector: string) => {
        const r = await call(server, 'GET', `/api/v1/namespaces/other/configmaps?labelSelector=${encodeURIComponent(selector)}`);
        assert.equal(r.status, 200, r.text);
        return r.json.items.map((i: { metadata: { name: string } }) => i.metadata.name);
      };
      assert.deepEqual(await names('tier'), ['l1', 'l2']);
      assert.deepEqual(await names('!tier,!app'), ['kube-root-ca.crt', 'l3', 'l4']);
      assert.deepEqual(await names('tier=a'), ['l1']);
      assert.deepEqual(await names('tier==b'), ['l2']);
      assert.deepEqual(await names('tier!=a'), ['kube-root-ca.crt', 'l2', 'l3', 'l4']);
      assert.deepEqual(await names('env in (prod, dev)'), ['l1', 'l3']);
      assert.deepEqual(await names('env notin (prod),tier'), ['l2']);
      const bad = await call(server, 'GET', `/api/v1/namespaces/other/configmaps?labelSelector=${encodeURIComponent('env in (a')}`);
      assert.equal(bad.status, 400);

      const list = await call(server, 'GET', '/api/v1/namespaces/other/configmaps?limit=2');
      assert.equal(list.json.kind, 'ConfigMapList');
      assert.equal(list.json.items[0].kind, undefined);
      assert.equal(list.json.metadata.remainingItemCount, 3);
      const rest = await call(server, 'GET', `/api/v1/namespaces/other/configmaps?limit=2&continue=${list.json.metadata.continue}`);
      const next = await call(server, 'GET', `/api/v1/namespaces/other/configmaps?limit=2&continue=${rest.json.metadata.continue}`);
      assert.deepEqual([...list.json.items, ...rest.json.items, ...next.json.items].map((i: { metadata: { name: string } }) => i.metadata.name),
        ['kube-root-ca.crt', 'l1', 'l2', 'l3', 'l4']);
      assert.equal(next.json.metadata.continue, undefined);
      const crs = await call(server, 'GET', '/apis/dapr.io/v1alpha1/configurations');
      assert.equal(crs.json.kind, 'ConfigurationList');
    });
  });
});
