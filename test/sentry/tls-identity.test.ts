/**
 * Sentry's serving identity (spec 2.5; statements 1 and 22): TLS without a client-certificate
 * request, an X.509-SVID `spiffe://<td>/ns/<ns>/dapr-sentry` without DNS SANs served as leaf +
 * issuer, verified by SPIFFE ID rather than hostname, and renewed at 50% without closing the listener.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { describe, it } from 'node:test';
import { DEFAULT_SENTRY_OPTIONS } from '../../src/sentry/options.js';
import { callError, connectSentry, csrPem, uriSansOf, x509Chain } from '../support/sentry-client.js';
import { startTestSentry, tempDir } from '../support/sentry-harness.js';
import { waitUntil } from '../support/wait-until.js';

const request = { id: 'myapp', namespace: 'default', certificate_signing_request: csrPem(generateKeyPairSync('ed25519').privateKey) };

/** The TLS 1.3 handshake messages openssl s_client sees from `port` (async: the server is in-process). */
function handshakeMessages(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-msg']);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.end();
    p.on('error', reject);
    p.on('close', () => resolve([...out.matchAll(/<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], (\w+)/g)].map((m) => m[1] as string)));
  });
}

describe('serving identity', () => {
  it('1: default port 50001; the handshake has no CertificateRequest (a TLS server that asks for one does)', async () => {
    assert.equal(DEFAULT_SENTRY_OPTIONS.port, 50001);
    const t = await startTestSentry();
    const dir = tempDir();
    try {
      const fromSentry = await handshakeMessages(t.sentry.port);
      // Up to the server's Finished; session tickets may follow it (post-handshake), depending on timing.
      const handshake = fromSentry.slice(0, fromSentry.indexOf('Finished') + 1);
      assert.deepEqual(handshake, ['ServerHello', 'EncryptedExtensions', 'Certificate', 'CertificateVerify', 'Finished']);
      assert.ok(!fromSentry.includes('CertificateRequest'), fromSentry.join(','));
      // Positive control: the same probe does see a CertificateRequest when one is sent.
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=control', '-days', '1'], { stdio: 'pipe' });
      const requesting = tls.createServer({
        key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')), requestCert: true, rejectUnauthorized: false,
      }, () => {});
      await new Promise<void>((r) => requesting.listen(0, '127.0.0.1', r));
      try {
        const fromControl = await handshakeMessages((requesting.address() as { port: number }).port);
        assert.ok(fromControl.includes('CertificateRequest'), fromControl.join(','));
      } finally {
        requesting.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await t.close();
    }
  });

  it('22: presents spiffe://<td>/ns/<ns>/dapr-sentry, no DNS SANs, leaf + issuer; clients check the ID, not the host', async () => {
    const t = await startTestSentry({ options: { trustDomain: 'cluster.local', namespace: 'dapr-system' } });
    try {
      assert.equal(t.sentry.spiffeId, 'spiffe://cluster.local/ns/dapr-system/dapr-sentry');
      const client = t.client();
      await client.sign(request);
      const [peer] = client.peerCertificates;
      assert.ok(peer);
      assert.equal(peer.subjectaltname, 'URI:spiffe://cluster.local/ns/dapr-system/dapr-sentry');
      assert.deepEqual(uriSansOf(peer), [t.sentry.spiffeId]);

      // The chain on the wire: leaf + issuer (no root), read with a raw TLS socket.
      const served = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: t.sentry.port, ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate(true));
          socket.destroy();
        });
        socket.on('error', reject);
      });
      const issuer = x509Chain(readFileSync(join(t.dir, 'issuer.crt')))[0];
      const root = x509Chain(t.anchorsPem())[0];
      assert.ok(issuer && root);
      assert.equal(served.issuerCertificate.fingerprint256, issuer.fingerprint256);
      // Nothing above the issuer was presented (node would link the root in if it had been).
      assert.equal(served.issuerCertificate.issuerCertificate, undefined, 'root was served');
      assert.notEqual(served.issuerCertificate.fingerprint256, root.fingerprint256);

      // The hostname is irrelevant: the harness dials 127.0.0.1 with SNI "dapr-sentry"; a wrong expected ID fails.
      const wrongId = connectSentry({ address: t.address, anchorsPem: t.anchorsPem(), expectedId: 'spiffe://cluster.local/ns/dapr-system/dapr-operator' });
      const wrongAnchors = connectSentry({
        address: t.address, expectedId: t.sentry.spiffeId,
        anchorsPem: x509Chain(readFileSync(join(t.dir, 'issuer.crt')))[0]?.toString() ?? '',
      });
      try {
        assert.equal((await callError(wrongId.sign(request, 60_000))).code, grpc.status.UNAVAILABLE);
        assert.equal((await callError(wrongAnchors.sign(request, 60_000))).code, grpc.status.UNAVAILABLE);
      } finally {
        wrongId.close();
        wrongAnchors.close();
      }
    } finally {
      await t.close();
    }
  });

  it('renews at 50% of its lifetime and new connections get the new certificate on the same port', async () => {
    const dir = tempDir();
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'spec:\n  mtls:\n    workloadCertTTL: 4s\n    allowedClockSkew: 0s\n');
    const t = await startTestSentry({ options: { config } });
    try {
      const first = t.sentry.servingCertificate();
      assert.ok(first);
      const lifetime = first.notAfter.getTime() - first.notBefore.getTime();
      assert.ok(lifetime <= 5000, `lifetime ${lifetime}`);
      const c1 = t.client();
      await c1.sign(request);
      const firstSerial = c1.peerCertificates[0]?.serialNumber;
      // Renewal is due at about 3 s of the 4 s life (real time: the serving certificate's own timer).
      await waitUntil('a renewed serving certificate', () => (t.sentry.servingCertificate()?.notBefore.getTime() ?? 0) > first.notBefore.getTime());
      const second = t.sentry.servingCertificate();
      assert.ok(second && second.notBefore.getTime() > first.notBefore.getTime(), 'renewed');
      const c2 = t.client();
      await c2.sign(request);
      assert.notEqual(c2.peerCertificates[0]?.serialNumber, firstSerial);
      assert.ok(t.logs.filter((l) => l.msg === 'Issued Sentry serving certificate').length >= 2);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  // dapr/kit crypto/spiffe generates the sentry's own key: ECDSA P-256 in kit v0.16/v0.17 (Dapr
  // 1.16/1.17), Ed25519 in Dapr 1.18 (test/interop/dapr-sentry-bundles.test.ts compares with Dapr 1.18's).
  for (const [daprVersion, keyType] of [['1.18', 'ed25519'], ['1.17', 'ec'], ['1.16', 'ec']] as const) {
    it(`--dapr-version ${daprVersion}: the serving key is ${keyType === 'ec' ? 'ECDSA P-256' : 'Ed25519'}, as that Dapr's sentry serves`, async () => {
      const t = await startTestSentry({ options: { daprVersion } });
      try {
        const client = t.client();
        await client.sign(request);
        const peer = client.peerCertificates[0];
        assert.ok(peer);
        const key = new X509Certificate(peer.raw).publicKey;
        assert.equal(key.asymmetricKeyType, keyType);
        if (keyType === 'ec') assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      } finally {
        await t.close();
      }
    });
  }
});
