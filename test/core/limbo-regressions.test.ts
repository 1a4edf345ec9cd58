/**
 * The defects the x509-limbo and Wycheproof runs found, each pinned to the exact certificate that
 * found it (test/vectors/x509-limbo/limbo-subset.json) and to a certificate built here, so the
 * failure names the rule rather than a limbo id.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { parseCertificate, parseCertificatesPem, type Certificate } from '../../src/core/certificate.js';
import { isWardenError } from '../../src/core/errors.js';
import { verifyChainToAnchors } from '../../src/sidecar-client/verify-chain.js';

interface LimboCase { id: string; trusted_certs: string[]; untrusted_intermediates: string[]; peer_certificate: string }
const cases = (JSON.parse(readFileSync(new URL('../vectors/x509-limbo/limbo-subset.json', import.meta.url), 'utf8')) as { testcases: LimboCase[] }).testcases;
const limbo = (id: string) => cases.find((tc) => tc.id === id) as LimboCase;
const parse = (pem: string) => parseCertificatesPem(pem)[0] as Certificate;
const NOW = new Date('2026-06-01T00:00:00Z');

/** Leaf first, then each intermediate that names the previous one's issuer. */
function servedChain(tc: LimboCase): Certificate[] {
  const pool = tc.untrusted_intermediates.map(parse);
  const chain = [parse(tc.peer_certificate)];
  for (let next = pool.find((c) => c.subject.der.equals(chain[0]!.issuer.der)); next; ) {
    chain.push(next);
    pool.splice(pool.indexOf(next), 1);
    const issuer = next.issuer.der;
    next = pool.find((c) => c.subject.der.equals(issuer));
  }
  return chain;
}

function certInvalid(pattern: RegExp): (err: unknown) => boolean {
  return (err) => isWardenError(err, 'ERR_CERT_INVALID') && pattern.test((err as Error).message);
}
function untrusted(pattern: RegExp): (err: unknown) => boolean {
  return (err) => isWardenError(err, 'ERR_SENTRY_CHAIN_UNTRUSTED') && pattern.test((err as Error).message);
}

x509.cryptoProvider.set(webcrypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);

async function selfSigned(extensions: x509.Extension[]): Promise<Buffer> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=t', notBefore: new Date('2026-01-01Z'), notAfter: new Date('2027-01-01Z'),
    signingAlgorithm: alg, keys, extensions,
  });
  return Buffer.from(cert.rawData);
}

describe('certificate parsing: rules found by the published vectors', () => {
  it('refuses an empty ExtendedKeyUsage (SIZE 1..MAX), which would otherwise read as "any usage"', async () => {
    assert.throws(() => parse(limbo('rfc5280::eku::ee-eku-empty').peer_certificate), certInvalid(/extKeyUsage lists no purpose/));
    const der = await selfSigned([new x509.Extension('2.5.29.37', false, Buffer.from('3000', 'hex'))]);
    assert.throws(() => parseCertificate(der), certInvalid(/extKeyUsage lists no purpose/));
    const ok = await selfSigned([new x509.Extension('2.5.29.37', false, Buffer.from('300a06082b06010505070301', 'hex'))]);
    assert.deepEqual(parseCertificate(ok).extKeyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('refuses an empty SubjectAltName (GeneralNames is SIZE 1..MAX)', async () => {
    const der = await selfSigned([new x509.Extension('2.5.29.17', false, Buffer.from('3000', 'hex'))]);
    assert.throws(() => parseCertificate(der), certInvalid(/subjectAltName lists no name/));
  });

  it('refuses an EC key with explicit curve parameters (RFC 5480: namedCurve only)', () => {
    const tc = limbo('webpki::explicit-curve');
    assert.throws(() => parse(tc.peer_certificate), certInvalid(/must name its curve/));
    assert.throws(() => parse(tc.trusted_certs[0]!), certInvalid(/must name its curve/));
  });
});

describe('verifyChainToAnchors: CA rules found by the published vectors', () => {
  it('refuses a chain whose signing anchor lacks BasicConstraints CA:TRUE', () => {
    const tc = limbo('rfc5280::root-missing-basic-constraints');
    assert.throws(() => verifyChainToAnchors(servedChain(tc), tc.trusted_certs.map(parse), NOW), untrusted(/trust anchor .* is not a CA certificate/));
  });

  it('refuses a chain whose signing anchor is a CA without keyCertSign', () => {
    const tc = limbo('rfc5280::root-inconsistent-ca-extensions');
    assert.throws(() => verifyChainToAnchors(servedChain(tc), tc.trusted_certs.map(parse), NOW), untrusted(/trust anchor .* lacks keyCertSign/));
  });

  it('refuses an intermediate under a pathLen=0 CA, and accepts a leaf directly under it', () => {
    const bad = limbo('pathlen::intermediate-violates-pathlen-0');
    assert.throws(() => verifyChainToAnchors(servedChain(bad), bad.trusted_certs.map(parse), NOW), untrusted(/pathLen=0 but 1 CA certificate/));
    const good = limbo('pathlen::ee-with-intermediate-pathlen-0');
    const chain = servedChain(good);
    assert.equal(chain.length, 2);
    verifyChainToAnchors(chain, good.trusted_certs.map(parse), NOW);
  });
});

describe('certificate parsing: rules found by the differential fuzz', () => {
  it('refuses a SubjectPublicKeyInfo whose key BIT STRING claims unused bits (found by an early fuzz run)', async () => {
    const good = await selfSigned([]);
    const cert = parseCertificate(good);
    const at = good.indexOf(cert.spkiDer);
    const bitStringHeader = cert.spkiDer.indexOf(Buffer.from([0x03, 0x42, 0x00]));
    assert.ok(at > 0 && bitStringHeader > 0);
    const bad = Buffer.from(good);
    bad[at + bitStringHeader + 2] = 0x01; // one unused bit; the last key byte's low bit is then ignored by OpenSSL
    bad[at + cert.spkiDer.length - 1]! &= 0xfe;
    assert.throws(() => parseCertificate(bad), certInvalid(/subjectPublicKey has unused bits/));
  });
});
