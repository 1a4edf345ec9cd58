/**
 * mTLS between workloads with WorkloadIdentity's TLS options: peers are authenticated by SPIFFE ID
 * against the current anchors, and a renewed certificate or new anchors reach new connections
 * without restarting the server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import { WorkloadIdentity } from '../../src/sidecar-client/identity-manager.js';
import { peerSpiffeId, type ExpectedPeer } from '../../src/sidecar-client/peer-id.js';
import type { IssuedIdentity } from '../../src/sidecar-client/sentry-client.js';
import { FileTrustAnchorSource, StaticTrustAnchorSource, type TrustAnchorSource } from '../../src/sidecar-client/trust-anchors.js';
import { FakeTime } from './support/fake-time.js';
import { createTestCa, issueIdentity, type TestCa } from './support/pki.js';

const ca = createTestCa({ trustDomain: 'localhost' });
const otherCa = createTestCa({ trustDomain: 'localhost' });
const HOUR = 3_600_000;
const id = (app: string): string => `spiffe://public/ns/default/${app}`;

/** A workload identity whose renewals the test triggers by advancing `time`. */
async function workload(app: string, opts: { ca?: TestCa; anchors?: TrustAnchorSource; renewals?: number } = {}): Promise<{ identity: WorkloadIdentity; time: FakeTime }> {
  const issuing = opts.ca ?? ca;
  const now = new Date();
  const prepared: IssuedIdentity[] = [];
  // Identity i is issued 40 min after identity i−1 (fake time), so each is renewed once, 30 min in.
  // The 1 h backdating keeps all of them valid for real-time TLS right now.
  for (let i = 0; i <= (opts.renewals ?? 0); i++) {
    const issuedAt = new Date(now.getTime() + i * 40 * 60_000);
    prepared.push(await issueIdentity(issuing, { spiffeId: id(app), issuedAt, ttlMs: 2 * HOUR, skewMs: HOUR }));
  }
  const time = new FakeTime(now);
  const identity = await WorkloadIdentity.start({
    fetchIdentity: async () => {
      const next = prepared.shift();
      if (!next) throw new Error('no identity left');
      return next;
    },
    trustAnchors: opts.anchors ?? new StaticTrustAnchorSource(issuing.anchorsPem),
    clock: time,
    timers: time,
  });
  return { identity, time };
}

/** An HTTPS mTLS server answering with the caller's SPIFFE ID. */
async function serve(identity: WorkloadIdentity, authorizePeer?: ExpectedPeer): Promise<{ server: Server; port: number; unbind: () => void }> {
  const server = createServer(identity.tlsServerOptions(), (req, res) => {
    res.end(peerSpiffeId(req.socket as TLSSocket) ?? 'anonymous');
  });
  const unbind = identity.bindTlsServer(server, authorizePeer === undefined ? {} : { authorizePeer });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, unbind };
}

interface CallResult {
  body: string;
  serverSerial: string;
}

/** One request on a fresh connection (no agent, so no session reuse). */
function call(port: number, client: WorkloadIdentity, expected: ExpectedPeer, host = '127.0.0.1'): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, ...client.tlsClientOptions(expected) }, (res) => {
      const serverSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ body, serverSerial }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout'))); // a hang, not a slow machine
    req.on('error', reject);
    req.end();
  });
}

describe('WorkloadIdentity mTLS', () => {
  let serverSide: { identity: WorkloadIdentity; time: FakeTime };
  let clientSide: { identity: WorkloadIdentity; time: FakeTime };
  let server: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    serverSide = await workload('server-app', { renewals: 2 });
    clientSide = await workload('client-app');
    server = await serve(serverSide.identity);
  });
  after(async () => {
    server.server.close();
    await serverSide.identity.close();
    await clientSide.identity.close();
  });

  it('connects when the server presents the expected SPIFFE ID, and the server sees the client’s', async () => {
    const result = await call(server.port, clientSide.identity, id('server-app'));
    assert.equal(result.body, id('client-app'));
  });

  it('accepts any SPIFFE ID from the anchors when no peer is named, or a predicate', async () => {
    assert.equal((await call(server.port, clientSide.identity, undefined)).body, id('client-app'));
    assert.equal((await call(server.port, clientSide.identity, (peer) => peer.endsWith('/server-app'))).body, id('client-app'));
  });

  it('refuses a server with another SPIFFE ID, whatever the hostname', async () => {
    await assert.rejects(call(server.port, clientSide.identity, id('someone-else'), 'localhost'), (e: unknown) => {
      assert.ok(isWardenError(e, 'ERR_PEER_IDENTITY'), String(e));
      assert.match(e.message, /presented spiffe:\/\/public\/ns\/default\/server-app, expected spiffe:\/\/public\/ns\/default\/someone-else/);
      return true;
    });
  });

  it('refuses a client without a certificate', async () => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: ca.anchorsPem, checkServerIdentity: () => undefined });
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (e) => resolve(`error: ${e.message}`));
      socket.on('close', () => resolve('closed'));
      socket.on('secureConnect', () => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        socket.once('data', (d) => resolve(`data: ${String(d)}`));
      });
    });
    socket.destroy();
    assert.doesNotMatch(outcome, /^data: HTTP\/1.1 200/, outcome);
  });

  it('refuses a client whose certificate comes from a foreign root', async () => {
    // The intruder trusts the real anchors, so only the server's check can stop it.
    const intruder = await workload('intruder', { ca: otherCa, anchors: new StaticTrustAnchorSource(ca.anchorsPem + otherCa.anchorsPem) });
    try {
      await assert.rejects(call(server.port, intruder.identity, id('server-app')));
    } finally {
      await intruder.identity.close();
    }
  });

  it('serves a renewed certificate on new connections without a restart (with and without SNI)', async () => {
    const before = await call(server.port, clientSide.identity, id('server-app'));
    const renewed = once(serverSide.identity, 'renewed');
    await serverSide.time.advance(35 * 60_000);
    await renewed;
    assert.equal(serverSide.identity.renewals, 1);
    const viaIp = await call(server.port, clientSide.identity, id('server-app'));
    const viaName = await call(server.port, clientSide.identity, id('server-app'), 'localhost');
    assert.notEqual(viaIp.serverSerial, before.serverSerial, 'new leaf without SNI (setSecureContext)');
    assert.equal(viaName.serverSerial, viaIp.serverSerial, 'same new leaf with SNI (SNICallback)');
    assert.equal(BigInt(`0x${viaIp.serverSerial}`), BigInt(`0x${serverSide.identity.current().certChain[0]?.serialHex ?? ''}`));
  });
});

describe('WorkloadIdentity peer authorization and anchor changes', () => {
  it('closes connections from SPIFFE IDs the server does not authorize', async () => {
    const srv = await workload('api');
    const allowed = await workload('frontend');
    const denied = await workload('batch');
    const { server } = await serve(srv.identity, id('frontend'));
    const port = (server.address() as AddressInfo).port;
    try {
      assert.equal((await call(port, allowed.identity, id('api'))).body, id('frontend'));
      await assert.rejects(call(port, denied.identity, id('api')));
    } finally {
      server.close();
      for (const w of [srv, allowed, denied]) await w.identity.close();
    }
  });

  it('trusts a new root on new connections once the anchors file adds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-mtls-anchors-'));
    const path = join(dir, 'ca.crt');
    writeFileSync(path, ca.anchorsPem);
    const anchors = new FileTrustAnchorSource({ path, debounceMs: 10 });
    await anchors.ready();
    const srv = await workload('api', { anchors });
    // A client already on the new root (and trusting both).
    const migrated = await workload('frontend', { ca: otherCa, anchors: new StaticTrustAnchorSource(ca.anchorsPem + otherCa.anchorsPem) });
    const { server, port } = await serve(srv.identity);
    try {
      await assert.rejects(call(port, migrated.identity, id('api')), 'the new root is not trusted yet');
      const changed = once(srv.identity, 'anchorsChanged');
      writeFileSync(`${path}.new`, ca.anchorsPem + otherCa.anchorsPem);
      renameSync(`${path}.new`, path);
      await changed;
      assert.equal((await call(port, migrated.identity, id('api'))).body, id('frontend'));
      assert.equal(srv.identity.current().anchors.certificates.length, 2);
    } finally {
      server.close();
      await srv.identity.close();
      await migrated.identity.close();
      anchors.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes key.pem, cert.pem and ca.pem with mode 0600', async () => {
    const { identity } = await workload('writer');
    const dir = mkdtempSync(join(tmpdir(), 'warden-identity-out-'));
    try {
      const out = join(dir, 'nested', 'identity');
      await identity.writeIdentityToDir(out);
      const { readFileSync, statSync, readdirSync } = await import('node:fs');
      assert.deepEqual(readdirSync(out).sort(), ['ca.pem', 'cert.pem', 'key.pem'], 'no temp files left');
      for (const name of ['key.pem', 'cert.pem', 'ca.pem']) {
        assert.equal(statSync(join(out, name)).mode & 0o777, 0o600, name);
      }
      assert.equal(readFileSync(join(out, 'cert.pem'), 'utf8'), identity.current().certChainPem);
      assert.equal(readFileSync(join(out, 'ca.pem'), 'utf8'), ca.anchorsPem);
      assert.match(readFileSync(join(out, 'key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    } finally {
      await identity.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
