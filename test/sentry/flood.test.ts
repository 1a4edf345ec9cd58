/**
 * Issue 12, as a real process: `warden sentry` under an open-file limit of 256 while one address
 * floods its gRPC port with connections that never start TLS. The flood gets its per-peer share
 * and no more, so /healthz and a legitimate client (another loopback address) are still served;
 * a deadline past setTimeout's range is honoured as no deadline; stderr carries nothing but JSON.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { connectSentry, csrPem } from '../support/sentry-client.js';
import { tempDir } from '../support/sentry-harness.js';
import { waitUntil } from '../support/wait-until.js';

const FD_LIMIT = 256;
const PER_PEER = 64;
const FLOOD = 400;
const DAY_MS = 24 * 60 * 60 * 1000;

describe('a flooded sentry process', () => {
  it(`under ulimit -n ${FD_LIMIT}, ${FLOOD} half-open connections from one address leave /healthz and other clients served`, { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const command = [
      `ulimit -n ${FD_LIMIT}`,
      `exec "${process.execPath}" --import tsx test/support/run-cli.ts sentry --issuer-credentials "${dir}"` +
        ' --port 0 --listen-address 127.0.0.1 --healthz-port 0 --healthz-listen-address 127.0.0.1' +
        ` --metrics-port 0 --metrics-listen-address 127.0.0.1 --max-connections-per-peer ${PER_PEER}`,
    ].join(' && ');
    const child = spawn('bash', ['-c', command], {
      cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, NAMESPACE: 'default' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const started = new Promise<{ port: number; healthzPort: number; metricsPort: number }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const record = JSON.parse(line) as { msg?: string; port?: number; healthzPort?: number; metricsPort?: number };
        if (record.msg?.startsWith('Sentry started')) resolve(record as { port: number; healthzPort: number; metricsPort: number });
      });
      void exited.then((code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
    });
    const flood: Socket[] = [];
    try {
      const { port, healthzPort, metricsPort } = await started;
      // The flood: every connection from 127.0.0.2 is accepted by the kernel; the sentry keeps
      // PER_PEER of them (waiting for a handshake) and resets the rest at once.
      await Promise.all(Array.from({ length: FLOOD }, async () => {
        const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
        socket.on('error', () => {});
        flood.push(socket);
        // A refused one may be reset before its connect event is seen.
        await new Promise<void>((resolve) => {
          socket.once('connect', () => resolve());
          socket.once('close', () => resolve());
        });
      }));
      const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const refusedPerPeer = async (): Promise<number> =>
        Number(/^warden_sentry_grpc_refused_total\{reason="connections_per_peer"\} (\d+)$/m.exec(await metrics())?.[1] ?? Number.NaN);
      await waitUntil('every over-the-cap connection refused', async () => (await refusedPerPeer()) >= FLOOD - PER_PEER);
      assert.equal(await refusedPerPeer(), FLOOD - PER_PEER);

      assert.equal((await fetch(`http://127.0.0.1:${healthzPort}/healthz`)).status, 200);
      const client = connectSentry({
        address: `127.0.0.1:${port}`, anchorsPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), expectedId: 'spiffe://localhost/ns/default/dapr-sentry',
      });
      try {
        // 30 days: grpc-js sends `720H`, past setTimeout's 2^31-1 ms.
        const res = await client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) }, 30 * DAY_MS);
        assert.ok(res.workload_certificate.length > 0);
      } finally {
        client.close();
      }
      const nonJson = stderr.split('\n').filter((line) => line.trim() !== '' && !isJson(line));
      assert.deepEqual(nonJson, [], 'stderr has only JSON lines');
    } finally {
      for (const s of flood) s.destroy();
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
