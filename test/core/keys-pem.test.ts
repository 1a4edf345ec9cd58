/** Private keys in the three PEM forms Dapr accepts (spec 2.7), and PEM decoding rules. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import { generatePrivateKey, keyAlgorithmOf, parsePrivateKeyPem, privateKeyToPkcs8Pem, publicKeysEqual } from '../../src/core/keys.js';
import { decodePemBlocks, encodePem } from '../../src/core/pem.js';
import { openssl } from '../support/openssl.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `openssl <args…> -out FILE [trailing…]` (genrsa wants the bit count last) and returns the PEM. */
function keyFile(name: string, args: string[], trailing: string[] = []): string {
  const file = join(dir, name);
  openssl([...args, '-out', file, ...trailing]);
  return readFileSync(file, 'utf8');
}

describe('private keys', () => {
  const sec1 = keyFile('sec1.pem', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']);
  const pkcs1 = keyFile('pkcs1.pem', ['genrsa', '-traditional'], ['2048']);
  const pkcs8Ed = keyFile('ed.pem', ['genpkey', '-algorithm', 'ed25519']);
  const pkcs8P384 = keyFile('p384.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']);

  it('parses SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" and PKCS#8 "PRIVATE KEY"', () => {
    assert.match(sec1, /BEGIN EC PRIVATE KEY/);
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem(sec1)), 'ecdsa-p256');
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem(pkcs1)), 'rsa');
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem(pkcs8Ed)), 'ed25519');
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem(pkcs8P384)), 'ecdsa-p384');
  });

  it('re-encodes every form as PKCS#8 without changing the key', () => {
    for (const pem of [sec1, pkcs1, pkcs8Ed, pkcs8P384]) {
      const key = parsePrivateKeyPem(pem);
      const again = parsePrivateKeyPem(privateKeyToPkcs8Pem(key));
      assert.match(privateKeyToPkcs8Pem(key), /^-----BEGIN PRIVATE KEY-----\n/);
      assert.ok(publicKeysEqual(key, again));
    }
  });

  it('skips an EC PARAMETERS block in front of a SEC1 key (openssl ecparam output)', () => {
    const withParams = keyFile('params.pem', ['ecparam', '-name', 'prime256v1', '-genkey']);
    assert.match(withParams, /BEGIN EC PARAMETERS/);
    assert.equal(keyAlgorithmOf(parsePrivateKeyPem(withParams)), 'ecdsa-p256');
  });

  it('refuses weak, unsupported, encrypted, missing and corrupt keys with codes', () => {
    const cases: Array<[string, string]> = [
      [keyFile('rsa1024.pem', ['genrsa'], ['1024']), 'ERR_KEY_UNSUPPORTED'],
      [keyFile('p521.pem', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521']), 'ERR_KEY_UNSUPPORTED'],
      [keyFile('ed448.pem', ['genpkey', '-algorithm', 'ed448']), 'ERR_KEY_UNSUPPORTED'],
      [keyFile('enc.pem', ['genpkey', '-algorithm', 'ed25519', '-aes256', '-pass', 'pass:x']), 'ERR_KEY_UNSUPPORTED'],
      [encodePem('CERTIFICATE', Buffer.from([1, 2, 3])), 'ERR_KEY_INVALID'],
      [encodePem('PRIVATE KEY', Buffer.from('not a key')), 'ERR_KEY_INVALID'],
      ['', 'ERR_KEY_INVALID'],
    ];
    for (const [pem, code] of cases) {
      assert.throws(() => parsePrivateKeyPem(pem), (err: unknown) => isWardenError(err, code as 'ERR_KEY_INVALID'), `expected ${code} for ${pem.slice(0, 40)}`);
    }
  });

  it('generates keys of every supported algorithm', () => {
    for (const algorithm of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa'] as const) {
      assert.equal(keyAlgorithmOf(generatePrivateKey(algorithm)), algorithm);
    }
  });
});

describe('PEM', () => {
  it('round-trips and wraps at 64 columns', () => {
    const der = Buffer.alloc(100, 0xab);
    const pem = encodePem('CERTIFICATE', der);
    assert.ok(pem.split('\n').every((line) => line.length <= 64));
    assert.deepEqual(decodePemBlocks(pem), [{ type: 'CERTIFICATE', der }]);
  });

  it('skips text outside blocks (comments) and keeps block order', () => {
    const text = `# root one\n${encodePem('CERTIFICATE', Buffer.from([1]))}junk\r\n${encodePem('PRIVATE KEY', Buffer.from([2]))}`;
    assert.deepEqual(decodePemBlocks(text).map((b) => b.type), ['CERTIFICATE', 'PRIVATE KEY']);
    assert.deepEqual(decodePemBlocks('no pem here'), []);
  });

  it('rejects mismatched END lines, non-base64 bodies, truncated base64 and headers', () => {
    const bad = [
      '-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n',
      '-----BEGIN CERTIFICATE-----\nAQ!D\n-----END CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----\nAQI\n-----END CERTIFICATE-----\n',
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAQID\n-----END RSA PRIVATE KEY-----\n',
    ];
    for (const text of bad) assert.throws(() => decodePemBlocks(text), (err: unknown) => isWardenError(err, 'ERR_PEM_INVALID'), text);
  });
});
