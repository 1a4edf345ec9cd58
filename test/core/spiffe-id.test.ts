import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import {
  CONTROL_PLANE_IDS,
  buildSpiffeId,
  controlPlaneDnsNames,
  isControlPlaneId,
  parseSpiffeId,
  parseTrustDomain,
  validateSignRequest,
} from '../../src/core/spiffe-id.js';

const CSR = Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\n');
const ok = { id: 'myapp', namespace: 'default', trustDomain: '', csr: CSR };

function rejects(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isWardenError(err), `expected a WardenError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

describe('validateSignRequest (Dapr common rules, spec 1.5)', () => {
  it('defaults an empty trust domain to public and returns a given one', () => {
    assert.equal(validateSignRequest(ok), 'public');
    assert.equal(validateSignRequest({ ...ok, trustDomain: 'cluster.local' }), 'cluster.local');
    assert.equal(validateSignRequest({ ...ok, trustDomain: 'spiffe://cluster.local' }), 'cluster.local');
  });

  it('empty id', () => {
    rejects(() => validateSignRequest({ ...ok, id: '' }), 'ERR_REQUEST_INVALID', 'invalid request: parameter app-id cannot be empty');
  });

  it('id with a dot', () => {
    rejects(() => validateSignRequest({ ...ok, id: 'my.app' }), 'ERR_REQUEST_INVALID', 'invalid request: parameter app-id cannot contain dots');
  });

  it('id of 65 bytes is refused, 64 accepted; bytes, not characters, count', () => {
    assert.equal(validateSignRequest({ ...ok, id: 'a'.repeat(64) }), 'public');
    rejects(() => validateSignRequest({ ...ok, id: 'a'.repeat(65) }), 'ERR_REQUEST_INVALID', 'invalid request: app ID must be 64 characters or less');
    // 33 two-byte characters = 66 bytes.
    rejects(() => validateSignRequest({ ...ok, id: 'é'.repeat(33) }), 'ERR_REQUEST_INVALID', 'invalid request: app ID must be 64 characters or less');
  });

  it('empty CSR and empty namespace', () => {
    rejects(() => validateSignRequest({ ...ok, csr: Buffer.alloc(0) }), 'ERR_REQUEST_INVALID', 'invalid request: CSR is required');
    rejects(() => validateSignRequest({ ...ok, namespace: '' }), 'ERR_REQUEST_INVALID', 'invalid request: namespace is required');
  });

  it('joins every violation with newlines, in Dapr order, after one prefix', () => {
    rejects(
      () => validateSignRequest({ id: `${'a'.repeat(64)}.`, namespace: '', trustDomain: 'BAD', csr: Buffer.alloc(0) }),
      'ERR_REQUEST_INVALID',
      'invalid request: parameter app-id cannot contain dots\napp ID must be 64 characters or less\nCSR is required\nnamespace is required',
    );
  });

  it('an invalid trust domain is reported without the prefix, only after the other rules pass', () => {
    rejects(
      () => validateSignRequest({ ...ok, trustDomain: 'Cluster.Local' }),
      'ERR_TRUST_DOMAIN_INVALID',
      'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    );
  });
});

describe('parseTrustDomain (go-spiffe TrustDomainFromString)', () => {
  it('accepts names of [a-z0-9._-] and the spiffe:// forms', () => {
    for (const td of ['public', 'cluster.local', 'a-b_c.0', 'localhost']) assert.equal(parseTrustDomain(td), td);
    assert.equal(parseTrustDomain('spiffe://example.org'), 'example.org');
    assert.equal(parseTrustDomain('spiffe://example.org/ns/default/app'), 'example.org');
  });

  it('rejects with go-spiffe texts', () => {
    const charMsg = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
    rejects(() => parseTrustDomain(''), 'ERR_TRUST_DOMAIN_INVALID', 'trust domain is missing');
    for (const bad of ['Example.org', 'exa mple', 'a:b', 'ä.org', 'a/b']) rejects(() => parseTrustDomain(bad), 'ERR_TRUST_DOMAIN_INVALID', charMsg);
    rejects(() => parseTrustDomain('http://example.org'), 'ERR_TRUST_DOMAIN_INVALID', 'scheme is missing or invalid');
    rejects(() => parseTrustDomain('spiffe://'), 'ERR_TRUST_DOMAIN_INVALID', 'trust domain is missing');
    rejects(() => parseTrustDomain('spiffe://Example.org'), 'ERR_TRUST_DOMAIN_INVALID', charMsg);
    rejects(() => parseTrustDomain('spiffe://example.org:8443'), 'ERR_TRUST_DOMAIN_INVALID', charMsg);
    rejects(() => parseTrustDomain('spiffe://example.org/'), 'ERR_TRUST_DOMAIN_INVALID', 'path cannot have a trailing slash');
    rejects(() => parseTrustDomain('spiffe://example.org//a'), 'ERR_TRUST_DOMAIN_INVALID', 'path cannot contain empty segments');
    rejects(() => parseTrustDomain('spiffe://example.org/a/../b'), 'ERR_TRUST_DOMAIN_INVALID', 'path cannot contain dot segments');
    rejects(
      () => parseTrustDomain('spiffe://example.org/a$'),
      'ERR_TRUST_DOMAIN_INVALID',
      'path segment characters are limited to letters, numbers, dots, dashes, and underscores',
    );
  });

  it('parseSpiffeId splits trust domain and path', () => {
    assert.deepEqual(parseSpiffeId('spiffe://td/ns/default/app'), { trustDomain: 'td', path: '/ns/default/app' });
    assert.deepEqual(parseSpiffeId('spiffe://td'), { trustDomain: 'td', path: '' });
    rejects(() => parseSpiffeId(''), 'ERR_TRUST_DOMAIN_INVALID', 'cannot be empty');
  });
});

describe('buildSpiffeId (go-spiffe FromSegments, spec 2.3)', () => {
  it('builds spiffe://<td>/ns/<ns>/<id>', () => {
    assert.equal(buildSpiffeId('public', 'default', 'myapp'), 'spiffe://public/ns/default/myapp');
    assert.equal(buildSpiffeId('cluster.local', 'dapr-system', 'dapr-sentry'), 'spiffe://cluster.local/ns/dapr-system/dapr-sentry');
    assert.equal(buildSpiffeId('td', 'Name_Space-1', 'App.v2'), 'spiffe://td/ns/Name_Space-1/App.v2');
  });

  it('refuses bad segments with ERR_SPIFFE_ID_INVALID', () => {
    rejects(() => buildSpiffeId('td', '', 'a'), 'ERR_SPIFFE_ID_INVALID', 'invalid path segment "": path cannot contain empty segments');
    rejects(() => buildSpiffeId('td', 'ns', '..'), 'ERR_SPIFFE_ID_INVALID', 'invalid path segment "..": path cannot contain dot segments');
    rejects(() => buildSpiffeId('td', '.', 'a'), 'ERR_SPIFFE_ID_INVALID', 'invalid path segment ".": path cannot contain dot segments');
    rejects(
      () => buildSpiffeId('td', 'ns', 'a/b'),
      'ERR_SPIFFE_ID_INVALID',
      'invalid path segment "a/b": path segment characters are limited to letters, numbers, dots, dashes, and underscores',
    );
    rejects(
      () => buildSpiffeId('td', 'n s', 'a'),
      'ERR_SPIFFE_ID_INVALID',
      'invalid path segment "n s": path segment characters are limited to letters, numbers, dots, dashes, and underscores',
    );
    rejects(() => buildSpiffeId('', 'ns', 'a'), 'ERR_SPIFFE_ID_INVALID', 'trust domain is missing');
    rejects(
      () => buildSpiffeId('TD', 'ns', 'a'),
      'ERR_SPIFFE_ID_INVALID',
      'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    );
  });
});

describe('controlPlaneDnsNames (spec 2.4)', () => {
  it('gives the CP services their DNS names in Sentry\'s namespace', () => {
    assert.deepEqual(controlPlaneDnsNames('dapr-injector', 'dapr-system', 'dapr-system', 'cluster.local'), ['dapr-sidecar-injector.dapr-system.svc']);
    assert.deepEqual(controlPlaneDnsNames('dapr-operator', 'dapr-system', 'dapr-system', 'cluster.local'), ['dapr-webhook.dapr-system.svc']);
    assert.deepEqual(controlPlaneDnsNames('dapr-scheduler', 'N', 'N', 'example.com'), [
      'dapr-scheduler-server-0.dapr-scheduler-server.N.svc.example.com',
      'dapr-scheduler-server-1.dapr-scheduler-server.N.svc.example.com',
      'dapr-scheduler-server-2.dapr-scheduler-server.N.svc.example.com',
    ]);
  });

  it('gives nothing in another namespace, and nothing to other ids', () => {
    for (const id of CONTROL_PLANE_IDS) assert.deepEqual(controlPlaneDnsNames(id, 'default', 'dapr-system', 'cluster.local'), []);
    for (const id of ['dapr-placement', 'dapr-sentry', 'myapp']) assert.deepEqual(controlPlaneDnsNames(id, 'N', 'N', 'x'), []);
  });

  it('isControlPlaneId knows exactly the five CP ids', () => {
    assert.deepEqual([...CONTROL_PLANE_IDS].sort(), ['dapr-injector', 'dapr-operator', 'dapr-placement', 'dapr-scheduler', 'dapr-sentry']);
    assert.equal(isControlPlaneId('dapr-placement'), true);
    assert.equal(isControlPlaneId('dapr-webhook'), false);
  });
});

describe('identity limits (issue 12 item 7: SPIFFE-ID §2.1, §2.3)', () => {
  const EMPTY_LABEL = 'trust domain cannot have empty labels (a leading, trailing or double dot, as in "..")';

  it('a trust domain with an empty label (., .., a..b, .a, a.) is refused, from a name or an ID', () => {
    for (const td of ['.', '..', 'a..b', '.cluster.local', 'cluster.local.']) {
      rejects(() => parseTrustDomain(td), 'ERR_TRUST_DOMAIN_INVALID', EMPTY_LABEL);
      rejects(() => validateSignRequest({ ...ok, trustDomain: td }), 'ERR_TRUST_DOMAIN_INVALID', EMPTY_LABEL);
      rejects(() => parseSpiffeId(`spiffe://${td}/ns/default/app`), 'ERR_TRUST_DOMAIN_INVALID', EMPTY_LABEL);
      rejects(() => buildSpiffeId(td, 'default', 'app'), 'ERR_SPIFFE_ID_INVALID', EMPTY_LABEL);
    }
    assert.equal(parseTrustDomain('a.b-c_d.e'), 'a.b-c_d.e');
  });

  it('a trust domain of 256 bytes is refused, 255 accepted', () => {
    const td255 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
    assert.equal(td255.length, 255);
    assert.equal(parseTrustDomain(td255), td255);
    assert.equal(buildSpiffeId(td255, 'default', 'app'), `spiffe://${td255}/ns/default/app`);
    const too = 'a'.repeat(256);
    rejects(() => parseTrustDomain(too), 'ERR_TRUST_DOMAIN_INVALID', 'trust domain cannot be longer than 255 bytes');
    rejects(() => validateSignRequest({ ...ok, trustDomain: `spiffe://${too}` }), 'ERR_TRUST_DOMAIN_INVALID', 'trust domain cannot be longer than 255 bytes');
    rejects(() => buildSpiffeId(too, 'default', 'app'), 'ERR_SPIFFE_ID_INVALID', 'trust domain cannot be longer than 255 bytes');
  });

  it('a SPIFFE ID of 2,049 bytes is refused, 2,048 accepted (built or parsed)', () => {
    const prefix = 'spiffe://public/ns/';
    const suffix = '/myapp';
    const ns2048 = 'n'.repeat(2048 - prefix.length - suffix.length);
    const id2048 = buildSpiffeId('public', ns2048, 'myapp');
    assert.equal(id2048.length, 2048);
    assert.deepEqual(parseSpiffeId(id2048), { trustDomain: 'public', path: `/ns/${ns2048}/myapp` });
    rejects(() => buildSpiffeId('public', `${ns2048}n`, 'myapp'), 'ERR_SPIFFE_ID_INVALID', 'SPIFFE ID cannot be longer than 2048 bytes (this one is 2049)');
    rejects(() => parseSpiffeId(`${prefix}${ns2048}n${suffix}`), 'ERR_TRUST_DOMAIN_INVALID', 'SPIFFE ID cannot be longer than 2048 bytes (this one is 2049)');
  });
});
