/**
 * Start-up (spec 3.1, 3.3 self-hosted rows; spec 9 statements 16–20): generation of an absent
 * bundle, refusal of partial and inconsistent ones, and what a loaded bundle serves.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import {
  buildBundle, withChainOutOfOrder, withExpiredIssuer, withExtraRoot, withMismatchedKey, withNonSelfSignedAnchor,
  withNotYetValid, withTrailingRoot,
} from '../support/bundles.js';
import { csrPem, x509Chain } from '../support/sentry-client.js';
import { LEVEL, startTestSentry, tempDir, writeBundleFiles } from '../support/sentry-harness.js';
import { assertTimeInWindow } from '../support/time-window.js';

x509.cryptoProvider.set(globalThis.crypto);

const DAY = 24 * 3600 * 1000;
const leafKey = generateKeyPairSync('ed25519').privateKey;
const request = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(leafKey) };

/** Asserts start-up is refused with `code` and a message matching every pattern. */
async function refusesToStart(dir: string, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(startTestSentry({ dir }), (err: unknown) => {
    assert.ok(isWardenError(err), String(err));
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe('start-up with no bundle (16, 17, 18)', () => {
  for (const keyAlgorithm of ['ed25519', 'ecdsa-p256'] as const) {
    it(`generates a Dapr-profile ${keyAlgorithm} root and issuer, persists them 0600, keeps no root key`, async () => {
      const started = Date.now();
      const t = await startTestSentry({ options: { keyAlgorithm, trustDomain: 'example.org', namespace: 'dapr-system' } });
      try {
        const root = new x509.X509Certificate(readFileSync(join(t.dir, 'ca.crt')));
        const issuer = new x509.X509Certificate(readFileSync(join(t.dir, 'issuer.crt')));
        const keyPem = readFileSync(join(t.dir, 'issuer.key'), 'utf8');

        // 16: the root.
        assert.equal(root.subject, 'O=example.org');
        assert.equal(root.issuer, 'O=example.org');
        assert.ok(await root.verify({ publicKey: root.publicKey, signatureOnly: true }));
        const bc = root.getExtension(x509.BasicConstraintsExtension);
        assert.ok(bc?.critical && bc.ca);
        assert.equal(bc.pathLength, undefined);
        assert.equal(root.publicKey.algorithm.name, keyAlgorithm === 'ed25519' ? 'Ed25519' : 'ECDSA');
        const skew = 15 * 60 * 1000;
        assert.ok(Math.abs(root.notBefore.getTime() - (started - skew)) < 5000, `root NotBefore ${root.notBefore.toISOString()}`);
        assert.equal(root.notAfter.getTime() - root.notBefore.getTime(), 365 * DAY + skew);

        // 17: the issuer.
        assert.equal(issuer.subject, 'O=spiffe://example.org/ns/dapr-system/dapr-sentry');
        const ku = issuer.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
        assert.ok(ku & x509.KeyUsageFlags.keyCertSign && ku & x509.KeyUsageFlags.cRLSign);
        // As Dapr's sentry generates it (bundle.GenerateX509: Go, the root's template has no
        // SubjectKeyId): SKI, no AKI. Compared with Dapr's own in test/interop/dapr-sentry-bundles.test.ts.
        assert.equal(issuer.getExtension(x509.AuthorityKeyIdentifierExtension), null);
        assert.ok(issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
        assert.equal(issuer.notAfter.getTime(), root.notAfter.getTime());
        assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.equal((keyPem.match(/-----BEGIN/g) ?? []).length, 1);
        const issuerSpki = Buffer.from(issuer.publicKey.rawData);
        assert.deepEqual(createPublicKey(keyPem).export({ format: 'der', type: 'spki' }), issuerSpki);
        // The root key is nowhere in the directory.
        for (const name of readdirSync(t.dir, { recursive: true }) as string[]) {
          const path = join(t.dir, name);
          if (!statSync(path).isFile()) continue;
          const blocks = readFileSync(path, 'utf8').match(/-----BEGIN [A-Z ]*PRIVATE KEY-----/g) ?? [];
          assert.ok(name.split('/').pop() === 'issuer.key' || blocks.length === 0, `${name} holds a private key`);
        }

        // 18: the files, mode 0600.
        for (const name of ['ca.crt', 'issuer.crt', 'issuer.key']) {
          assert.equal(statSync(join(t.dir, name)).mode & 0o777, 0o600, name);
        }
        const messages = t.logs.map((l) => l.msg);
        assert.ok(messages.includes('Root and issuer certs not found: generating self signed CA'));
        assert.ok(messages.includes('Generating self-signed CA certs and persisting to store'));
        // Dapr's exact text and scope (pkg/sentry/server/ca), so alerts written for Dapr's Sentry match.
        const generated = t.logs.find((l) => l.msg === 'Self-signed certs and JWT root key generated and persisted successfully') as { scope?: string } | undefined;
        assert.equal(generated?.scope, 'dapr.sentry.ca');
        assert.equal((await t.sentry.metrics.issuerCertChanged.get()).values[0]?.value, 1);

        // And it signs with them.
        const res = await t.client().sign(request);
        const [leaf, served] = x509Chain(res.workload_certificate);
        assert.equal(served?.fingerprint256, new (await import('node:crypto')).X509Certificate(readFileSync(join(t.dir, 'issuer.crt'))).fingerprint256);
        assert.ok(leaf);
      } finally {
        await t.close();
      }
    });
  }

  it('a second start reuses the persisted bundle', async () => {
    const dir = tempDir();
    try {
      const first = await startTestSentry({ dir });
      const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
      await first.close();
      const second = await startTestSentry({ dir });
      try {
        assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), ca);
        assert.ok(second.logs.some((l) => l.msg === 'Root and issuer certs found: using credentials from store'));
        assert.ok(!second.logs.some((l) => /generating/.test(l.msg)));
        await second.client(ca).sign(request);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up refusals', () => {
  it('18 (Warden fix): one file missing → ERR_BUNDLE_PARTIAL naming the files; nothing is overwritten', async () => {
    const dir = tempDir();
    try {
      const { texts } = await buildBundle({ now: new Date() });
      writeBundleFiles(dir, texts);
      unlinkSync(join(dir, 'issuer.key'));
      await refusesToStart(dir, 'ERR_BUNDLE_PARTIAL', /issuer\.key/, /ca\.crt/, /issuer\.crt/);
      assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), texts.ca);
      assert.equal(readFileSync(join(dir, 'issuer.crt'), 'utf8'), texts.issuerCert);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const cases = [
    ['18: key does not match issuer.crt', withMismatchedKey(), 'ERR_BUNDLE_KEY_MISMATCH', /issuer key does not match issuer certificate/],
    ['19: chain out of order', withChainOutOfOrder(), 'ERR_CHAIN_ORDER', /certificate chain is not valid/],
    ['19: a non-self-signed certificate in ca.crt', withNonSelfSignedAnchor(), 'ERR_ANCHOR_NOT_SELF_SIGNED', /certificate in trust anchor is not self-signed/],
    ['expired issuer', withExpiredIssuer(), 'ERR_ISSUER_EXPIRED', /warden mtls renew-certificate/],
    ['issuer not yet valid', withNotYetValid('issuer', 2 * 3600 * 1000), 'ERR_NOT_YET_VALID', /not valid before/],
  ] as const;
  for (const [name, modifier, code, pattern] of cases) {
    it(`${name} → ${code}`, async () => {
      const dir = tempDir();
      try {
        writeBundleFiles(dir, (await buildBundle({ now: new Date() }, modifier)).texts);
        await refusesToStart(dir, code, pattern, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('unparseable files → refused with the parse error', async () => {
    const dir = tempDir();
    try {
      const { texts } = await buildBundle({ now: new Date() });
      writeBundleFiles(dir, { ...texts, issuerCert: 'not a certificate\n' });
      await refusesToStart(dir, 'ERR_BUNDLE_INVALID', /issuer\.crt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--mode kubernetes without a usable kubeconfig → ERR_KUBE_UNREACHABLE (test/sentry-kube covers the mode); a bad --config → ERR_CONFIG_INVALID', async () => {
    await assert.rejects(startTestSentry({ options: { mode: 'kubernetes', kubeconfig: '/nonexistent/kubeconfig' } }), (err: unknown) => isWardenError(err, 'ERR_KUBE_UNREACHABLE'));
    const dir = tempDir();
    try {
      const config = join(dir, 'config.yaml');
      writeFileSync(config, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: 1d\n');
      await assert.rejects(startTestSentry({ options: { config } }), (err: unknown) =>
        isWardenError(err, 'ERR_CONFIG_INVALID') && /workloadCertTTL/.test(err.message));
      await assert.rejects(startTestSentry({ options: { config: join(dir, 'missing.yaml') } }), (err: unknown) =>
        isWardenError(err, 'ERR_CONFIG_INVALID'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loaded bundles (19, 20) and the Configuration file', () => {
  it('19: issuer.crt = issuer + root is accepted and the root is not served', async () => {
    const built = await buildBundle({ now: new Date() }, withTrailingRoot());
    const t = await startTestSentry({ texts: built.texts });
    try {
      const res = await t.client().sign(request);
      const chain = x509Chain(res.workload_certificate);
      assert.equal(chain.length, 2);
      assert.equal(chain[1]?.fingerprint256, x509Chain(built.certs.issuer?.pem ?? '')[0]?.fingerprint256);
    } finally {
      await t.close();
    }
  });

  it('20: two roots in ca.crt, issuer under the second: accepted, both served in one element', async () => {
    const built = await buildBundle({ now: new Date() }, withExtraRoot());
    const t = await startTestSentry({ texts: built.texts });
    try {
      const res = await t.client().sign(request);
      assert.equal(res.trust_chain_certificates.length, 1);
      const served = x509Chain(res.trust_chain_certificates[0] ?? '').map((c) => c.fingerprint256);
      const expected = [built.certs.root, built.certs.root2].map((c) => x509Chain(c?.pem ?? '')[0]?.fingerprint256);
      assert.deepEqual(served, expected);
      const [leaf, issuer] = x509Chain(res.workload_certificate);
      assert.ok(leaf && issuer && issuer.verify(x509Chain(built.certs.root2?.pem ?? '')[0]!.publicKey));
      assert.ok(t.logs.some((l) => l.code === 'INFO_MULTI_ROOT' && l.level === LEVEL.info), 'multi-root noted');
    } finally {
      await t.close();
    }
  });

  it('spec.mtls.workloadCertTTL / allowedClockSkew from --config set the leaf validity', async () => {
    const dir = tempDir();
    try {
      const config = join(dir, 'daprsystem.yaml');
      writeFileSync(config, [
        'apiVersion: dapr.io/v1alpha1', 'kind: Configuration', 'metadata:', '  name: daprsystem',
        'spec:', '  mtls:', '    enabled: true', '    workloadCertTTL: "1h30m"', '    allowedClockSkew: "1m"', '',
      ].join('\n'));
      const t = await startTestSentry({ options: { config } });
      try {
        const t0 = Date.now();
        const res = await t.client().sign(request);
        const t1 = Date.now();
        const [leaf] = x509Chain(res.workload_certificate);
        assert.ok(leaf);
        assertTimeInWindow('NotAfter', leaf.validTo, t0, t1, 90 * 60_000);
        assertTimeInWindow('NotBefore', leaf.validFrom, t0, t1, -60_000);
      } finally {
        await t.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
