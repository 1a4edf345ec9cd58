/**
 * Issue 12: clients that try to stall or exhaust the gRPC server (grpc/unary-server.ts, limits.ts).
 * Raw HTTP/2 and TLS clients (test/support/raw-h2.ts) do what a client library never would; every
 * assertion is on what the server did (refusal codes, frames, its own counters), never on timing.
 * Per-peer caps are exercised with client sockets bound to other loopback addresses (127.0.0.2…).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { connectionCap, FD_RESERVE, openFileLimit } from '../../src/sentry/grpc-server.js';
import type { RefusalReason, ServerLimits } from '../../src/sentry/grpc/limits.js';
import { createUnaryServer, type UnaryMethod, type UnaryServer } from '../../src/sentry/grpc/unary-server.js';
import { ERROR_CODE, FLAG, FRAME, grpcMessage, grpcRequestHeaders, RawH2Client, SETTING, frame, windowUpdateFrame } from '../support/raw-h2.js';

const ECHO = '/test.Echo/Echo';
const BIG = '/test.Echo/Big';
const BIG_REPLY = Buffer.alloc(4 * 1024 * 1024, 0x42);
const WAIT_MS = 10_000;
/** Every test ends by itself: a server that never answers fails it instead of hanging the run. */
const TEST = { timeout: 30_000 };

const text = { serialize: (r: unknown) => Buffer.from(r as string), deserialize: (b: Buffer) => b.toString('utf8') };
const METHODS = new Map<string, UnaryMethod>([
  [ECHO, { ...text, handle: async (r) => `echo:${r as string}` }],
  [BIG, { deserialize: () => null, serialize: () => BIG_REPLY, handle: async () => null }],
]);

let dir: string;
let tls: { key: Buffer; cert: Buffer };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-hostile-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=hostile', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'),
  ], { stdio: 'ignore' });
  tls = { key: readFileSync(join(dir, 'tls.key')), cert: readFileSync(join(dir, 'tls.crt')) };
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface TestServer {
  unary: UnaryServer;
  port: number;
  refusals: Map<RefusalReason, number>;
  /** Resolves once `reason` was counted `n` times in all. */
  refused(reason: RefusalReason, n?: number): Promise<void>;
  close(): Promise<void>;
}

async function startServer(limits: Partial<ServerLimits>): Promise<TestServer> {
  const refusals = new Map<RefusalReason, number>();
  const waiters = new Set<() => void>();
  const unary = createUnaryServer({
    methods: METHODS, maxReceiveMessageBytes: 64 * 1024, tls, idleTimeoutMs: 60_000, keepaliveMs: 60_000, keepaliveTimeoutMs: 5_000,
    limits,
    onRefused: (reason) => {
      refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
      for (const w of [...waiters]) w();
    },
  });
  const listener: Server = createServer((socket) => unary.handleConnection(socket));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return {
    unary,
    port: (listener.address() as AddressInfo).port,
    refusals,
    refused: (reason, n = 1) => new Promise((resolve, reject) => {
      const check = (): void => {
        if ((refusals.get(reason) ?? 0) < n) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the server did not refuse "${reason}" ${n} times within ${WAIT_MS} ms (refusals: ${JSON.stringify([...refusals])})`));
      }, WAIT_MS);
      waiters.add(check);
      check();
    }),
    close: async () => {
      listener.close();
      await unary.close(100);
    },
  };
}

/** Polls `done` every 10 ms until it holds; fails after WAIT_MS (for server state that has no event). */
async function waitUntil(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!done()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One request over node:http2 that may send only part of its message; resolves with status, trailers and the close code. */
function partialCall(port: number, chunks: Buffer[], opts: { end?: boolean; headers?: Record<string, string>; localAddress?: string } = {}) {
  const session = h2connect(`https://127.0.0.1:${port}`, { ca: tls.cert, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  session.on('error', () => {});
  const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers', ...opts.headers });
  req.on('error', () => {});
  for (const chunk of chunks) req.write(chunk);
  if (opts.end) req.end();
  const result = new Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: Buffer; rstCode: number | undefined }>((resolve) => {
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const body: Buffer[] = [];
    req.on('response', (h) => void (headers = h));
    req.on('trailers', (t) => void (trailers = t));
    req.on('data', (c: Buffer) => body.push(c));
    req.on('close', () => resolve({ headers, trailers, body: Buffer.concat(body), rstCode: req.rstCode }));
  });
  return { session, req, result };
}
const grpcStatus = (r: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders }): string => String(r.trailers['grpc-status'] ?? r.headers['grpc-status']);

describe('hostile clients: streams and messages', () => {
  it('streams beyond 100 per connection are refused (REFUSED_STREAM); messages never completed are cut after the message timeout', TEST, async () => {
    const server = await startServer({ messageTimeoutMs: 300 });
    const client = await RawH2Client.connect(server.port);
    try {
      // 150 streams in one write, before the server's SETTINGS could be read: each declares a
      // 100-byte message and sends 10 bytes of it, and never the rest.
      const ids = Array.from({ length: 150 }, (_, i) => 2 * i + 1);
      client.send(Buffer.concat(ids.flatMap((id) => [grpcRequestHeaders(id, ECHO), frame(FRAME.DATA, 0, id, grpcMessage(100, Buffer.alloc(10)))])));
      await client.waitFor(() => client.resets().size === ids.length, WAIT_MS, 'a reset of every stream');
      const codes = [...client.resets().values()];
      assert.equal(codes.filter((c) => c === ERROR_CODE.REFUSED_STREAM).length, 50, 'the 50 streams over the cap are refused');
      assert.equal(codes.filter((c) => c === ERROR_CODE.NO_ERROR).length, 100, 'the 100 admitted ones are reset after their answer');
      // Each admitted stream got its answer (Trailers-Only HEADERS with END_STREAM) before the reset.
      const answered = new Set(client.frames.filter((f) => f.type === FRAME.HEADERS && (f.flags & FLAG.END_STREAM) !== 0).map((f) => f.streamId));
      assert.equal(answered.size, 100);
      assert.equal(server.refusals.get('message_timeout'), 100);
      await waitUntil(() => server.unary.stats().streams === 0, 'every stream to be released');
      assert.equal(server.unary.stats().bufferedBytes, 0, 'their buffered bytes are given back');
      assert.equal(client.closed, false, 'the connection itself stays usable');
    } finally {
      client.close();
      await server.close();
    }
  });

  it('an incomplete message gets DEADLINE_EXCEEDED after the message timeout, and the stream is reset with NO_ERROR', TEST, async () => {
    const server = await startServer({ messageTimeoutMs: 300 });
    const call = partialCall(server.port, [grpcMessage(100, Buffer.from('only part'))]);
    try {
      const r = await call.result;
      assert.equal(grpcStatus(r), '4');
      assert.match(String(r.headers['grpc-message']), /not received within 300 ms/);
      assert.equal(r.rstCode, ERROR_CODE.NO_ERROR);
      assert.equal(server.refusals.get('message_timeout'), 1);
    } finally {
      call.session.close();
      await server.close();
    }
  });

  it('request bytes buffered beyond the per-connection and the total budget are refused with RESOURCE_EXHAUSTED and given back', TEST, async () => {
    const server = await startServer({ maxBufferedBytesPerConnection: 5100, maxBufferedBytes: 7168 });
    const part = grpcMessage(3000, Buffer.alloc(2000, 0x61)); // 2,005 bytes of a 3,005-byte message
    const rest = Buffer.alloc(1000, 0x61);
    const send = (localAddress?: string) => partialCall(server.port, [part], localAddress ? { localAddress } : {});
    const a = send();
    await waitUntil(() => server.unary.stats().bufferedBytes === 2005, 'the first part to be buffered');
    const bStream = a.session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
    bStream.on('error', () => {});
    bStream.write(part);
    await waitUntil(() => server.unary.stats().bufferedBytes === 4010, 'the second part on the same connection');
    const cStream = a.session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
    cStream.on('error', () => {});
    const cHeaders = once(cStream, 'response');
    cStream.write(part);
    const [c] = (await cHeaders) as [IncomingHttpHeaders];
    assert.equal(c['grpc-status'], '8', 'over the connection budget: RESOURCE_EXHAUSTED');
    const d = send('127.0.0.2');
    await waitUntil(() => server.unary.stats().bufferedBytes === 6015, 'a part on a second connection');
    const e = send('127.0.0.2');
    try {
      const eResult = await e.result;
      assert.equal(grpcStatus(eResult), '8', 'over the total budget: RESOURCE_EXHAUSTED');
      assert.equal(server.refusals.get('buffered_bytes'), 2);
      // The admitted calls complete normally, one after the other (each rest fits the budgets).
      a.req.end(rest);
      assert.equal(grpcStatus(await a.result), '0');
      d.req.end(rest);
      assert.equal(grpcStatus(await d.result), '0');
      bStream.resume();
      bStream.end(rest);
      await once(bStream, 'close');
      await waitUntil(() => server.unary.stats().bufferedBytes === 0 && server.unary.stats().streams === 0, 'every buffered byte to be given back');
    } finally {
      for (const s of [a.session, d.session, e.session]) s.destroy();
      await server.close();
    }
  });

  it('a peer that does not read its responses is cut with GOAWAY ENHANCE_YOUR_CALM after the drain timeout', TEST, async () => {
    const server = await startServer({ drainTimeoutMs: 300 });
    // Unbounded HTTP/2 windows, so only TCP stops the server: 8 calls for 4 MiB each, never read.
    const client = await RawH2Client.connect(server.port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 2 ** 31 - 1]] });
    try {
      const ids = Array.from({ length: 8 }, (_, i) => 2 * i + 1);
      client.send(Buffer.concat([
        windowUpdateFrame(0, 2 ** 31 - 1 - 65_535),
        ...ids.flatMap((id) => [grpcRequestHeaders(id, BIG), frame(FRAME.DATA, FLAG.END_STREAM, id, grpcMessage(0, Buffer.alloc(0)))]),
      ]));
      client.socket.pause();
      await server.refused('unread_responses');
      await waitUntil(() => server.unary.stats().sessions === 0 && server.unary.stats().streams === 0, 'the session to be closed');
    } finally {
      client.close();
      await server.close();
    }
  });
  it('close(grace) ends even a connection whose peer stopped reading', TEST, async () => {
    const server = await startServer({ drainTimeoutMs: 60_000 });
    const client = await RawH2Client.connect(server.port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 2 ** 31 - 1]] });
    try {
      client.send(Buffer.concat([
        windowUpdateFrame(0, 2 ** 31 - 1 - 65_535),
        ...[1, 3, 5, 7].flatMap((id) => [grpcRequestHeaders(id, BIG), frame(FRAME.DATA, FLAG.END_STREAM, id, grpcMessage(0, Buffer.alloc(0)))]),
      ]));
      client.socket.pause();
      // 16 MiB of answers cannot all fit in the socket buffers: some calls stay under way.
      await waitUntil(() => server.unary.stats().sessions === 1 && server.unary.stats().streams > 0, 'answers to be stuck');
      await server.close();
      assert.equal(server.unary.stats().sessions, 0);
    } finally {
      client.close();
    }
  });
});

describe('hostile clients: connections', () => {
  /** Opens `n` TCP connections from `localAddress` that never start TLS; resolves with them once connected. */
  async function halfOpen(port: number, localAddress: string, n: number): Promise<Socket[]> {
    return Promise.all(Array.from({ length: n }, async () => {
      const socket = netConnect({ host: '127.0.0.1', port, localAddress });
      socket.on('error', () => {});
      await once(socket, 'connect');
      return socket;
    }));
  }

  it('caps connections per peer address and in total at accept; another peer is still served', TEST, async () => {
    const server = await startServer({ maxConnectionsPerPeer: 5, maxConnections: 8, handshakeTimeoutMs: 60_000 });
    const sockets: Socket[] = [];
    try {
      sockets.push(...(await halfOpen(server.port, '127.0.0.2', 10)));
      await server.refused('connections_per_peer', 5);
      await waitUntil(() => sockets.filter((s) => s.closed).length === 5, 'the 5 refused sockets to be closed');
      assert.equal(server.unary.stats().connections, 5);
      // A legitimate client from another address is served meanwhile.
      const legit = partialCall(server.port, [grpcMessage(2, Buffer.from('hi'))], { end: true, localAddress: '127.0.0.1' });
      const r = await legit.result;
      legit.session.close();
      assert.equal(grpcStatus(r), '0');
      assert.equal(r.body.subarray(5).toString(), 'echo:hi');
      await waitUntil(() => server.unary.stats().connections === 5, 'the legitimate connection to close');
      // Three more from a third address fill the total of 8; the fourth is refused.
      sockets.push(...(await halfOpen(server.port, '127.0.0.3', 4)));
      await server.refused('connections', 1);
      assert.equal(server.unary.stats().connections, 8);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  it('a connection that never completes its TLS handshake is closed after the handshake timeout', TEST, async () => {
    const server = await startServer({ handshakeTimeoutMs: 300 });
    try {
      const [socket] = await halfOpen(server.port, '127.0.0.1', 1);
      await Promise.all([once(socket!, 'close'), server.refused('handshake_timeout')]);
      await waitUntil(() => server.unary.stats().connections === 0, 'the connection to be released');
    } finally {
      await server.close();
    }
  });

  it('a connection that completes TLS but never sends a request is closed after the same time', TEST, async () => {
    const server = await startServer({ handshakeTimeoutMs: 300 });
    try {
      const socket = tlsConnect({ host: '127.0.0.1', port: server.port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
      socket.on('error', () => {});
      await once(socket, 'secureConnect');
      socket.resume();
      await Promise.all([once(socket, 'close'), server.refused('no_request')]);
      await waitUntil(() => server.unary.stats().connections === 0, 'the connection to be released');
    } finally {
      await server.close();
    }
  });
});

describe('grpc-timeout', () => {
  it('a timeout past setTimeout\'s range (99999999H) is served as no deadline, without a TimeoutOverflowWarning', TEST, async () => {
    const server = await startServer({});
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const call = partialCall(server.port, [grpcMessage(2, Buffer.from('hi'))], { end: true, headers: { 'grpc-timeout': '99999999H' } });
      const r = await call.result;
      call.session.close();
      assert.equal(grpcStatus(r), '0');
      assert.equal(r.body.subarray(5).toString(), 'echo:hi');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.map((w) => w.name), []);
    } finally {
      process.off('warning', onWarning);
      await server.close();
    }
  });
});

describe('connection cap and the open-file limit', () => {
  it('the total cap leaves FD_RESERVE descriptors of the soft open-file limit for everything else', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            256                  4096                 files     \n';
    assert.equal(openFileLimit(limits), 256);
    assert.equal(openFileLimit('Max open files            unlimited            unlimited            files'), undefined);
    assert.equal(connectionCap(8192, 256), 256 - FD_RESERVE);
    assert.equal(connectionCap(100, 1_048_576), 100);
    assert.equal(connectionCap(8192, undefined), 8192);
    assert.equal(connectionCap(8192, 64), 1, 'never zero');
  });
});
