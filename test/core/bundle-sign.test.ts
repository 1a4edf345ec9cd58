/** TrustBundle parsing/serialization/generation and the workload signer's rules. */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateTrustBundle, TrustBundle } from '../../src/core/bundle.js';
import { certificateToPem, isIssuedBy, parseCertificate, parseCertificatesPem } from '../../src/core/certificate.js';
import { FixedClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { generatePrivateKey, parsePrivateKeyPem, privateKeyToPkcs8Pem, publicKeysEqual } from '../../src/core/keys.js';
import { buildIssuerCertificate, profileForKeyAlgorithm } from '../../src/core/profile.js';
import { randomSerials } from '../../src/core/serial.js';
import { WorkloadSigner } from '../../src/core/sign.js';
import { openssl, opensslVerify } from '../support/openssl.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const fresh = (opts: Partial<Parameters<typeof generateTrustBundle>[0]> = {}) =>
  generateTrustBundle({ clock: new FixedClock(NOW), trustDomain: 'example.org', namespace: 'dapr-system', ...opts });

describe('TrustBundle', () => {
  it('round-trips through its three texts', () => {
    const { bundle } = fresh();
    const again = TrustBundle.fromTexts(bundle.toTexts());
    assert.deepEqual(again.toTexts(), bundle.toTexts());
    assert.equal(again.root.serialHex, bundle.root.serialHex);
  });

  it('strips comments from ca.crt and keeps several roots in order; root is the one the issuer chains to', () => {
    const a = fresh().bundle;
    const b = fresh().bundle;
    const texts = { ...b.toTexts(), ca: `# old root\n${a.toTexts().ca}\n# new root\n${b.toTexts().ca}` };
    const bundle = TrustBundle.fromTexts(texts);
    assert.equal(bundle.anchors.length, 2);
    assert.equal(bundle.root.serialHex, b.root.serialHex);
    assert.equal(bundle.toTexts().ca, a.toTexts().ca + b.toTexts().ca);
  });

  it('drops a trailing self-signed root from issuer.crt (spec 2.7)', () => {
    const { bundle } = fresh();
    const texts = bundle.toTexts();
    const parsed = TrustBundle.fromTexts({ ...texts, issuerCert: texts.issuerCert + texts.ca });
    assert.equal(parsed.issuerChain.length, 1);
    assert.equal(parsed.issuer.serialHex, bundle.issuer.serialHex);
  });

  it('names the file that does not parse', () => {
    const texts = fresh().bundle.toTexts();
    for (const [field, file] of [['ca', 'ca.crt'], ['issuerCert', 'issuer.crt'], ['issuerKey', 'issuer.key']] as const) {
      assert.throws(() => TrustBundle.fromTexts({ ...texts, [field]: 'garbage' }),
        (err: unknown) => isWardenError(err, 'ERR_BUNDLE_INVALID') && (err as Error).message.startsWith(`${file}:`));
    }
  });
});

describe('generateTrustBundle', () => {
  it('keeps an existing root key of every supported type, so old sidecars keep trusting new chains', () => {
    const sec1 = openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']);
    for (const rootKey of [parsePrivateKeyPem(sec1), generatePrivateKey('ecdsa-p384'), generatePrivateKey('rsa'), generatePrivateKey('ed25519')]) {
      const first = fresh({ rootKey }).bundle;
      const second = generateTrustBundle({ clock: new FixedClock(NOW.getTime() + DAY), trustDomain: 'example.org', namespace: 'dapr-system', rootKey }).bundle;
      assert.ok(publicKeysEqual(second.root.publicKey, rootKey));
      // The new issuer verifies against the *old* root certificate: same subject, same key.
      assert.ok(isIssuedBy(second.issuer, first.root));
      const result = opensslVerify({ anchorsPem: certificateToPem(first.root), leafPem: certificateToPem(second.issuer), attime: new Date(NOW.getTime() + DAY) });
      assert.ok(result.ok, result.output);
    }
  });

  it('uses the validity and skew it is given, and the v1.17 profile for ECDSA', () => {
    const { bundle } = fresh({ validityMs: 10 * DAY, clockSkewMs: HOUR, keyAlgorithm: 'ecdsa-p256' });
    assert.equal(bundle.root.notAfter.getTime(), NOW.getTime() + 10 * DAY);
    assert.equal(bundle.root.notBefore.getTime(), NOW.getTime() - HOUR);
    assert.ok(bundle.root.keyUsage?.has('keyEncipherment'));
    assert.equal(profileForKeyAlgorithm('ecdsa-p256'), 'v1.17');
  });

  it('never issues an issuer that outlives its root', () => {
    const { bundle, rootKey } = fresh({ validityMs: DAY });
    const issuerKey = generatePrivateKey('ed25519');
    const der = buildIssuerCertificate({
      issuerKey, root: bundle.root, rootKey, trustDomain: 'example.org', namespace: 'x', serial: randomSerials(),
      validity: { notBefore: NOW, notAfter: new Date(NOW.getTime() + 30 * DAY) }, profile: 'v1.18',
    });
    assert.equal(parseCertificate(der).notAfter.getTime(), bundle.root.notAfter.getTime());
  });

  it('refuses a public key as root key', () => {
    assert.throws(() => fresh({ rootKey: createPublicKey(generatePrivateKey('ed25519')) }), (err: unknown) => isWardenError(err, 'ERR_KEY_INVALID'));
  });
});

describe('WorkloadSigner', () => {
  const leafKey = createPublicKey(generatePrivateKey('ecdsa-p256'));
  const sign = (bundle: TrustBundle, at: Date, ttl = DAY) =>
    new WorkloadSigner(bundle, { clock: new FixedClock(at), workloadTtlMs: ttl, clockSkewMs: 15 * 60 * 1000 })
      .sign({ publicKey: leafKey, spiffeId: 'spiffe://public/ns/default/app' });

  it('backdates by the skew and lasts the TTL (checklist 6)', async () => {
    const out = await sign(fresh().bundle, NOW);
    assert.equal(out.notBefore.getTime(), NOW.getTime() - 15 * 60 * 1000);
    assert.equal(out.notAfter.getTime(), NOW.getTime() + DAY);
    assert.equal(parseCertificate(out.leafDer).notAfter.getTime(), out.notAfter.getTime());
  });

  it('clamps the leaf NotAfter to the issuer NotAfter (Dapr does not: spec 7.7)', async () => {
    const { bundle } = fresh({ validityMs: 2 * HOUR });
    const out = await sign(bundle, NOW);
    assert.equal(out.notAfter.getTime(), bundle.issuer.notAfter.getTime());
    assert.ok(out.notAfter.getTime() < NOW.getTime() + DAY);
  });

  it('refuses to sign with an expired or not-yet-valid issuer', async () => {
    const { bundle } = fresh({ validityMs: DAY, clockSkewMs: 0 });
    for (const at of [new Date(NOW.getTime() + DAY + 1000), new Date(NOW.getTime() - 1000)]) {
      await assert.rejects(sign(bundle, at), (err: unknown) => isWardenError(err, 'ERR_ISSUER_NOT_VALID_NOW') && /renew-certificate/.test((err as Error).message));
    }
  });

  it('returns leaf + issuer chain (with intermediates) but never the root, and all anchors separately', async () => {
    // root -> intermediate -> issuer: a bring-your-own chain.
    const { bundle: base, rootKey } = fresh();
    const intermediateKey = generatePrivateKey('ed25519');
    const intermediate = parseCertificate(buildIssuerCertificate({
      issuerKey: intermediateKey, root: base.root, rootKey, trustDomain: 'example.org', namespace: 'mid', serial: randomSerials(),
      validity: { notBefore: new Date(NOW.getTime() - HOUR), notAfter: new Date(NOW.getTime() + 100 * DAY) }, profile: 'v1.18',
    }));
    const issuerKey = generatePrivateKey('ecdsa-p256');
    const issuer = parseCertificate(buildIssuerCertificate({
      issuerKey, root: intermediate, rootKey: intermediateKey, trustDomain: 'example.org', namespace: 'leafy', serial: randomSerials(),
      validity: { notBefore: new Date(NOW.getTime() - HOUR), notAfter: new Date(NOW.getTime() + 50 * DAY) }, profile: 'v1.18',
    }));
    const extraRoot = fresh().bundle.root;
    const bundle = TrustBundle.fromTexts({
      ca: certificateToPem(extraRoot) + certificateToPem(base.root),
      issuerCert: certificateToPem(issuer) + certificateToPem(intermediate) + certificateToPem(base.root),
      issuerKey: privateKeyToPkcs8Pem(issuerKey),
    });
    const out = await sign(bundle, NOW);
    const chain = parseCertificatesPem(out.chainPem);
    assert.deepEqual(chain.map((c) => c.subject.text), ['', issuer.subject.text, intermediate.subject.text]);
    assert.deepEqual(parseCertificatesPem(out.trustAnchorsPem).map((c) => c.serialHex), [extraRoot.serialHex, base.root.serialHex]);
    const verified = opensslVerify({ anchorsPem: out.trustAnchorsPem, untrustedPem: out.chainPem.slice(out.chainPem.indexOf('-----BEGIN', 10)), leafPem: out.chainPem, attime: NOW, purpose: 'sslserver' });
    assert.ok(verified.ok, verified.output);
  });
});

describe('serial numbers', () => {
  it('are 128-bit, distinct across pool refills, and never zero', async () => {
    const { randomSerials } = await import('../../src/core/serial.js');
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const serial = randomSerials();
      assert.equal(serial.length, 16);
      assert.ok(serial.some((b) => b !== 0));
      seen.add(serial.toString('hex'));
    }
    assert.equal(seen.size, 1000);
  });
});
