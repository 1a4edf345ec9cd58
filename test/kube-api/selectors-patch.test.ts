/** Label/field selector parsing and the three patch formats, as pure functions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from '../support/kube-api/patch.js';
import { resolveType } from '../support/kube-api/resource-types.js';
import { parseFieldSelector, parseLabelSelector } from '../support/kube-api/selectors.js';
import { KubeStatusError } from '../support/kube-api/status.js';

describe('label selectors', () => {
  const labels = { app: 'dapr-sentry', 'app.kubernetes.io/part-of': 'dapr', tier: '' };
  const cases: [string, boolean][] = [
    ['', true], ['app=dapr-sentry', true], ['app==dapr-sentry', true], ['app=x', false], ['app!=x', true], ['missing!=x', true],
    ['app in (a, dapr-sentry)', true], ['app in (a,b)', false], ['app notin (a,b)', true], ['missing notin (a)', true],
    ['app', true], ['missing', false], ['!missing', true], ['!app', false], ['tier=', true],
    ['app.kubernetes.io/part-of=dapr,app', true], ['app.kubernetes.io/part-of=dapr,!app', false],
  ];
  for (const [selector, expected] of cases) {
    it(`'${selector}' → ${expected}`, () => assert.equal(parseLabelSelector(selector)(labels), expected));
  }

  it('numeric comparisons and unlabelled objects', () => {
    assert.equal(parseLabelSelector('n>3')({ n: '4' }), true);
    assert.equal(parseLabelSelector('n<3')({ n: '4' }), false);
    assert.equal(parseLabelSelector('app')(undefined), false);
    assert.equal(parseLabelSelector('!app')(undefined), true);
  });

  it('rejects malformed selectors with a 400 Status', () => {
    for (const bad of ['app in (a', 'app in a', '=x', 'a b', 'a=b c']) {
      assert.throws(() => parseLabelSelector(bad), (err: unknown) => err instanceof KubeStatusError && err.code === 400, bad);
    }
  });
});

describe('field selectors', () => {
  const secret = { metadata: { name: 'x', namespace: 'ns' }, type: 'Opaque' };
  it('supports metadata.name/namespace everywhere and the per-type fields', () => {
    const secrets = resolveType('secrets');
    assert.equal(parseFieldSelector(secrets, 'metadata.name=x,metadata.namespace==ns')(secret), true);
    assert.equal(parseFieldSelector(secrets, 'metadata.name!=x')(secret), false);
    assert.equal(parseFieldSelector(secrets, 'type=Opaque')(secret), true);
    assert.throws(() => parseFieldSelector(resolveType('configurations'), 'type=x'), /field label not supported: type/);
    assert.throws(() => parseFieldSelector(secrets, 'data.x=1'), /field label not supported: data\.x/);
  });
});

describe('patches', () => {
  it('merge patch: objects merge, null deletes, arrays replace', () => {
    assert.deepEqual(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), { a: { c: 2, d: 3 }, l: [3] });
  });

  it('strategic merge patch merges containers by name and honours directives', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: 'b:1' }], finalizers: ['f1'] } };
    const merged = applyStrategicMergePatch(pod, {
      spec: {
        containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }, { name: 'b', $patch: 'delete' }, { name: 'c', image: 'c:1' }],
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'c' }],
        finalizers: ['f2'],
      },
    });
    assert.deepEqual(merged, {
      spec: {
        containers: [{ name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }, { name: 'c', image: 'c:1' }],
        finalizers: ['f1', 'f2'],
      },
    });
    assert.deepEqual(applyStrategicMergePatch({ m: { a: 1, b: 2 } }, { m: { $patch: 'replace', c: 3 } }), { m: { c: 3 } });
    assert.deepEqual(applyStrategicMergePatch({ m: { a: 1, b: 2 }, args: ['x'] }, { m: { $retainKeys: ['b'], b: 5 }, args: ['y'] }), { m: { b: 5 }, args: ['y'] });
    assert.deepEqual(applyStrategicMergePatch({ finalizers: ['a', 'b'] }, { '$deleteFromPrimitiveList/finalizers': ['a'] }), { finalizers: ['b'] });
  });

  it('JSON patch: every op, escaped pointers, failures', () => {
    const doc = { metadata: { annotations: { 'a/b': '1' } }, list: [1, 2] };
    assert.deepEqual(applyJsonPatch(doc, [
      { op: 'replace', path: '/metadata/annotations/a~1b', value: '2' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'remove', path: '/list/0' },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/first', path: '/moved' },
      { op: 'test', path: '/moved', value: 2 },
    ]), { metadata: { annotations: { 'a/b': '2' } }, list: [2, 3], moved: 2 });
    assert.deepEqual(doc, { metadata: { annotations: { 'a/b': '1' } }, list: [1, 2] }, 'input untouched');
    assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }]), PatchError);
    assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }]), /testing value failed/);
    assert.throws(() => applyJsonPatch(doc, { op: 'add' }), (err: unknown) => err instanceof PatchError && err.malformed);
  });
});
