/**
 * The gRPC unary server on node:http2 (src/sentry/grpc/unary-server.ts), driven by grpc-js clients
 * (what the identity client uses) and by raw HTTP/2 requests for what grpc-js never sends:
 * wrong method or content type, two messages, no message, truncated messages, bad compression.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { encodeGrpcMessage, frameMessage, GrpcStatusError, parseGrpcTimeout, UnaryMessageReader } from '../../src/sentry/grpc/framing.js';
import { createUnaryServer, type UnaryServer } from '../../src/sentry/grpc/unary-server.js';

const ECHO = '/test.Echo/Echo';
const SLOW = '/test.Echo/Slow';
const REFUSE = '/test.Echo/Refuse';
const THROW = '/test.Echo/Throw';
const MAX = 1024;

/** A self-signed P-256 certificate for 127.0.0.1 made by openssl (independent of our code). */
function makeTlsIdentity(dir: string, cn: string): { key: Buffer; cert: Buffer } {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, `${cn}.key`), '-out', join(dir, `${cn}.crt`),
  ], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, `${cn}.key`)), cert: readFileSync(join(dir, `${cn}.crt`)) };
}

/** Bytes as a string method: echo, or refuse/throw on request. */
const identity = { serialize: (r: unknown) => Buffer.from(r as string), deserialize: (b: Buffer) => b.toString('utf8') };

describe('unary gRPC server on node:http2', () => {
  let dir: string;
  let tlsA: { key: Buffer; cert: Buffer };
  let tlsB: { key: Buffer; cert: Buffer };
  let unary: UnaryServer;
  let listener: Server;
  let port: number;
  const internalErrors: unknown[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-unary-'));
    tlsA = makeTlsIdentity(dir, 'a');
    tlsB = makeTlsIdentity(dir, 'b');
    unary = createUnaryServer({
      methods: new Map([
        [ECHO, { ...identity, handle: async (r) => `echo:${r as string}` }],
        [SLOW, { ...identity, handle: () => new Promise((resolve) => setTimeout(() => resolve('late'), 400)) }],
        [REFUSE, { ...identity, handle: async () => { throw new GrpcStatusError(grpc.status.PERMISSION_DENIED, 'nope: ünïcödé 100%'); } }],
        [THROW, { ...identity, handle: async () => { throw new Error('secret detail'); } }],
      ]),
      maxReceiveMessageBytes: MAX,
      tls: tlsA,
      idleTimeoutMs: 60_000,
      keepaliveMs: 60_000,
      keepaliveTimeoutMs: 5_000,
      onInternalError: (err) => internalErrors.push(err),
    });
    listener = createServer((socket) => unary.handleConnection(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });

  after(async () => {
    listener.close();
    await unary.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  function grpcClient(ca: Buffer): grpc.Client {
    return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(ca), { 'grpc.use_local_subchannel_pool': 1 });
  }

  function grpcCall(client: grpc.Client, path: string, text: string, deadlineMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(path, (s: string) => Buffer.from(s), (b: Buffer) => b.toString('utf8'), text, new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }

  async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
    try {
      await promise;
    } catch (err) {
      return err as grpc.ServiceError;
    }
    assert.fail('the call succeeded');
  }

  /** One raw HTTP/2 request; resolves with response headers, trailers and body. */
  function rawCall(headers: Record<string, string>, chunks: Buffer[]): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: Buffer }> {
    const session: ClientHttp2Session = connect(`https://127.0.0.1:${port}`, { ca: tlsA.cert });
    return new Promise((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let response: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const body: Buffer[] = [];
      req.on('response', (h) => void (response = h));
      req.on('trailers', (t) => void (trailers = t));
      req.on('data', (c: Buffer) => body.push(c));
      req.on('error', reject);
      req.on('close', () => {
        session.close();
        resolve({ headers: response, trailers, body: Buffer.concat(body) });
      });
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }
  const statusOf = (r: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders }): string | undefined =>
    String(r.trailers['grpc-status'] ?? r.headers['grpc-status']);

  it('serves a unary call to grpc-js, and many on one connection', async () => {
    const client = grpcClient(tlsA.cert);
    assert.equal(await grpcCall(client, ECHO, 'hi'), 'echo:hi');
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => grpcCall(client, ECHO, String(i))));
    assert.deepEqual(many, Array.from({ length: 200 }, (_, i) => `echo:${i}`));
    client.close();
  });

  it('a refusal reaches the client with its code and its exact (non-ASCII) message', async () => {
    const client = grpcClient(tlsA.cert);
    const err = await grpcError(grpcCall(client, REFUSE, 'x'));
    assert.equal(err.code, grpc.status.PERMISSION_DENIED);
    assert.equal(err.details, 'nope: ünïcödé 100%');
    client.close();
  });

  it('an unexpected handler error is INTERNAL without its detail, and reported to onInternalError', async () => {
    const client = grpcClient(tlsA.cert);
    const before = internalErrors.length;
    const err = await grpcError(grpcCall(client, THROW, 'x'));
    assert.equal(err.code, grpc.status.INTERNAL);
    assert.doesNotMatch(err.details, /secret/);
    assert.equal(internalErrors.length, before + 1);
    client.close();
  });

  it('an unknown method is UNIMPLEMENTED', async () => {
    const client = grpcClient(tlsA.cert);
    const err = await grpcError(grpcCall(client, '/test.Echo/Nope', 'x'));
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
    client.close();
  });

  it('a message over the cap is RESOURCE_EXHAUSTED; at the cap it is served', async () => {
    const client = grpcClient(tlsA.cert);
    const err = await grpcError(grpcCall(client, ECHO, 'a'.repeat(MAX + 1)));
    assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(await grpcCall(client, ECHO, 'b'.repeat(MAX)), `echo:${'b'.repeat(MAX)}`);
    client.close();
  });

  it('the client deadline ends a slow call with DEADLINE_EXCEEDED (grpc-timeout honoured server-side too)', async () => {
    const client = grpcClient(tlsA.cert);
    const err = await grpcError(grpcCall(client, SLOW, 'x', 100));
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    const raw = await rawCall({ ':path': SLOW, 'grpc-timeout': '50m' }, [frameMessage(Buffer.from('x'))]);
    assert.equal(statusOf(raw), String(grpc.status.DEADLINE_EXCEEDED));
    client.close();
  });

  it('raw HTTP/2: GET is 405, a non-gRPC content type is 415', async () => {
    assert.equal((await rawCall({ ':method': 'GET' }, [])).headers[':status'], 405);
    assert.equal((await rawCall({ 'content-type': 'application/json' }, [frameMessage(Buffer.from('x'))])).headers[':status'], 415);
    const ok = await rawCall({ 'content-type': 'application/grpc+proto' }, [frameMessage(Buffer.from('x'))]);
    assert.equal(statusOf(ok), '0');
    assert.deepEqual(ok.body, frameMessage(Buffer.from('echo:x')));
  });

  it('raw HTTP/2: no message, two messages, or a truncated message are refused', async () => {
    assert.equal(statusOf(await rawCall({}, [])), String(grpc.status.UNIMPLEMENTED));
    const two = Buffer.concat([frameMessage(Buffer.from('a')), frameMessage(Buffer.from('b'))]);
    assert.equal(statusOf(await rawCall({}, [two])), String(grpc.status.UNIMPLEMENTED));
    assert.equal(statusOf(await rawCall({}, [frameMessage(Buffer.from('abcdef')).subarray(0, 8)])), String(grpc.status.UNIMPLEMENTED));
  });

  it('raw HTTP/2: a message split over many DATA frames is reassembled', async () => {
    const framed = frameMessage(Buffer.from('split-message'));
    const chunks = Array.from(framed, (byte) => Buffer.from([byte]));
    const r = await rawCall({}, chunks);
    assert.equal(statusOf(r), '0');
    assert.deepEqual(r.body, frameMessage(Buffer.from('echo:split-message')));
  });

  it('raw HTTP/2: gzip messages are inflated; an unknown encoding is UNIMPLEMENTED; a bomb is RESOURCE_EXHAUSTED', async () => {
    const gz = (data: Buffer): Buffer => {
      const framed = frameMessage(gzipSync(data));
      framed[0] = 1;
      return framed;
    };
    const ok = await rawCall({ 'grpc-encoding': 'gzip' }, [gz(Buffer.from('zipped'))]);
    assert.equal(statusOf(ok), '0');
    assert.deepEqual(ok.body, frameMessage(Buffer.from('echo:zipped')));
    assert.equal(statusOf(await rawCall({ 'grpc-encoding': 'snappy' }, [gz(Buffer.from('x'))])), String(grpc.status.UNIMPLEMENTED));
    assert.equal(statusOf(await rawCall({}, [gz(Buffer.from('x'))])), String(grpc.status.INTERNAL));
    assert.equal(statusOf(await rawCall({ 'grpc-encoding': 'gzip' }, [gz(Buffer.alloc(MAX * 100))])), String(grpc.status.RESOURCE_EXHAUSTED));
  });

  it('a new TLS identity is used by new connections; an open connection keeps working', async () => {
    const old = grpcClient(tlsA.cert);
    assert.equal(await grpcCall(old, ECHO, '1'), 'echo:1');
    unary.setTlsIdentity(tlsB);
    const fresh = grpcClient(tlsB.cert);
    assert.equal(await grpcCall(fresh, ECHO, '2'), 'echo:2');
    assert.equal(await grpcCall(old, ECHO, '3'), 'echo:3');
    const stale = grpcClient(tlsA.cert);
    assert.equal((await grpcError(grpcCall(stale, ECHO, '4', 60_000))).code, grpc.status.UNAVAILABLE);
    unary.setTlsIdentity(tlsA);
    for (const c of [old, fresh, stale]) c.close();
  });
});

/** A promise and the function that settles it (Promise.withResolvers, before the es2024 lib). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('unary gRPC server shutdown', () => {
  it('close(grace) lets an in-flight call finish, then nothing is served; past the grace calls are cut', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-unary-'));
    const tls = makeTlsIdentity(dir, 'c');
    // The handlers say when a call reached them, so nothing waits a fixed time for a connection.
    let started = signal();
    let doneAt = 0;
    const unary = createUnaryServer({
      methods: new Map([[SLOW, { ...identity, handle: () => {
        started.resolve();
        return new Promise((resolve) => setTimeout(() => { doneAt = performance.now(); resolve('done'); }, 300));
      } }]]),
      maxReceiveMessageBytes: MAX, tls, idleTimeoutMs: 60_000, keepaliveMs: 60_000, keepaliveTimeoutMs: 5000,
    });
    const listener = createServer((socket) => unary.handleConnection(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
    const client = new grpc.Client(address, grpc.credentials.createSsl(tls.cert), { 'grpc.use_local_subchannel_pool': 1 });
    const call = (): Promise<string> => new Promise((resolve, reject) => {
      client.makeUnaryRequest(SLOW, (s: string) => Buffer.from(s), (b: Buffer) => b.toString('utf8'), 'x', new grpc.Metadata(),
        { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
    try {
      const inFlight = call();
      await started.promise;
      listener.close();
      await unary.close(60_000);
      const closedAt = performance.now();
      assert.equal(await inFlight, 'done');
      // close() returned once the call was done, not after the 60 s grace (the margin is for a loaded machine).
      assert.ok(doneAt > 0 && closedAt >= doneAt && closedAt - doneAt < 20_000, `close returned ${closedAt - doneAt} ms after the call`);

      // A second server whose call outlives the grace: close() returns after the grace, the call fails.
      started = signal();
      const unary2 = createUnaryServer({
        methods: new Map([[SLOW, { ...identity, handle: () => {
          started.resolve();
          return new Promise((resolve) => setTimeout(() => resolve('late'), 60_000).unref());
        } }]]),
        maxReceiveMessageBytes: MAX, tls, idleTimeoutMs: 60_000, keepaliveMs: 60_000, keepaliveTimeoutMs: 5000,
      });
      const listener2 = createServer((socket) => unary2.handleConnection(socket));
      await new Promise<void>((resolve) => listener2.listen(0, '127.0.0.1', resolve));
      const client2 = new grpc.Client(`127.0.0.1:${(listener2.address() as AddressInfo).port}`, grpc.credentials.createSsl(tls.cert), { 'grpc.use_local_subchannel_pool': 1 });
      const cut = new Promise<grpc.ServiceError | undefined>((resolve) => {
        client2.makeUnaryRequest(SLOW, (s: string) => Buffer.from(s), (b: Buffer) => b.toString('utf8'), 'x', new grpc.Metadata(),
          { deadline: Date.now() + 120_000 }, (err) => resolve(err ?? undefined));
      });
      await started.promise;
      listener2.close();
      const t0 = performance.now();
      await unary2.close(200);
      // The handler would answer after 60 s: returning well before that means the grace cut it.
      assert.ok(performance.now() - t0 < 30_000, 'close returned after the grace, not after the call');
      assert.ok((await cut) !== undefined, 'the call past the grace failed');
      client2.close();
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('unary gRPC server keepalive and idle close', () => {
  it('pings a quiet peer and drops one that never answers; closes (GOAWAY) a live peer without calls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-unary-'));
    const tls = makeTlsIdentity(dir, 'k');
    const unary = createUnaryServer({
      methods: new Map([[ECHO, { ...identity, handle: async (r) => r }]]),
      maxReceiveMessageBytes: MAX, tls, idleTimeoutMs: 600, keepaliveMs: 200, keepaliveTimeoutMs: 200,
    });
    const listener = createServer((socket) => unary.handleConnection(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    try {
      // A live HTTP/2 peer (answers pings): one call, then silence → GOAWAY after the idle time.
      const session = connect(`https://127.0.0.1:${port}`, { ca: tls.cert });
      session.on('error', () => {});
      const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
      req.end(frameMessage(Buffer.from('x')));
      req.resume();
      await new Promise((r) => req.on('close', r));
      const t0 = performance.now();
      const pinged = new Promise<void>((resolve) => session.once('ping', () => resolve()));
      await new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      await pinged;
      const waited = performance.now() - t0;
      assert.ok(waited >= 300, `GOAWAY after ${waited} ms, not before the 300 ms idle time`);
      session.close();

      // A peer that speaks the HTTP/2 preface and then nothing (never acks a PING) is dropped.
      const raw = (await import('node:tls')).connect({ host: '127.0.0.1', port, ca: tls.cert, ALPNProtocols: ['h2'], servername: 'localhost', checkServerIdentity: () => undefined });
      await new Promise<void>((resolve) => raw.once('secureConnect', () => resolve()));
      raw.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      raw.resume();
      const t1 = performance.now();
      await new Promise<void>((resolve) => raw.once('close', () => resolve()));
      const dropped = performance.now() - t1;
      assert.ok(dropped >= 300 && dropped < 60_000, `dropped after ${dropped} ms (not before the 300 ms idle time; the upper bound is for a hang)`);
    } finally {
      listener.close();
      await unary.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('framing', () => {
  it('parses grpc-timeout in every unit, and ignores malformed values', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000);
    assert.equal(parseGrpcTimeout('3M'), 180_000);
    assert.equal(parseGrpcTimeout('4S'), 4000);
    assert.equal(parseGrpcTimeout('500m'), 500);
    assert.equal(parseGrpcTimeout('1500u'), 1.5);
    assert.equal(parseGrpcTimeout('2000000n'), 2);
    for (const bad of [undefined, '', '5', 'm', '123456789S', '1.5S', '-1S', '5s']) assert.equal(parseGrpcTimeout(bad), undefined, String(bad));
  });

  it('percent-encodes grpc-message like grpc-go (printable ASCII except % stays)', () => {
    assert.equal(encodeGrpcMessage('invalid signature'), 'invalid signature');
    assert.equal(encodeGrpcMessage('100% ü\n'), '100%25 %C3%BC%0A');
    assert.equal(decodeURIComponent(encodeGrpcMessage('naïve ✓ 50%')), 'naïve ✓ 50%');
  });

  it('the reader refuses an oversized declaration before the body arrives', () => {
    const reader = new UnaryMessageReader(10);
    const prefix = Buffer.from([0, 0, 0, 0, 11]);
    assert.throws(() => reader.push(prefix), (err: GrpcStatusError) => err.code === grpc.status.RESOURCE_EXHAUSTED && /11 vs 10/.test(err.message));
  });

  it('the reader refuses an unknown flag byte', () => {
    const reader = new UnaryMessageReader(10);
    assert.throws(() => reader.push(Buffer.from([2, 0, 0, 0, 1, 0x41])), (err: GrpcStatusError) => err.code === grpc.status.INTERNAL);
  });
});
