/**
 * Issue 12 items 6 and 7 over gRPC: weak CSR keys and over-long identities are refused with Dapr's
 * status and message for the step that refuses them (spec 1.4), and counted. Before, each of these
 * requests was certified.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createCsr } from '../../src/core/csr.js';
import { encodePem } from '../../src/core/pem.js';
import type { SignFailureReason } from '../../src/sentry/metrics.js';
import { exponentOneRsaCsr, smallOrderEd25519Csr } from '../support/forged-csrs.js';
import { callError, csrPem, x509Chain, type SignRequestInput, type SentryTestClient } from '../support/sentry-client.js';
import { startTestSentry, type TestSentry } from '../support/sentry-harness.js';

const good = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };
const pemCsr = (der: Buffer): Buffer => Buffer.from(encodePem('CERTIFICATE REQUEST', der));

/** An 8200-bit RSA CSR: openssl makes the key from 5 primes, which takes seconds instead of minutes. */
async function oversizedRsaCsr(): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-rsa-'));
  try {
    const file = join(dir, 'key.pem');
    await promisify(execFile)('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:8200', '-pkeyopt', 'rsa_keygen_primes:5', '-out', file]);
    return pemCsr(createCsr(createPrivateKey(readFileSync(file))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bigRsaCsr = oversizedRsaCsr();

for (const signThreads of [0, 2]) {
  describe(`weak keys and identity limits, ${signThreads} signing threads`, () => {
    let t: TestSentry;
    let client: SentryTestClient;

    before(async () => {
      t = await startTestSentry({ options: { signThreads } });
      client = t.client();
    });
    after(() => t.close());

    async function failures(reason: SignFailureReason): Promise<number> {
      return (await t.sentry.metrics.signFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    }

    async function refused(req: SignRequestInput, code: grpc.status, details: string, reason: SignFailureReason): Promise<void> {
      const before = await failures(reason);
      const err = await callError(client.sign(req));
      assert.deepEqual(err, { code, details }, `got ${grpc.status[err.code]} ${JSON.stringify(err.details)}`);
      assert.equal(await failures(reason), before + 1, `failures{reason="${reason}"}`);
    }

    it('item 6: an Ed25519 small-order key with a forged signature → INVALID_ARGUMENT "invalid signature"', async () => {
      await refused({ ...good, certificate_signing_request: pemCsr(smallOrderEd25519Csr()) }, grpc.status.INVALID_ARGUMENT, 'invalid signature', 'csr_signature');
    });

    it('item 6: RSA with e = 1 and a forged signature → INVALID_ARGUMENT "invalid signature"', async () => {
      await refused({ ...good, certificate_signing_request: pemCsr(exponentOneRsaCsr()) }, grpc.status.INVALID_ARGUMENT, 'invalid signature', 'csr_signature');
    });

    it('item 6: RSA over 8192 bits → INVALID_ARGUMENT "failed to parse certificate signing request: …"', async () => {
      await refused({ ...good, certificate_signing_request: await bigRsaCsr }, grpc.status.INVALID_ARGUMENT,
        'failed to parse certificate signing request: RSA keys of 8200 bits are larger than 8192 bits, the most Go\'s TLS accepts', 'invalid_csr');
    });

    it('item 7: trust domain ".." or over 255 bytes → PERMISSION_DENIED, unprefixed (a validator error)', async () => {
      const D = grpc.status.PERMISSION_DENIED;
      await refused({ ...good, trust_domain: '..' }, D, 'trust domain cannot have empty labels (a leading, trailing or double dot, as in "..")', 'validator');
      await refused({ ...good, trust_domain: 'a'.repeat(256) }, D, 'trust domain cannot be longer than 255 bytes', 'validator');
      const td255 = `${'a'.repeat(127)}.${'b'.repeat(127)}`;
      const leaf = x509Chain((await client.sign({ ...good, trust_domain: td255 })).workload_certificate)[0];
      assert.equal(leaf?.subjectAltName, `URI:spiffe://${td255}/ns/default/myapp`);
    });

    it('item 7: a SPIFFE ID over 2,048 bytes → INTERNAL "failed to sign certificate"; 2,048 is signed', async () => {
      const namespace = 'n'.repeat(2048 - 'spiffe://public/ns//myapp'.length);
      const leaf = x509Chain((await client.sign({ ...good, namespace })).workload_certificate)[0];
      assert.equal(leaf?.subjectAltName, `URI:spiffe://public/ns/${namespace}/myapp`);
      await refused({ ...good, namespace: `${namespace}n` }, grpc.status.INTERNAL, 'failed to sign certificate', 'invalid_identity');
    });
  });
}
