/**
 * Spec 9, statements 2–10: what a successful SignCertificate returns, checked over TCP+TLS against
 * a real in-process server, with node's X509Certificate, @peculiar/x509 and openssl as oracles.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createCsr } from '../../src/core/csr.js';
import { encodePem } from '../../src/core/pem.js';
import { opensslVerify } from '../support/openssl.js';
import { csrPem, x509Chain, type SentryTestClient } from '../support/sentry-client.js';
import { startTestSentry, type TestSentry } from '../support/sentry-harness.js';

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EXT = { keyUsage: '2.5.29.15', extKeyUsage: '2.5.29.37', basicConstraints: '2.5.29.19', san: '2.5.29.17', ski: '2.5.29.14', aki: '2.5.29.35' };

x509.cryptoProvider.set(globalThis.crypto);

function peculiar(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

// The same leaves whether the main thread signs or signing threads do (--sign-threads); the leaf
// profile follows the emulated Dapr version (--dapr-version), never the issuer's key algorithm.
const CASES = [['ed25519', 0, '1.18'], ['ecdsa-p256', 0, '1.18'], ['ed25519', 2, '1.17'], ['ecdsa-p256', 2, '1.16']] as const;
for (const [keyAlgorithm, signThreads, daprVersion] of CASES) {
  describe(`SignCertificate with a generated ${keyAlgorithm} bundle, ${signThreads} signing threads, --dapr-version ${daprVersion}`, () => {
    let t: TestSentry;
    let client: SentryTestClient;
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;

    before(async () => {
      t = await startTestSentry({ options: { keyAlgorithm, signThreads, daprVersion, namespace: 'dapr-system', trustDomain: 'cluster.local' } });
      client = t.client();
    });
    after(() => t.close());

    it('2: INSECURE, empty trust domain → only URI SAN spiffe://public/ns/default/myapp', async () => {
      const res = await client.sign({ id: 'myapp', namespace: 'default', trust_domain: '', certificate_signing_request: csrPem(ed) });
      const [leaf] = x509Chain(res.workload_certificate);
      assert.equal(leaf?.subjectAltName, 'URI:spiffe://public/ns/default/myapp');
    });

    it('3: trust_domain cluster.local → spiffe://cluster.local/ns/default/myapp', async () => {
      const res = await client.sign({ id: 'myapp', namespace: 'default', trust_domain: 'cluster.local', certificate_signing_request: csrPem(p256) });
      assert.equal(x509Chain(res.workload_certificate)[0]?.subjectAltName, 'URI:spiffe://cluster.local/ns/default/myapp');
    });

    it('4: the leaf carries exactly the CSR key; CSR subject never appears; leaf subject empty', async () => {
      // A CSR with a subject, built by @peculiar/x509 (our createCsr always has an empty subject).
      const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: 'CN=evil.example, O=attacker',
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'evil.example' }, { type: 'url', value: 'spiffe://x/y' }])],
      });
      const res = await client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: Buffer.from(csr.toString('pem')) });
      const [leaf] = x509Chain(res.workload_certificate);
      assert.ok(leaf);
      const csrSpki = Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey));
      assert.deepEqual(leaf.publicKey.export({ format: 'der', type: 'spki' }), csrSpki);
      // node (22+) and @peculiar/x509 report an empty subject as ''.
      assert.equal(leaf.subject, '');
      assert.equal(peculiar(leaf.toString()).subject, '');
      assert.equal(leaf.subjectAltName, 'URI:spiffe://public/ns/default/myapp');
      assert.doesNotMatch(leaf.toString(), /evil|attacker/);
    });

    it(`5: extensions of the Dapr ${daprVersion} leaf profile (keyUsage ${daprVersion === '1.18' ? 'digitalSignature only, whatever the issuer key' : 'digitalSignature + keyEncipherment'})`, async () => {
      const res = await client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(p256) });
      const [leafPem, issuerPem] = res.workload_certificate.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
      const leaf = peculiar(leafPem as string);
      const issuer = peculiar(issuerPem as string);
      const ku = leaf.getExtension(x509.KeyUsagesExtension);
      assert.ok(ku?.critical);
      const expectedKu = daprVersion === '1.18'
        ? x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
      assert.equal(ku.usages, expectedKu);
      const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
      assert.deepEqual([...(eku?.usages ?? [])], [OID_SERVER_AUTH, OID_CLIENT_AUTH]);
      assert.equal(eku?.critical, false);
      assert.equal(leaf.getExtension(EXT.basicConstraints), null);
      assert.equal(leaf.getExtension(EXT.ski), null);
      assert.equal(leaf.getExtension(EXT.san)?.critical, true);
      const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension);
      const issuerSki = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
      assert.ok(aki && issuerSki);
      assert.equal(aki.keyId, issuerSki.keyId);
    });

    it('6 and 7: NotBefore = now − 15 min, NotAfter = now + 24 h (±1 s); valid_until = NotAfter', async () => {
      const t0 = Date.now();
      const res = await client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(ed) });
      const t1 = Date.now();
      const [leaf] = x509Chain(res.workload_certificate);
      assert.ok(leaf);
      const nb = new Date(leaf.validFrom).getTime();
      const na = new Date(leaf.validTo).getTime();
      assert.ok(nb >= t0 - 15 * 60_000 - 1000 && nb <= t1 - 15 * 60_000 + 1000, `NotBefore ${leaf.validFrom}`);
      assert.ok(na >= t0 + 24 * 3600_000 - 1000 && na <= t1 + 24 * 3600_000 + 1000, `NotAfter ${leaf.validTo}`);
      assert.equal(Number(res.valid_until.seconds), na / 1000);
      assert.equal(res.valid_until.nanos, 0);
    });

    it('8 and 9: leaf then issuer, never the root; one trust_chain element with the anchors', async () => {
      const res = await client.sign({ id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(ed) });
      const chain = x509Chain(res.workload_certificate);
      assert.equal(chain.length, 2);
      const [leaf, issuer] = chain as [(typeof chain)[0], (typeof chain)[0]];
      assert.ok(leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey));
      for (const cert of chain) assert.notEqual(cert.subject === cert.issuer && cert.verify(cert.publicKey), true, 'self-signed cert in chain');
      assert.equal(res.trust_chain_certificates.length, 1);
      const anchors = res.trust_chain_certificates[0]?.toString() ?? '';
      assert.equal(anchors, t.anchorsPem());
      const [root] = x509Chain(anchors);
      assert.ok(root && issuer.verify(root.publicKey));
      // Absent on the wire; `optional` in the proto (as Dapr declares it) decodes that as undefined.
      assert.equal(res.jwt ?? null, null);
      assert.deepEqual(res.per_audience_jwts, {});
      for (const purpose of ['sslclient', 'sslserver']) {
        const v = opensslVerify({ anchorsPem: anchors, untrustedPem: issuer.toString(), leafPem: leaf.toString(), purpose });
        assert.ok(v.ok, v.output);
      }
    });

    it('accepts an RSA-2048 CSR key and a legacy "CERTIFICATE" PEM type', async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const legacy = Buffer.from(encodePem('CERTIFICATE', createCsr(rsa)));
      const res = await client.sign({ id: 'legacy', namespace: 'default', certificate_signing_request: legacy });
      const [leaf] = x509Chain(res.workload_certificate);
      assert.ok(leaf?.publicKey.equals(createPublicKey(rsa)));
    });

    it('10: CP identities get DNS SANs only in Sentry\'s namespace', async () => {
      const san = async (id: string, namespace: string): Promise<string | undefined> => {
        const res = await client.sign({ id, namespace, certificate_signing_request: csrPem(ed) });
        return x509Chain(res.workload_certificate)[0]?.subjectAltName;
      };
      const n = 'dapr-system';
      // Standalone Sentry has no cluster DNS: the scheduler names end in the trust domain (spec 2.4 fallback).
      assert.equal(
        await san('dapr-scheduler', n),
        [0, 1, 2].map((i) => `DNS:dapr-scheduler-server-${i}.dapr-scheduler-server.${n}.svc.cluster.local`).join(', ') +
          `, URI:spiffe://public/ns/${n}/dapr-scheduler`,
      );
      assert.equal(await san('dapr-injector', n), `DNS:dapr-sidecar-injector.${n}.svc, URI:spiffe://public/ns/${n}/dapr-injector`);
      assert.equal(await san('dapr-operator', n), `DNS:dapr-webhook.${n}.svc, URI:spiffe://public/ns/${n}/dapr-operator`);
      assert.equal(await san('dapr-placement', n), `URI:spiffe://public/ns/${n}/dapr-placement`);
      for (const id of ['dapr-scheduler', 'dapr-injector', 'dapr-operator']) {
        assert.equal(await san(id, 'default'), `URI:spiffe://public/ns/default/${id}`);
      }
    });
  });
}
