/**
 * The SignCertificate client against a real grpc-js TLS server whose identity and answers the test
 * controls: request fields (spec 1.7), SPIFFE server authentication (statement 22), retries, and
 * the checks on the response, including the chain-to-anchors check daprd lacks (spec 4.4).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { certificatesToPem } from '../../src/core/certificate.js';
import { FixedClock } from '../../src/core/clock.js';
import { parseCsr } from '../../src/core/csr.js';
import { isWardenError, type ErrorCode } from '../../src/core/errors.js';
import { keyAlgorithmOf, publicKeysEqual } from '../../src/core/keys.js';
import { decodePemBlocks } from '../../src/core/pem.js';
import { SentryClient, type SentryClientOptions } from '../../src/sidecar-client/sentry-client.js';
import { FileTrustAnchorSource, StaticTrustAnchorSource } from '../../src/sidecar-client/trust-anchors.js';
import { opensslVerify } from '../support/openssl.js';
import { startFakeSentry, type FakeSentry } from './support/fake-sentry.js';
import { createTestCa, issueLeaf } from './support/pki.js';

const ca = createTestCa({ trustDomain: 'localhost' });
const foreignCa = createTestCa({ trustDomain: 'localhost' });
const SENTRY_ID = 'spiffe://localhost/ns/default/dapr-sentry';

function clientFor(sentry: Pick<FakeSentry, 'address'>, opts: Partial<SentryClientOptions> = {}): SentryClient {
  return new SentryClient({ address: sentry.address, trustAnchors: new StaticTrustAnchorSource(ca.anchorsPem), ...opts });
}

function failsWith(code: ErrorCode, pattern?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isWardenError(e), `expected a WardenError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

function grpcError(code: grpc.status, details: string): { code: grpc.status; details: string } {
  return { code, details };
}

describe('SentryClient against a correct sentry', () => {
  let sentry: FakeSentry;
  before(async () => {
    sentry = await startFakeSentry({ ca });
  });
  after(() => sentry.close());

  it('sends daprd’s request and returns a verified Ed25519 identity', async () => {
    const client = clientFor(sentry);
    try {
      sentry.requests.length = 0;
      const identity = await client.requestIdentity({ appId: 'app1' });
      assert.equal(identity.spiffeId, 'spiffe://public/ns/default/app1');
      assert.equal(keyAlgorithmOf(identity.privateKey), 'ed25519');
      assert.equal(identity.validUntil.getTime(), identity.notAfter.getTime());
      assert.equal(identity.certChain.length, 2, 'leaf + issuer, no root');

      const [request] = sentry.requests;
      assert.ok(request);
      assert.equal(request.id, 'app1');
      assert.equal(request.namespace, 'default');
      assert.equal(request.trust_domain, '');
      assert.equal(request.token, '');
      assert.equal(request.token_validator, 'UNKNOWN');
      const blocks = decodePemBlocks(request.certificate_signing_request);
      assert.deepEqual(blocks.map((b) => b.type), ['CERTIFICATE REQUEST']);
      const csr = parseCsr((blocks[0] as { der: Buffer }).der);
      assert.ok(publicKeysEqual(csr.publicKey, identity.privateKey), 'the CSR carries the returned key');
      assert.equal(csr.subject.text, '', 'empty CSR subject, as daprd sends');

      // Independent oracle: openssl agrees the chain leads to the anchors.
      const verdict = opensslVerify({
        anchorsPem: ca.anchorsPem,
        untrustedPem: certificatesToPem(identity.certChain.slice(1)),
        leafPem: certificatesToPem(identity.certChain.slice(0, 1)),
      });
      assert.ok(verdict.ok, verdict.output);
    } finally {
      client.close();
    }
  });

  it('uses a fresh key per request, P-256 when asked', async () => {
    const client = clientFor(sentry);
    try {
      const a = await client.requestIdentity({ appId: 'app1', keyAlgorithm: 'ecdsa-p256' });
      const b = await client.requestIdentity({ appId: 'app1', keyAlgorithm: 'ecdsa-p256' });
      assert.equal(keyAlgorithmOf(a.privateKey), 'ecdsa-p256');
      assert.ok(!publicKeysEqual(a.privateKey, b.privateKey));
    } finally {
      client.close();
    }
  });

  it('sets trust_domain only for control-plane IDs in the control-plane namespace, or when given', async () => {
    const client = clientFor(sentry, { controlPlaneTrustDomain: 'cluster.local', controlPlaneNamespace: 'dapr-system' });
    try {
      assert.equal(client.requestTrustDomain({ appId: 'dapr-placement', namespace: 'dapr-system' }), 'cluster.local');
      assert.equal(client.requestTrustDomain({ appId: 'dapr-scheduler', namespace: 'default' }), '');
      assert.equal(client.requestTrustDomain({ appId: 'myapp', namespace: 'dapr-system' }), '');
      assert.equal(client.requestTrustDomain({ appId: 'myapp', trustDomain: 'example.org' }), 'example.org');

      sentry.requests.length = 0;
      // The fake sentry's own ID is in td "localhost", so point this client at that one to connect.
      const connected = clientFor(sentry, { controlPlaneNamespace: 'default' });
      const identity = await connected.requestIdentity({ appId: 'dapr-placement' });
      connected.close();
      assert.equal(sentry.requests[0]?.trust_domain, 'localhost');
      assert.equal(identity.spiffeId, 'spiffe://localhost/ns/default/dapr-placement');
    } finally {
      client.close();
    }
  });

  it('passes token, validator and audiences through', async () => {
    const client = clientFor(sentry);
    try {
      sentry.requests.length = 0;
      await client.requestIdentity({ appId: 'app1', namespace: 'ns1', token: 'tok', tokenValidator: 'JWKS', jwtAudiences: ['a', 'b'] });
      const [request] = sentry.requests;
      assert.equal(request?.namespace, 'ns1');
      assert.equal(request?.token, 'tok');
      assert.equal(request?.token_validator, 'JWKS');
      assert.deepEqual(request?.jwt_audiences, ['a', 'b']);
    } finally {
      client.close();
    }
  });

  it('ignores the hostname: connecting as "localhost" to a certificate without DNS names works', async () => {
    const client = clientFor({ address: `localhost:${sentry.port}` });
    try {
      const identity = await client.requestIdentity({ appId: 'app2' });
      assert.equal(identity.spiffeId, 'spiffe://public/ns/default/app2');
    } finally {
      client.close();
    }
  });

  it('refuses a sentry of another control plane (wrong --control-plane-trust-domain)', async () => {
    const client = clientFor(sentry, { controlPlaneTrustDomain: 'cluster.local' });
    try {
      sentry.requests.length = 0;
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_IDENTITY', /presented spiffe:\/\/localhost\/ns\/default\/dapr-sentry, expected spiffe:\/\/cluster\.local\/ns\/default\/dapr-sentry/));
      assert.equal(sentry.requests.length, 0, 'the request never reached the server');
    } finally {
      client.close();
    }
  });
});

describe('SentryClient server authentication', () => {
  it('refuses a server whose SPIFFE ID differs, even though the hostname matches its certificate', async () => {
    const sentry = await startFakeSentry({ ca, serverId: 'spiffe://localhost/ns/default/dapr-operator', serverDnsNames: ['localhost'] });
    const client = clientFor({ address: `localhost:${sentry.port}` });
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_IDENTITY', /presented spiffe:\/\/localhost\/ns\/default\/dapr-operator/));
      assert.equal(sentry.requests.length, 0);
    } finally {
      client.close();
      await sentry.close();
    }
  });

  it('refuses a server with the right SPIFFE ID from a foreign root', async () => {
    const sentry = await startFakeSentry({ ca, serverCa: foreignCa, serverId: SENTRY_ID, serverDnsNames: ['localhost'] });
    const client = clientFor({ address: `localhost:${sentry.port}` });
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_IDENTITY', /does not chain to the trust anchors/));
      assert.equal(sentry.requests.length, 0);
    } finally {
      client.close();
      await sentry.close();
    }
  });

  it('rebuilds the channel when the anchors change: a server from a new root becomes trusted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-client-anchors-'));
    const path = join(dir, 'ca.crt');
    writeFileSync(path, ca.anchorsPem);
    const anchors = new FileTrustAnchorSource({ path, debounceMs: 10 });
    await anchors.ready();
    const sentry = await startFakeSentry({ ca: foreignCa, serverCa: foreignCa });
    const client = new SentryClient({ address: sentry.address, trustAnchors: anchors });
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_IDENTITY'));
      const changed = once(anchors, 'changed');
      writeFileSync(`${path}.new`, ca.anchorsPem + foreignCa.anchorsPem);
      renameSync(`${path}.new`, path);
      await changed;
      const identity = await client.requestIdentity({ appId: 'app1' });
      assert.equal(identity.spiffeId, 'spiffe://public/ns/default/app1');
      assert.equal(identity.trustAnchors.certificates.length, 2);
    } finally {
      client.close();
      anchors.close();
      await sentry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SentryClient retries and errors', () => {
  let sentry: FakeSentry;
  before(async () => {
    sentry = await startFakeSentry({ ca });
  });
  after(() => sentry.close());

  const failThen = (failures: Array<{ code: grpc.status; details: string }>): void => {
    const queue = [...failures];
    sentry.requests.length = 0;
    sentry.handler = async (request) => {
      const failure = queue.shift();
      if (failure) throw failure;
      return sentry.defaultHandler(request);
    };
  };

  it('retries UNAVAILABLE and RESOURCE_EXHAUSTED, then succeeds', async () => {
    failThen([grpcError(grpc.status.UNAVAILABLE, 'busy'), grpcError(grpc.status.RESOURCE_EXHAUSTED, 'slow down')]);
    const client = clientFor(sentry);
    try {
      const identity = await client.requestIdentity({ appId: 'app1' });
      assert.equal(identity.spiffeId, 'spiffe://public/ns/default/app1');
      assert.equal(sentry.requests.length, 3);
    } finally {
      client.close();
    }
  });

  it('gives up after 5 attempts with ERR_SENTRY_UNAVAILABLE', async () => {
    failThen(Array(10).fill(grpcError(grpc.status.RESOURCE_EXHAUSTED, 'slow down')));
    const client = clientFor(sentry);
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_UNAVAILABLE', /after 5 attempt/));
      assert.equal(sentry.requests.length, 5);
    } finally {
      client.close();
    }
  });

  it('does not retry a rejection and reports the gRPC status text', async () => {
    failThen([grpcError(grpc.status.PERMISSION_DENIED, 'invalid request: namespace is required')]);
    const client = clientFor(sentry);
    try {
      await assert.rejects(
        client.requestIdentity({ appId: 'app1' }),
        failsWith('ERR_SENTRY_REJECTED', /PERMISSION_DENIED: invalid request: namespace is required$/),
      );
      assert.equal(sentry.requests.length, 1);
    } finally {
      client.close();
    }
  });

  it('bounds each attempt by its deadline and retries it', async () => {
    sentry.requests.length = 0;
    sentry.handler = () => new Promise(() => undefined); // never answers
    const client = clientFor(sentry, { attemptTimeoutMs: 150, maxAttempts: 3 });
    const started = performance.now();
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_UNAVAILABLE', /after 3 attempt\(s\) \(DEADLINE_EXCEEDED/));
      // An attempt whose 150 ms ran out before it reached the server (a loaded machine) is still an attempt.
      assert.ok(sentry.requests.length >= 1 && sentry.requests.length <= 3, `${sentry.requests.length} reached the sentry`);
      // Bounded by the 150 ms attempts, not the 3 s default (the bound allows for a loaded machine).
      assert.ok(performance.now() - started < 3 * 3000, `took ${Math.round(performance.now() - started)} ms`);
    } finally {
      client.close();
    }
  });

  it('fails fast with ERR_SENTRY_UNAVAILABLE when nothing listens', async () => {
    const port = await closedPort();
    // An hour per attempt: if a refused connection waited for its attempt deadline, the 5 attempts
    // would take 5 h and the hang bound below would fail. So the test proves "not waited on" by
    // cause, with no stopwatch that a loaded machine could trip.
    const client = clientFor({ address: `127.0.0.1:${port}` }, { attemptTimeoutMs: 3_600_000 });
    const started = performance.now();
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_UNAVAILABLE', /after 5 attempt\(s\).*ECONNREFUSED/));
      assert.ok(performance.now() - started < 120_000, `a hang bound: ${Math.round(performance.now() - started)} ms`);
    } finally {
      client.close();
    }
  });
});

describe('SentryClient response checks', () => {
  let sentry: FakeSentry;
  before(async () => {
    sentry = await startFakeSentry({ ca });
  });
  after(() => sentry.close());

  const respondWith = (edit: (r: Awaited<ReturnType<FakeSentry['defaultHandler']>>) => void): void => {
    sentry.handler = async (request) => {
      const response = await sentry.defaultHandler(request);
      edit(response);
      return response;
    };
  };

  const cases: Array<[string, (r: Awaited<ReturnType<FakeSentry['defaultHandler']>>) => void, ErrorCode, RegExp]> = [
    ['a missing valid_until', (r) => { r.valid_until = null; }, 'ERR_SENTRY_RESPONSE_INVALID', /valid_until is missing/],
    ['valid_until past year 9999', (r) => { r.valid_until = { seconds: '253402300800', nanos: 0 }; }, 'ERR_SENTRY_RESPONSE_INVALID', /out of range/],
    ['valid_until nanos ≥ 1e9', (r) => { r.valid_until = { seconds: '1', nanos: 1_000_000_000 }; }, 'ERR_SENTRY_RESPONSE_INVALID', /nanos/],
    ['a workload_certificate without PEM', (r) => { r.workload_certificate = Buffer.from('garbage'); }, 'ERR_SENTRY_RESPONSE_INVALID', /not a PEM certificate chain/],
  ];
  for (const [what, edit, code, pattern] of cases) {
    it(`rejects ${what}`, async () => {
      respondWith(edit);
      const client = clientFor(sentry);
      try {
        await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith(code, pattern));
      } finally {
        client.close();
      }
    });
  }

  it('rejects a leaf for another key', async () => {
    const other = await issueLeaf(ca, { spiffeId: 'spiffe://public/ns/default/app1' });
    respondWith((r) => { r.workload_certificate = Buffer.from(other.chainPem); });
    const client = clientFor(sentry);
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_RESPONSE_INVALID', /public key of the CSR/));
    } finally {
      client.close();
    }
  });

  it('rejects a leaf issued for another app', async () => {
    sentry.handler = (request) => sentry.defaultHandler({ ...request, id: 'someone-else' });
    const client = clientFor(sentry);
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_RESPONSE_INVALID', /someone-else/));
    } finally {
      client.close();
    }
  });

  it('rejects a chain that does not lead to the current anchors (issuer switched before the anchors)', async () => {
    const rogue = await startFakeSentry({ ca: foreignCa, serverCa: ca });
    const client = clientFor(rogue);
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_CHAIN_UNTRUSTED', /not signed by any of the 1 trust anchor/));
    } finally {
      client.close();
      await rogue.close();
    }
  });

  it('rejects a chain that is not valid at the client’s time', async () => {
    sentry.handler = sentry.defaultHandler;
    const client = clientFor(sentry, { clock: new FixedClock(new Date(Date.now() + 2 * 3_600_000)) });
    try {
      await assert.rejects(client.requestIdentity({ appId: 'app1' }), failsWith('ERR_SENTRY_CHAIN_UNTRUSTED', /is not valid at/));
    } finally {
      client.close();
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
