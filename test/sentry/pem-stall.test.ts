/**
 * Issue 12 item 1, over real gRPC: one crafted SignCertificate request (a 60 KB CSR field that
 * made the previous PEM expressions backtrack cubically) must not stall the sentry. With
 * `--sign-threads 0` every step runs on the main thread, so a stall there froze TLS, /healthz and
 * every other call (measured before the fix: minutes for this input).
 *
 * The crafted call and an honest call go out back to back on one HTTP/2 connection, so the
 * server reads the crafted one first: the honest call can only complete once the crafted one has
 * been dealt with. Both carry a generous deadline (20 s) only so that a regression fails instead
 * of hanging; the time itself is measured by `npm run bench -- pem`.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { repeatTo } from '../../bench/pem-inputs.js';
import { callError, connectSentry, csrPem, x509Chain } from '../support/sentry-client.js';
import { tempDir } from '../support/sentry-harness.js';

const DEADLINE_MS = 20_000;

describe('a crafted PEM body does not stall the sentry (--sign-threads 0)', () => {
  it('refuses a 60 KB crafted CSR with INVALID_ARGUMENT while the call behind it is served', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [
      '--import', 'tsx', 'test/support/run-cli.ts', 'sentry',
      '--issuer-credentials', dir, '--trust-domain', 'cluster.local', '--sign-threads', '0',
      '--port', '0', '--listen-address', '127.0.0.1',
      '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1',
      '--metrics-port', '0', '--metrics-listen-address', '127.0.0.1',
    ], { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, NAMESPACE: 'dapr-system' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = new Promise<{ port: number; healthzPort: number }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const record = JSON.parse(line) as { msg?: string; port?: number; healthzPort?: number };
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
      const honest = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };
      await client.sign(honest); // the connection is up: both calls below go out on it in order

      const crafted = Buffer.from(repeatTo(60_000, '-----BEGIN '), 'latin1');
      const craftedCall = callError(client.sign({ ...honest, id: 'crafted', certificate_signing_request: crafted }, DEADLINE_MS));
      const honestCall = client.sign({ ...honest, id: 'after-crafted' }, DEADLINE_MS);

      const leaf = x509Chain((await honestCall).workload_certificate)[0];
      assert.equal(leaf?.subjectAltName, 'URI:spiffe://public/ns/default/after-crafted');
      const refusal = await craftedCall;
      assert.equal(refusal.code, grpc.status.INVALID_ARGUMENT, refusal.details);
      assert.equal(refusal.details, 'invalid certificate signing request');
      assert.equal((await fetch(`http://127.0.0.1:${healthzPort}/healthz`)).status, 200);
      client.close();
    } finally {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
