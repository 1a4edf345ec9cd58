/**
 * Golden tests of the three certificate profiles (spec 2.1–2.3), for both key algorithms, with a fixed
 * clock, serials and keys. Each certificate is checked three ways: against a committed golden file of
 * its decoded fields, by `openssl x509 -text` / `openssl verify`, and by @peculiar/x509 as an
 * independent parser. Regenerate goldens with UPDATE_GOLDEN=1 after an intended profile change.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { certificateToPem, parseCertificate, type Certificate } from '../../src/core/certificate.js';
import { FixedClock } from '../../src/core/clock.js';
import { OID } from '../../src/core/oids.js';
import { sequentialSerials } from '../../src/core/serial.js';
import { DAPR_VERSIONS, profileForDaprVersion, type DaprVersion } from '../../src/core/profile.js';
import { WorkloadSigner } from '../../src/core/sign.js';
import { fixedKey } from '../support/fixed-keys.js';
import { opensslText, opensslVerify } from '../support/openssl.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const DAY = 24 * 3600 * 1000;

type Alg = 'ed25519' | 'p256';

async function buildSet(alg: Alg) {
  const clock = new FixedClock(NOW);
  const serials = sequentialSerials(1);
  const { bundle } = generateTrustBundle({
    clock, serials, trustDomain: 'cluster.local', namespace: 'dapr-system',
    keyAlgorithm: alg === 'ed25519' ? 'ed25519' : 'ecdsa-p256',
    rootKey: fixedKey(`root-${alg}`), issuerKey: fixedKey(`issuer-${alg}`),
  });
  // The leaves of the Dapr version that generates such a bundle: 1.18 (Ed25519), 1.16/1.17 (P-256).
  const profile = alg === 'ed25519' ? 'v1.18' : 'v1.17';
  const signer = new WorkloadSigner(bundle, { clock, serials, workloadTtlMs: DAY, clockSkewMs: 15 * 60 * 1000, profile });
  const leafKey = createPublicKey(fixedKey(`leaf-${alg}`));
  const app = await signer.sign({ publicKey: leafKey, spiffeId: 'spiffe://public/ns/default/myapp' });
  const scheduler = await signer.sign({
    publicKey: leafKey, spiffeId: 'spiffe://cluster.local/ns/dapr-system/dapr-scheduler',
    dnsNames: ['dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local'],
  });
  return { bundle, root: bundle.anchors[0]!, issuer: bundle.issuer, app: parseCertificate(app.leafDer), scheduler: parseCertificate(scheduler.leafDer), appSigned: app };
}

/** The decoded fields a golden file pins. Signatures are left out (ECDSA's are randomized); the TBS hash pins every other byte. */
function describe_(cert: Certificate) {
  return {
    serial: cert.serialHex,
    subject: cert.subject.text,
    issuer: cert.issuer.text,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    signatureAlgorithm: cert.signatureAlgorithmOid,
    extensions: cert.extensions.map((e) => ({ oid: e.oid, critical: e.critical, value: e.value.toString('hex') })),
    tbsSha256: createHash('sha256').update(cert.tbsDer).digest('hex'),
  };
}

for (const alg of ['ed25519', 'p256'] as const) {
  describe(`certificate profile (${alg})`, async () => {
    const set = await buildSet(alg);
    const legacy = alg === 'p256';

    it('matches the golden file', () => {
      const actual = { root: describe_(set.root), issuer: describe_(set.issuer), app: describe_(set.app), scheduler: describe_(set.scheduler) };
      const file = new URL(`../golden/profile-${alg}.json`, import.meta.url);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
      assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
    });

    it('root: O=<td>, self-signed CA, no pathLen, 365 days backdated by the skew (spec 2.1)', () => {
      const text = opensslText(certificateToPem(set.root));
      assert.match(text, /Subject: O ?= ?cluster\.local\n/);
      assert.match(text, /Issuer: O ?= ?cluster\.local\n/);
      assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
      assert.match(text, legacy ? /Key Usage: critical\n\s+Digital Signature, Key Encipherment, Certificate Sign\n/ : /Key Usage: critical\n\s+Digital Signature, Certificate Sign\n/);
      assert.match(text, /Subject Key Identifier/);
      assert.doesNotMatch(text, /Authority Key Identifier|Extended Key Usage|Alternative Name/);
      assert.match(text, legacy ? /Signature Algorithm: ecdsa-with-SHA256/ : /Signature Algorithm: ED25519/);
      assert.equal(set.root.notBefore.toISOString(), '2025-12-31T23:45:00.000Z');
      assert.equal(set.root.notAfter.getTime() - NOW.getTime(), 365 * DAY);
    });

    it('issuer: O=spiffe://<td>/ns/<ns>/dapr-sentry, CA, AKI = root SKI, same NotAfter as the root (spec 2.2)', () => {
      const text = opensslText(certificateToPem(set.issuer));
      assert.match(text, /Subject: O ?= ?spiffe:\/\/cluster\.local\/ns\/dapr-system\/dapr-sentry\n/);
      assert.match(text, legacy ? /Digital Signature, Key Encipherment, Certificate Sign, CRL Sign\n/ : /Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
      assert.deepEqual(set.issuer.authorityKeyId, set.root.subjectKeyId);
      assert.equal(set.issuer.notAfter.getTime(), set.root.notAfter.getTime());
      assert.equal(set.issuer.basicConstraints?.ca, true);
      assert.equal(set.issuer.basicConstraints?.pathLen, undefined);
      assert.match(set.bundle.toTexts().issuerKey, /^-----BEGIN PRIVATE KEY-----/);
    });

    it('workload leaf: empty subject, one SPIFFE URI, critical SAN, EKU server+client, no BC, no SKI (spec 2.3, checklist 4–6)', () => {
      const text = opensslText(certificateToPem(set.app));
      assert.match(text, /Subject: ?\n/);
      assert.match(text, legacy ? /Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/ : /Key Usage: critical\n\s+Digital Signature\n/);
      assert.match(text, /Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
      assert.match(text, /Subject Alternative Name: critical\n\s+URI:spiffe:\/\/public\/ns\/default\/myapp\n/);
      assert.doesNotMatch(text, /Basic Constraints|Subject Key Identifier/);
      assert.deepEqual(set.app.authorityKeyId, set.issuer.subjectKeyId);
      assert.deepEqual(set.app.uriSans, ['spiffe://public/ns/default/myapp']);
      assert.equal(set.app.notBefore.toISOString(), '2025-12-31T23:45:00.000Z');
      assert.equal(set.app.notAfter.toISOString(), '2026-01-02T00:00:00.000Z');
      assert.ok(set.app.spkiDer.equals(createPublicKey(fixedKey(`leaf-${alg}`)).export({ format: 'der', type: 'spki' })));
      // Go's order: DNS names before URIs.
      const sched = opensslText(certificateToPem(set.scheduler));
      assert.match(sched, /DNS:dapr-scheduler-server-0\.dapr-scheduler-server\.dapr-system\.svc\.cluster\.local, URI:spiffe:\/\/cluster\.local\/ns\/dapr-system\/dapr-scheduler/);
    });

    it('openssl verifies the leaf for TLS client and server use, and the chain excludes the root', () => {
      const anchorsPem = set.appSigned.trustAnchorsPem;
      const issuerPem = certificateToPem(set.issuer);
      for (const purpose of ['sslclient', 'sslserver']) {
        const result = opensslVerify({ anchorsPem, untrustedPem: issuerPem, leafPem: certificateToPem(set.app), purpose, attime: NOW });
        assert.ok(result.ok, result.output);
      }
      const blocks = set.appSigned.chainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
      assert.equal(blocks.length, 2);
      assert.ok(!set.appSigned.chainPem.includes(certificateToPem(set.root)));
      // The chain does not verify against a foreign root.
      const foreign = generateTrustBundle({ clock: new FixedClock(NOW), trustDomain: 'x', namespace: 'y' }).bundle.anchors[0]!;
      assert.equal(opensslVerify({ anchorsPem: certificateToPem(foreign), untrustedPem: issuerPem, leafPem: certificateToPem(set.app), attime: NOW }).ok, false);
    });

    it('@peculiar/x509 reads the same fields', async () => {
      for (const cert of [set.root, set.issuer, set.app, set.scheduler]) {
        const other = new x509.X509Certificate(cert.der);
        assert.equal(other.serialNumber.replace(/^0+/, ''), cert.serialHex.replace(/^0+/, ''));
        assert.equal(other.notBefore.getTime(), cert.notBefore.getTime());
        assert.equal(other.notAfter.getTime(), cert.notAfter.getTime());
        assert.equal(other.subject, cert.subject.text);
        assert.equal(other.issuer, cert.issuer.text);
        const ku = other.getExtension(x509.KeyUsagesExtension);
        assert.ok(ku?.critical);
        const bc = other.getExtension(x509.BasicConstraintsExtension);
        assert.equal(Boolean(bc), Boolean(cert.basicConstraints));
        const san = other.getExtension(x509.SubjectAlternativeNameExtension);
        assert.deepEqual(san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [], cert.uriSans);
        if (san) assert.equal(san.critical, true);
        const eku = other.getExtension(x509.ExtendedKeyUsageExtension);
        assert.deepEqual([...(eku?.usages ?? [])].map(String), cert.extKeyUsage ?? []);
      }
      const leaf = new x509.X509Certificate(set.app.der);
      assert.ok(await leaf.verify({ publicKey: await new x509.X509Certificate(set.issuer.der).publicKey.export(), signatureOnly: true }));
      assert.deepEqual(set.app.extKeyUsage, [OID.serverAuth, OID.clientAuth]);
    });
  });
}

/**
 * Dapr 1.18's leaf profile is digitalSignature only WHATEVER the issuer key (bundle/cert.go at
 * v1.18.3): a P-256 or RSA issuer (cert-manager, `dapr mtls renew-certificate` with an EC key) no
 * longer adds keyEncipherment. 1.16/1.17 add it whatever the key, Ed25519 included.
 */
describe('leaf keyUsage follows the emulated Dapr version, not the issuer key', () => {
  const clock = new FixedClock(NOW);
  const issuers = {
    p256: generateTrustBundle({
      clock, serials: sequentialSerials(1), trustDomain: 'cluster.local', namespace: 'dapr-system', keyAlgorithm: 'ecdsa-p256',
      rootKey: fixedKey('root-p256'), issuerKey: fixedKey('issuer-p256'),
    }).bundle,
    rsa: generateTrustBundle({
      clock, serials: sequentialSerials(1), trustDomain: 'cluster.local', namespace: 'dapr-system', keyAlgorithm: 'ecdsa-p256',
      rootKey: fixedKey('root-p256'), issuerKey: fixedKey('issuer-rsa'),
    }).bundle,
    ed25519: generateTrustBundle({
      clock, serials: sequentialSerials(1), trustDomain: 'cluster.local', namespace: 'dapr-system', keyAlgorithm: 'ed25519',
      rootKey: fixedKey('root-ed25519'), issuerKey: fixedKey('issuer-ed25519'),
    }).bundle,
  };
  const leafKey = createPublicKey(fixedKey('leaf-p256'));
  const leaf = async (issuer: keyof typeof issuers, version: DaprVersion) => {
    const signer = new WorkloadSigner(issuers[issuer], {
      clock, serials: sequentialSerials(100), workloadTtlMs: DAY, clockSkewMs: 15 * 60 * 1000, profile: profileForDaprVersion(version),
    });
    return parseCertificate((await signer.sign({ publicKey: leafKey, spiffeId: 'spiffe://public/ns/default/myapp' })).leafDer);
  };

  it('matches the golden file (P-256 and RSA issuers, Dapr 1.18 and 1.17 leaves)', async () => {
    const actual = {
      'p256-1.18': describe_(await leaf('p256', '1.18')), 'rsa-1.18': describe_(await leaf('rsa', '1.18')),
      'p256-1.17': describe_(await leaf('p256', '1.17')), 'rsa-1.17': describe_(await leaf('rsa', '1.17')),
      'ed25519-1.17': describe_(await leaf('ed25519', '1.17')),
    };
    const file = new URL('../golden/profile-leaf-by-dapr-version.json', import.meta.url);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
  });

  for (const issuer of ['p256', 'rsa', 'ed25519'] as const) {
    for (const version of DAPR_VERSIONS) {
      it(`${issuer} issuer, Dapr ${version}: openssl x509 -text shows ${version === '1.18' ? 'Digital Signature only' : 'Digital Signature, Key Encipherment'}`, async () => {
        const cert = await leaf(issuer, version);
        const text = opensslText(certificateToPem(cert));
        assert.match(text, version === '1.18' ? /X509v3 Key Usage: critical\n\s+Digital Signature\n/ : /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
        assert.match(text, issuer === 'rsa' ? /Signature Algorithm: sha256WithRSAEncryption/ : issuer === 'p256' ? /Signature Algorithm: ecdsa-with-SHA256/ : /Signature Algorithm: ED25519/);
        const anchorsPem = certificateToPem(issuers[issuer].anchors[0]!);
        const result = opensslVerify({ anchorsPem, untrustedPem: certificateToPem(issuers[issuer].issuer), leafPem: certificateToPem(cert), purpose: 'sslserver', attime: NOW });
        assert.ok(result.ok, result.output);
      });
    }
  }
});

/**
 * The issuer Dapr's sentry generates (bundle.GenerateX509, v1.16–v1.18) has no authorityKeyIdentifier:
 * Go signs it with the root's template, which has no SubjectKeyId. `warden sentry` generates it the
 * same way (interop: test/interop/dapr-sentry-bundles.test.ts compares it with Dapr's); every other
 * generated issuer keeps the AKI, which OpenSSL needs to pick between roots of the same subject.
 */
describe("the issuer as Dapr's sentry generates it (issuerAuthorityKeyId: false)", () => {
  for (const alg of ['ed25519', 'p256'] as const) {
    it(`${alg}: the golden issuer minus the AKI, and openssl verify still chains a leaf to the root`, async () => {
      const clock = new FixedClock(NOW);
      const { bundle } = generateTrustBundle({
        clock, serials: sequentialSerials(1), trustDomain: 'cluster.local', namespace: 'dapr-system',
        keyAlgorithm: alg === 'ed25519' ? 'ed25519' : 'ecdsa-p256',
        rootKey: fixedKey(`root-${alg}`), issuerKey: fixedKey(`issuer-${alg}`), issuerAuthorityKeyId: false,
      });
      const golden = JSON.parse(readFileSync(new URL(`../golden/profile-${alg}.json`, import.meta.url), 'utf8')) as {
        issuer: { extensions: { oid: string }[] };
      };
      const actual = describe_(bundle.issuer);
      assert.deepEqual(actual.extensions, golden.issuer.extensions.filter((e) => e.oid !== OID.authorityKeyIdentifier));
      assert.equal(bundle.issuer.authorityKeyId, undefined);
      assert.doesNotMatch(opensslText(certificateToPem(bundle.issuer)), /Authority Key Identifier/);
      const signer = new WorkloadSigner(bundle, { clock, serials: sequentialSerials(100), workloadTtlMs: DAY, clockSkewMs: 15 * 60 * 1000, profile: 'v1.18' });
      const leaf = await signer.sign({ publicKey: createPublicKey(fixedKey(`leaf-${alg}`)), spiffeId: 'spiffe://public/ns/default/myapp' });
      const verified = opensslVerify({
        anchorsPem: certificateToPem(bundle.root), untrustedPem: certificateToPem(bundle.issuer),
        leafPem: certificateToPem(parseCertificate(leaf.leafDer)), attime: NOW,
      });
      assert.ok(verified.ok, verified.output);
    });
  }
});
