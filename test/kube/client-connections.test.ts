/**
 * loadKubeClients' adjustments to client-node 2's HTTP layer: API calls share one undici client (one
 * TLS connection) instead of one per request, and a watch's inactivity timer is Warden's, not
 * client-node's 30 s.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadKubeClients } from '../../src/kube/client.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';

/** A TCP forwarder to `port` that counts the connections made through it (TLS passes through). */
async function countingForwarder(port: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('loadKubeClients over client-node 2 (undici)', () => {
  let server: KubeApiServer;
  let dir: string;
  before(async () => {
    server = await startKubeApiServer();
    dir = await mkdtemp(join(tmpdir(), 'warden-kube-conn-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sequential API calls reuse one TLS connection (client-node alone opens one per call)', { timeout: 60_000 }, async () => {
    const forwarder = await countingForwarder(server.port);
    try {
      const path = join(dir, 'forwarded');
      await writeFile(path, server.kubeconfigYaml.replace(server.url, `https://127.0.0.1:${forwarder.port}`));
      const clients = await loadKubeClients({ kubeconfig: path });
      const calls = 8;
      for (let i = 0; i < calls; i++) {
        assert.ok((await clients.core.listNamespace()).items.length > 0);
        await clients.core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' }).catch(() => undefined);
      }
      // One connection unless the machine stalled past undici's keep-alive (4 s) between two calls.
      assert.ok(forwarder.connections() <= 2, `${forwarder.connections()} connections for ${2 * calls} calls`);
    } finally {
      await forwarder.close();
    }
  });

  it('a watch that receives nothing for watchIdleTimeoutMs ends with a TimeoutError; the default outlasts the server-side 300 s', { timeout: 20_000 }, async () => {
    const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath, watchIdleTimeoutMs: 300 });
    const started = performance.now();
    const ended = new Promise<unknown>((resolve) => {
      void clients.watch.watch('/api/v1/namespaces/default/configmaps', { fieldSelector: 'metadata.name=nothing-here', timeoutSeconds: 60 }, () => undefined, resolve);
    });
    const err = await ended;
    assert.equal((err as Error | null)?.name, 'TimeoutError');
    assert.ok(performance.now() - started >= 250, 'not before the idle timeout');

    const defaults = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
    assert.equal((defaults.watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs, 330_000);
  });
});
