/**
 * The connection gate's "all closed" signal (what memory-release.ts releases on after a storm),
 * with real TCP connections: it fires when the last admitted connection closes, not before, again
 * after the next one, never for refused connections, and not after unsubscribing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConnectionGate } from '../../src/sentry/grpc/connection-gate.js';

describe('connection gate: all closed', () => {
  let server: Server;
  let port: number;
  let gate: ConnectionGate;
  /** Server-side sockets in accept order, and whether the gate admitted each. */
  const accepted: { socket: Socket; admitted: boolean }[] = [];
  const waiters: (() => void)[] = [];

  before(async () => {
    gate = new ConnectionGate({ maxConnections: 3, maxConnectionsPerPeer: 3 });
    server = createServer((socket) => {
      const admitted = gate.admit(socket) === undefined;
      accepted.push({ socket, admitted });
      waiters.shift()?.();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(() => server.close());

  /** Opens one client connection and resolves with the server's side once the gate has seen it. */
  const open = async (): Promise<{ socket: Socket; admitted: boolean; client: Socket }> => {
    const seen = new Promise<void>((resolve) => waiters.push(resolve));
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    await seen;
    return { ...accepted.at(-1)!, client };
  };
  const closeServerSide = async (socket: Socket): Promise<void> => {
    const closed = once(socket, 'close');
    socket.destroy();
    await closed;
  };

  it('fires once, when the last admitted connection closes; refused connections never fire it', async () => {
    let fired = 0;
    const unsubscribe = gate.onAllClosed(() => fired++);
    try {
      const conns = [await open(), await open(), await open()];
      assert.deepEqual(conns.map((c) => c.admitted), [true, true, true]);
      const refused = await open();
      assert.equal(refused.admitted, false, 'over maxConnections');
      await closeServerSide(refused.socket);
      assert.equal(fired, 0, 'a refused connection is not counted, so its close is not a drain');
      await closeServerSide(conns[0]!.socket);
      await closeServerSide(conns[1]!.socket);
      assert.equal(fired, 0, 'one still open');
      assert.equal(gate.connections, 1);
      await closeServerSide(conns[2]!.socket);
      assert.equal(fired, 1, 'the last one closed');
      assert.equal(gate.connections, 0);
      const next = await open();
      await closeServerSide(next.socket);
      assert.equal(fired, 2, 'each drain fires again');
      for (const c of [...conns, refused, next]) c.client.destroy();
    } finally {
      unsubscribe();
    }
  });

  it('an unsubscribed listener is not called', async () => {
    let fired = 0;
    gate.onAllClosed(() => fired++)();
    const conn = await open();
    await closeServerSide(conn.socket);
    conn.client.destroy();
    assert.equal(fired, 0);
  });
});
