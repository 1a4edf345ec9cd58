/**
 * Sentry as a real process (`warden sentry` through the CLI) and graceful shutdown: it serves,
 * answers health checks, and on SIGTERM lets in-flight calls finish, closes its ports and exits 0.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { callError, connectSentry, csrPem, x509Chain } from '../support/sentry-client.js';
import { startTestSentry, tempDir } from '../support/sentry-harness.js';

const request = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(true));
  });
}

describe('process', () => {
  it('`warden sentry` serves over TLS, then exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [
      '--import', 'tsx', 'test/support/run-cli.ts', 'sentry',
      '--issuer-credentials', dir, '--trust-domain', 'cluster.local',
      '--port', '0', '--listen-address', '127.0.0.1',
      '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1',
      '--metrics-port', '0', '--metrics-listen-address', '127.0.0.1',
    ], { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, NAMESPACE: 'dapr-system' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const records: { msg?: string; port?: number; healthzPort?: number }[] = [];
    const started = new Promise<{ port: number; healthzPort: number }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const record = JSON.parse(line) as { msg?: string; port?: number; healthzPort?: number };
        records.push(record);
        if (record.msg?.startsWith('Sentry started')) resolve({ port: record.port as number, healthzPort: record.healthzPort as number });
      });
      void exited.then((code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
    });
    try {
      const { port, healthzPort } = await started;
      const client = connectSentry({
        address: `127.0.0.1:${port}`,
        anchorsPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
        expectedId: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry',
      });
      const res = await client.sign(request);
      assert.equal(x509Chain(res.workload_certificate)[0]?.subjectAltName, 'URI:spiffe://public/ns/default/myapp');
      assert.equal((await fetch(`http://127.0.0.1:${healthzPort}/healthz`)).status, 200);
      client.close();

      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
      assert.equal(code, 0, stderr);
      assert.ok(records.some((r) => r.msg === 'Sentry stopped'), 'logged the stop');
      assert.ok(await portIsClosed(port));
      assert.ok(await portIsClosed(healthzPort));
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close() lets calls already in flight finish, then refuses new ones', async () => {
    const t = await startTestSentry({ logLevel: 'info' });
    const client = t.client();
    const anchorsPem = t.anchorsPem();
    await client.sign(request);
    const metrics = t.sentry.metrics;
    const calls = Array.from({ length: 200 }, (_, i) => client.sign({ ...request, id: `app-${i}` }, 300_000)) // hang bound: a call past it would be DEADLINE_EXCEEDED, not the UNAVAILABLE checked below;
    // Close as soon as the server holds calls it has received but not yet answered.
    let inFlight = 0;
    for (let i = 0; i < 10_000 && inFlight === 0; i++) {
      await new Promise((r) => setImmediate(r));
      const received = (await metrics.requestReceived.get()).values[0]?.value ?? 0;
      const done = ((await metrics.signSuccess.get()).values[0]?.value ?? 0);
      inFlight = received - done;
    }
    assert.ok(inFlight > 0, 'no call was in flight');
    const closing = t.close();
    const results = await Promise.allSettled(calls);
    await closing;
    const received = (await metrics.requestReceived.get()).values[0]?.value ?? 0;
    const succeeded = results.filter((r) => r.status === 'fulfilled').length;
    // Every call the server had accepted was answered; the rest were refused at the door.
    assert.equal(succeeded, received - 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    }
    assert.ok(await portIsClosed(t.sentry.port));
    const after = connectSentry({ address: t.address, anchorsPem, expectedId: t.sentry.spiffeId });
    assert.equal((await callError(after.sign(request, 60_000))).code, grpc.status.UNAVAILABLE);
    after.close();
  });
});
