/**
 * Spec 9, statements 11–14, and the rest of spec 1.4/1.6: every refusal's gRPC status and exact
 * message, in Dapr's pipeline order, and the failure counters each one moves.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCsr } from '../../src/core/csr.js';
import { encodePem } from '../../src/core/pem.js';
import type { SignFailureReason } from '../../src/sentry/metrics.js';
import { callError, csrPem, type SignRequestInput, type SentryTestClient } from '../support/sentry-client.js';
import { startTestSentry, type TestSentry } from '../support/sentry-harness.js';

const key = generateKeyPairSync('ed25519').privateKey;
const CSR = csrPem(key);
const good = { id: 'myapp', namespace: 'default', certificate_signing_request: CSR };

/** A PEM CSR made by openssl for `privateKey` (keys our own CSR code would refuse to sign with). */
function opensslCsr(privateKey: KeyObject): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'warden-csr-'));
  try {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    return execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=x'], { stdio: ['pipe', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The same refusals, statuses and messages whether the main thread signs or signing threads do.
for (const signThreads of [0, 2]) {
describe(`SignCertificate refusals, ${signThreads} signing threads`, () => {
  let t: TestSentry;
  let client: SentryTestClient;

  before(async () => {
    t = await startTestSentry({ options: { signThreads } });
    client = t.client();
  });
  after(() => t.close());

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const v of (await t.sentry.metrics.signFailures.get()).values) out[String(v.labels.reason)] = v.value;
    const dapr = (await t.sentry.metrics.signFailure.get()).values.find((v) => v.labels.reason === 'sign');
    out.dapr = dapr?.value ?? 0;
    out.received = (await t.sentry.metrics.requestReceived.get()).values[0]?.value ?? 0;
    return out;
  }

  /** The call fails with exactly `code` and `details`, and counts once under `reason`. */
  async function refused(req: SignRequestInput, code: grpc.status, details: string, reason: SignFailureReason): Promise<void> {
    const before = await counts();
    const err = await callError(client.sign(req));
    assert.deepEqual(err, { code, details }, `got ${grpc.status[err.code]} ${JSON.stringify(err.details)}`);
    const afterCounts = await counts();
    assert.equal(afterCounts.received, (before.received ?? 0) + 1, 'request_received_total');
    assert.equal(afterCounts.dapr, (before.dapr ?? 0) + 1, 'dapr failure_total{reason="sign"}');
    assert.equal(afterCounts[reason], (before[reason] ?? 0) + 1, `warden failures{reason="${reason}"}`);
  }

  it('11: empty id, id with a dot, 65-byte id → PERMISSION_DENIED with Dapr\'s text', async () => {
    const D = grpc.status.PERMISSION_DENIED;
    await refused({ ...good, id: '' }, D, 'invalid request: parameter app-id cannot be empty', 'validator');
    await refused({ ...good, id: 'my.app' }, D, 'invalid request: parameter app-id cannot contain dots', 'validator');
    await refused({ ...good, id: 'a'.repeat(65) }, D, 'invalid request: app ID must be 64 characters or less', 'validator');
  });

  it('12: empty namespace, empty CSR → PERMISSION_DENIED; several problems are newline-joined', async () => {
    const D = grpc.status.PERMISSION_DENIED;
    await refused({ ...good, namespace: '' }, D, 'invalid request: namespace is required', 'validator');
    await refused({ ...good, certificate_signing_request: Buffer.alloc(0) }, D, 'invalid request: CSR is required', 'validator');
    await refused({ id: '', namespace: '' }, D, 'invalid request: parameter app-id cannot be empty\nCSR is required\nnamespace is required', 'validator');
  });

  it('an invalid trust domain → PERMISSION_DENIED with go-spiffe\'s text, no prefix', async () => {
    await refused({ ...good, trust_domain: 'Cluster.Local' }, grpc.status.PERMISSION_DENIED,
      'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores', 'validator');
  });

  it('13: PEM type PRIVATE KEY, no PEM, broken PEM → INVALID_ARGUMENT "invalid certificate signing request"', async () => {
    const I = grpc.status.INVALID_ARGUMENT;
    const msg = 'invalid certificate signing request';
    const pkcs8 = Buffer.from(key.export({ format: 'pem', type: 'pkcs8' }) as string);
    await refused({ ...good, certificate_signing_request: pkcs8 }, I, msg, 'invalid_csr');
    await refused({ ...good, certificate_signing_request: createCsr(key) /* DER, not PEM */ }, I, msg, 'invalid_csr');
    await refused({ ...good, certificate_signing_request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n') }, I, msg, 'invalid_csr');
  });

  it('13: a tampered CSR signature → INVALID_ARGUMENT "invalid signature"', async () => {
    const der = createCsr(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    // Flip a bit inside the signature value (the last bytes of the DER).
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01;
    await refused({ ...good, certificate_signing_request: Buffer.from(encodePem('CERTIFICATE REQUEST', der)) },
      grpc.status.INVALID_ARGUMENT, 'invalid signature', 'csr_signature');
    // A signature made by another key over the same request info.
    const other = createCsr(generateKeyPairSync('ed25519').privateKey);
    const mine = createCsr(key);
    const forged = Buffer.concat([mine.subarray(0, mine.length - 64), other.subarray(other.length - 64)]);
    await refused({ ...good, certificate_signing_request: Buffer.from(encodePem('CERTIFICATE REQUEST', forged)) },
      grpc.status.INVALID_ARGUMENT, 'invalid signature', 'csr_signature');
  });

  it('garbage DER, RSA-1024 and DSA keys, oversize CSRs → INVALID_ARGUMENT "failed to parse certificate signing request: …"', async () => {
    const cases: [string, Buffer][] = [
      ['garbage', Buffer.from(encodePem('CERTIFICATE REQUEST', Buffer.from('not a csr at all')))],
      ['rsa-1024', opensslCsr(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)],
      ['dsa', opensslCsr(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey)],
      ['20 KiB', Buffer.from(encodePem('CERTIFICATE REQUEST', Buffer.alloc(20 * 1024, 0x30)))],
    ];
    for (const [name, pem] of cases) {
      const before = await counts();
      const err = await callError(client.sign({ ...good, certificate_signing_request: pem }));
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, name);
      assert.match(err.details, /^failed to parse certificate signing request: \S/, name);
      assert.equal((await counts()).invalid_csr, (before.invalid_csr ?? 0) + 1, name);
    }
  });

  it('14: KUBERNETES, JWKS or an unknown validator → INVALID_ARGUMENT "the requested validator is not enabled", before validation', async () => {
    const I = grpc.status.INVALID_ARGUMENT;
    const msg = 'the requested validator is not enabled';
    await refused({ ...good, token_validator: 'KUBERNETES' }, I, msg, 'validator');
    await refused({ ...good, token_validator: 'JWKS' }, I, msg, 'validator');
    await refused({ ...good, token_validator: 9 }, I, msg, 'validator');
    // Step 2 comes before step 3: an invalid request with a disabled validator reports the validator.
    await refused({ id: '', token_validator: 'KUBERNETES' }, I, msg, 'validator');
    // INSECURE asked for explicitly works.
    await client.sign({ ...good, token_validator: 'INSECURE' });
  });

  it('validation comes before the CSR: an invalid id with a garbage CSR reports the id', async () => {
    await refused({ ...good, id: 'a.b', certificate_signing_request: Buffer.from('garbage') },
      grpc.status.PERMISSION_DENIED, 'invalid request: parameter app-id cannot contain dots', 'validator');
  });

  it('path characters the SPIFFE ID cannot hold → INTERNAL "failed to sign certificate" (as Dapr)', async () => {
    await refused({ ...good, id: 'my app' }, grpc.status.INTERNAL, 'failed to sign certificate', 'invalid_identity');
    await refused({ ...good, namespace: 'a/b' }, grpc.status.INTERNAL, 'failed to sign certificate', 'invalid_identity');
  });

  it('a refused call leaves the server serving', async () => {
    const res = await client.sign(good);
    assert.match(res.workload_certificate.toString(), /^-----BEGIN CERTIFICATE-----/);
  });
});
}
