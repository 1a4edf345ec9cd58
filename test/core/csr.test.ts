/** CSR parsing and self-signature verification, against CSRs made by openssl and by Warden itself. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCsr, MAX_CSR_BYTES, parseCsr, verifyCsrSignature } from '../../src/core/csr.js';
import { isWardenError, type ErrorCode } from '../../src/core/errors.js';
import { generatePrivateKey, publicKeysEqual } from '../../src/core/keys.js';
import { decodePemBlocks } from '../../src/core/pem.js';
import { openssl } from '../support/openssl.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-csr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A CSR made by openssl (an independent encoder) with a subject and a SAN, as some clients send. */
function opensslCsr(name: string, keyArgs: string[]): Buffer {
  const key = join(dir, `${name}.key`);
  openssl(['genpkey', ...keyArgs, '-out', key]);
  const pem = openssl(['req', '-new', '-key', key, '-subj', '/CN=ignored', '-addext', 'subjectAltName=URI:spiffe://evil/ns/x/y']);
  return decodePemBlocks(pem)[0]!.der;
}

const rejectsWith = async (fn: () => unknown, code: ErrorCode) =>
  assert.rejects(async () => fn(), (err: unknown) => isWardenError(err, code));

describe('CSR parsing and verification', () => {
  const accepted = {
    'ecdsa-p256': opensslCsr('p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']),
    'ecdsa-p384': opensslCsr('p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']),
    ed25519: opensslCsr('ed25519', ['-algorithm', 'ed25519']),
    rsa: opensslCsr('rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']),
  } as const;

  for (const [algorithm, der] of Object.entries(accepted)) {
    it(`accepts an openssl ${algorithm} CSR and verifies its signature`, async () => {
      const csr = parseCsr(der);
      assert.equal(csr.keyAlgorithm, algorithm);
      assert.equal(csr.subject.text, 'CN=ignored');
      await verifyCsrSignature(csr);
      const keyFile = join(dir, `${algorithm === 'ecdsa-p256' ? 'p256' : algorithm === 'ecdsa-p384' ? 'p384' : algorithm}.key`);
      const expectedSpki = openssl(['pkey', '-in', keyFile, '-pubout']);
      assert.equal(csr.publicKey.export({ format: 'pem', type: 'spki' }), expectedSpki);
    });
  }

  it('createCsr makes the empty-subject CSR daprd sends, which openssl verifies', async () => {
    for (const algorithm of ['ed25519', 'ecdsa-p256'] as const) {
      const key = generatePrivateKey(algorithm);
      const der = createCsr(key);
      const csr = parseCsr(der);
      assert.equal(csr.subject.text, '');
      assert.ok(publicKeysEqual(csr.publicKey, key));
      await verifyCsrSignature(csr);
      const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
      assert.match(openssl(['req', '-verify', '-noout', '-text'], pem), /Subject:\s*\n/);
    }
  });

  it('rejects a tampered signature with ERR_CSR_SIGNATURE', async () => {
    for (const der of Object.values(accepted)) {
      const tampered = Buffer.from(der);
      tampered[tampered.length - 5]! ^= 0x01;
      await rejectsWith(async () => verifyCsrSignature(parseCsr(tampered)), 'ERR_CSR_SIGNATURE');
    }
  });

  it('rejects a tampered subject (signed content changed) with ERR_CSR_SIGNATURE', async () => {
    const der = Buffer.from(accepted['ecdsa-p256']);
    const at = der.indexOf(Buffer.from('ignored'));
    der[at] = 'J'.charCodeAt(0);
    await rejectsWith(async () => verifyCsrSignature(parseCsr(der)), 'ERR_CSR_SIGNATURE');
  });

  it('rejects truncated input, trailing garbage and a certificate given as a CSR with ERR_CSR_INVALID', async () => {
    const der = accepted['ecdsa-p256'];
    for (const cut of [0, 1, 10, der.length - 1]) await rejectsWith(() => parseCsr(der.subarray(0, cut)), 'ERR_CSR_INVALID');
    await rejectsWith(() => parseCsr(Buffer.concat([der, Buffer.from([0])])), 'ERR_CSR_INVALID');
    const certPem = openssl(['req', '-x509', '-key', join(dir, 'p256.key'), '-subj', '/CN=x', '-days', '1']);
    await rejectsWith(() => parseCsr(decodePemBlocks(certPem)[0]!.der), 'ERR_CSR_INVALID');
  });

  it('rejects oversized input before parsing with ERR_CSR_TOO_LARGE', async () => {
    await rejectsWith(() => parseCsr(Buffer.alloc(MAX_CSR_BYTES + 1, 0x30)), 'ERR_CSR_TOO_LARGE');
  });

  it('rejects weak or unsupported keys with ERR_CSR_KEY_UNSUPPORTED', async () => {
    const rsa1024 = opensslCsr('rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
    await rejectsWith(() => parseCsr(rsa1024), 'ERR_CSR_KEY_UNSUPPORTED');
    const p521 = opensslCsr('p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']);
    await rejectsWith(() => parseCsr(p521), 'ERR_CSR_KEY_UNSUPPORTED');
    const ed448 = opensslCsr('ed448', ['-algorithm', 'ed448']);
    await rejectsWith(() => parseCsr(ed448), 'ERR_CSR_KEY_UNSUPPORTED');
  });
});
