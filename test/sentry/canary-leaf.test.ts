/**
 * Issue 12 item 8: every bundle the sentry loads signs one canary leaf that must verify against
 * its anchors (OpenSSL) before it is used. The natural failure: an EC issuer.key whose embedded
 * public point is issuer.crt's key while its private scalar is another key's. The check chain
 * compares public halves only, so it passes; every leaf signed with it would fail verification.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { generateTrustBundle, TrustBundle } from '../../src/core/bundle.js';
import { parseCertificate } from '../../src/core/certificate.js';
import { runChecks } from '../../src/core/checks/index.js';
import { FixedClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { decodePemBlocks, encodePem } from '../../src/core/pem.js';
import { buildRootCertificate } from '../../src/core/profile.js';
import { exitCodeForError } from '../../src/cli/exit-codes.js';
import { checkBundleTexts } from '../../src/sentry/bundle-check.js';
import { CaStateHolder, createCaState } from '../../src/sentry/ca-state.js';
import { CANARY_SPIFFE_ID, verifyCanaryLeaf } from '../../src/sentry/canary-leaf.js';
import type { SentryConfig } from '../../src/sentry/config.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import { BundleReloader } from '../../src/sentry/reload.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { buildBundle, withExtraRoot, withIntermediate, withIssuerOutlivingRoot } from '../support/bundles.js';
import { captureLogger, tempDir, writeBundleFiles, type LogRecord } from '../support/sentry-harness.js';

const DAY = 24 * 3600 * 1000;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const POLICY = { warnWithinMs: 0, workloadTtlMs: 24 * 3600 * 1000, clockSkewMs: 15 * 60 * 1000 };
const LEAF_NOT_SIGNED = /the leaf's signature does not verify with the issuer certificate's key/;

/**
 * issuer.key with issuer.crt's public point but another key's private scalar (P-256): the other
 * key's SEC1 DER with its public point overwritten. (Built from DER, not JWK: OpenSSL 3.5, in
 * Node 24, checks that a JWK's d and x/y belong together; it does not check SEC1's stored point.)
 */
function splicedIssuerKey(bundleIssuerPublic: TrustBundle['issuer']['publicKey']): string {
  const point = (k: KeyObject) => (k.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-65);
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = Buffer.from(other.privateKey.export({ format: 'der', type: 'sec1' }) as Buffer);
  const at = der.indexOf(point(other.publicKey));
  assert.ok(at > 0, 'the SEC1 key holds its public point');
  point(bundleIssuerPublic).copy(der, at);
  const key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  return key.export({ format: 'pem', type: 'sec1' }) as string;
}

async function splicedBundle(): Promise<{ good: BundleTexts; spliced: BundleTexts }> {
  const built = await buildBundle({ now: NOW, keyAlgorithm: 'ecdsa-p256' });
  return { good: built.texts, spliced: { ...built.texts, issuerKey: splicedIssuerKey(built.bundle.issuer.publicKey) } };
}

function canaryFailure(err: unknown): boolean {
  return isWardenError(err, 'ERR_BUNDLE_CANARY_FAILED');
}

describe('canary leaf at load time', () => {
  it('healthy bundles pass: Ed25519, P-256, with an intermediate, with several roots', async () => {
    for (const built of [
      await buildBundle({ now: NOW }),
      await buildBundle({ now: NOW, keyAlgorithm: 'ecdsa-p256' }),
      await buildBundle({ now: NOW }, withIntermediate()),
      await buildBundle({ now: NOW }, withExtraRoot()),
    ]) {
      const checked = checkBundleTexts(built.texts, NOW, POLICY, 'test');
      assert.ok(checked.bundle.issuer);
    }
  });

  it('the canary accepts any valid anchor that signed the chain (an expired same-key predecessor listed first)', async () => {
    const { bundle, rootKey } = generateTrustBundle({ clock: new FixedClock(NOW), trustDomain: 'cluster.local', namespace: 'dapr-system' });
    const serial = randomBytes(16);
    serial[0]! &= 0x7f;
    // Same key, same name, same key identifier: OpenSSL sees it as an issuer of the issuer too.
    const predecessor = parseCertificate(buildRootCertificate({
      key: rootKey, trustDomain: 'cluster.local', serial, profile: 'v1.18',
      validity: { notBefore: new Date(NOW.getTime() - 800 * DAY), notAfter: new Date(NOW.getTime() - DAY) },
    }));
    assert.ok(new X509Certificate(bundle.issuer.der).checkIssued(new X509Certificate(predecessor.der)));
    verifyCanaryLeaf(new TrustBundle([predecessor, ...bundle.anchors], bundle.issuerChain, bundle.issuerKey), NOW, POLICY);
    assert.throws(() => verifyCanaryLeaf(new TrustBundle([predecessor], bundle.issuerChain, bundle.issuerKey), NOW, POLICY),
      (err: unknown) => canaryFailure(err) && /the trust anchor O=cluster.local expired at/.test((err as Error).message));

    // Its only signer expired (an issuer outliving its root, a day after the root's end): refused, naming the anchor.
    const outliving = await buildBundle({ now: NOW }, withIssuerOutlivingRoot());
    const later = new Date(outliving.bundle.root.notAfter.getTime() + DAY);
    assert.throws(() => verifyCanaryLeaf(outliving.bundle, later, POLICY),
      (err: unknown) => canaryFailure(err) && /the trust anchor O=cluster.local expired at/.test((err as Error).message));
  });

  it('a spliced issuer.key passes every check but is refused: ERR_BUNDLE_CANARY_FAILED, exit 3', async () => {
    const { spliced } = await splicedBundle();
    const errors = runChecks(TrustBundle.fromTexts(spliced), NOW, POLICY).filter((f) => f.severity === 'error');
    assert.deepEqual(errors, [], 'the check chain finds nothing wrong');
    assert.throws(() => checkBundleTexts(spliced, NOW, POLICY, '/etc/certs'), (err: unknown) => {
      assert.ok(canaryFailure(err), String(err));
      assert.match((err as Error).message, /^the trust bundle in \/etc\/certs is not usable: a test certificate signed with this bundle does not verify/);
      assert.match((err as Error).message, LEAF_NOT_SIGNED);
      assert.match((err as Error).message, /warden mtls renew-certificate/);
      assert.equal(exitCodeForError(err), 3);
      return true;
    });
  });

  it('a faulty signer (test seam): a flipped signature bit, another identity, a throw', async () => {
    const bundle = (await buildBundle({ now: NOW })).bundle;
    const tamper = (chainPem: string, edit: (leaf: Buffer) => void): string => {
      const [leaf, ...rest] = decodePemBlocks(chainPem);
      edit(leaf!.der);
      return [leaf!, ...rest].map((b) => encodePem(b.type, b.der)).join('');
    };
    assert.throws(() => verifyCanaryLeaf(bundle, NOW, POLICY, (signer, req) => {
      const signed = signer.signSync(req);
      return { chainPem: tamper(signed.chainPem, (der) => void (der[der.length - 1]! ^= 1)) };
    }), (err: unknown) => canaryFailure(err) && LEAF_NOT_SIGNED.test((err as Error).message));
    assert.throws(() => verifyCanaryLeaf(bundle, NOW, POLICY, (signer, req) => signer.signSync({ ...req, spiffeId: 'spiffe://public/ns/default/other' })),
      (err: unknown) => canaryFailure(err) && /names URI:spiffe:\/\/public\/ns\/default\/other, not/.test((err as Error).message));
    assert.throws(() => verifyCanaryLeaf(bundle, NOW, POLICY, (signer, req) => signer.signSync({ ...req, publicKey: generateKeyPairSync('ed25519').publicKey })),
      (err: unknown) => canaryFailure(err) && /does not carry the requested public key/.test((err as Error).message));
    assert.throws(() => verifyCanaryLeaf(bundle, NOW, POLICY, () => { throw new Error('HSM unplugged'); }),
      (err: unknown) => canaryFailure(err) && /signing it failed: HSM unplugged/.test((err as Error).message));
    // And the unmodified signer passes, with a leaf OpenSSL verifies against the issuer.
    let chainPem = '';
    verifyCanaryLeaf(bundle, NOW, POLICY, (signer, req) => ({ chainPem: (chainPem = signer.signSync(req).chainPem) }));
    const [leaf, issuer] = decodePemBlocks(chainPem).map((b) => new X509Certificate(b.der));
    assert.equal(leaf?.subjectAltName, `URI:${CANARY_SPIFFE_ID}`);
    assert.ok(leaf!.verify(issuer!.publicKey));
  });

  it('a reload to a spliced bundle is refused, counted and logged; the old CA keeps signing', async () => {
    const { good, spliced } = await splicedBundle();
    const dir = tempDir();
    try {
      writeBundleFiles(dir, good);
      const clock = new FixedClock(NOW);
      const store = new FsTrustBundleStore({ dir, clock });
      const first = await store.read();
      assert.equal(first.state, 'complete');
      const config: SentryConfig = { workloadCertTtlMs: POLICY.workloadTtlMs, allowedClockSkewMs: POLICY.clockSkewMs };
      const caState = new CaStateHolder(createCaState(checkBundleTexts(good, NOW, POLICY, dir).bundle, first.state === 'complete' ? first.version : undefined, { clock, config }));
      const before = caState.current;
      const metrics = new SentryMetrics();
      const logs: LogRecord[] = [];
      const reloader = new BundleReloader({
        store, where: dir, caState, clock, logger: captureLogger(logs), metrics, policy: POLICY, debounceMs: 10,
        install: async (checked, version) => caState.swap(createCaState(checked.bundle, version, { clock, config })),
      });

      writeBundleFiles(dir, spliced);
      assert.equal(await reloader.reloadOnce(), 'refused');
      assert.equal((await metrics.reloadFailures.get()).values[0]?.value, 1);
      const refusal = logs.find((l) => l.code === 'ERR_BUNDLE_CANARY_FAILED');
      assert.ok(refusal && /^Refusing to reload the trust bundle; still signing with the previous CA/.test(refusal.msg), JSON.stringify(logs));
      assert.equal(caState.current, before);
      const leaf = await caState.current.signer.sign({ publicKey: generateKeyPairSync('ed25519').publicKey, spiffeId: 'spiffe://public/ns/default/app', at: NOW });
      assert.ok(new X509Certificate(leaf.leafDer).verify(before.bundle.issuer.publicKey));

      // The original files again are no change; a new good bundle is installed.
      writeBundleFiles(dir, good);
      assert.equal(await reloader.reloadOnce(), 'unchanged');
      writeBundleFiles(dir, (await buildBundle({ now: NOW, keyAlgorithm: 'ecdsa-p256' })).texts);
      assert.equal(await reloader.reloadOnce(), 'reloaded');
      assert.notEqual(caState.current, before);
      reloader.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`warden sentry` refuses to start on a spliced bundle: exit 3, the code on stderr', async () => {
    const { spliced } = await splicedBundle();
    const dir = tempDir();
    try {
      writeBundleFiles(dir, spliced);
      const child = spawn(process.execPath, [
        '--import', 'tsx', 'test/support/run-cli.ts', 'sentry', '--issuer-credentials', dir,
        '--port', '0', '--listen-address', '127.0.0.1', '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1',
        '--metrics-port', '0', '--metrics-listen-address', '127.0.0.1',
      ], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      // It exits, or (the defect) starts serving: then it is stopped and the test fails.
      const code = await new Promise<number | string | null>((resolve) => {
        child.on('exit', resolve);
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
          if (output.includes('Sentry started')) {
            child.kill('SIGKILL');
            resolve('started');
          }
        });
      });
      assert.equal(code, 3, output);
      assert.match(output, /ERR_BUNDLE_CANARY_FAILED/);
      assert.doesNotMatch(output, /Sentry started/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
