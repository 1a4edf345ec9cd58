/**
 * Real daprd against `warden sentry` (issue 9): two self-hosted daprd sidecars with `--enable-mtls
 * --sentry-address` get their workload identity from Warden and call each other (service
 * invocation, daprd to daprd over mTLS); the leaf each one serves is checked with `openssl` to be
 * issued by Warden's issuer. The same checks run against Dapr's own sentry as a control (with
 * DAPR_SENTRY too), so a failure can be told apart from a harness problem. Needs DAPRD (skipped,
 * saying so, without it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { opensslVerify, openssl } from '../support/openssl.js';
import { skipUnless } from './support/binaries.js';
import { startAppPair, stopAppPair, type RunningDaprd, type TinyApp } from './support/daprd.js';
import { connectWithoutClientCertificate, readPeerChain } from './support/peer-chain.js';
import { httpGet, readCounter } from './support/processes.js';
import { startDaprSentry, startWardenSentry, writeSentryConfig, type RunningSentry } from './support/sentries.js';
import { warden } from '../e2e/fixtures/mesh.js';

type SentryStarter = (certs: string, dir: string) => Promise<RunningSentry>;

const wardenSentry: SentryStarter = (certs, dir) => startWardenSentry(certs, ['--config', writeSentryConfig(dir)]);

/** The control: Dapr's own sentry on a bundle Warden made, so a failure here is the harness's, not Warden's. */
const daprSentry: SentryStarter = async (certs, dir) => {
  const made = await warden(['mtls', 'renew-certificate', '--issuer-credentials', certs, '--trust-domain', 'localhost']);
  assert.equal(made.code, 0, `${made.stdout}${made.stderr}`);
  return startDaprSentry(certs, ['--config', writeSentryConfig(dir), '--trust-domain', 'localhost']);
};

for (const [name, start, skip] of [
  ['warden sentry', wardenSentry, skipUnless('DAPRD')],
  ["Dapr's own sentry (the control)", daprSentry, skipUnless('DAPRD', 'DAPR_SENTRY')],
] as const) {
describe(`two real daprd get their identity from ${name} and invoke each other over mTLS`, { skip }, () => {
  let dir: string;
  let certs: string;
  let sentry: RunningSentry | undefined;
  const apps: TinyApp[] = [];
  const daprds: RunningDaprd[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-interop-daprd-'));
    certs = join(dir, 'certs');
    sentry = await start(certs, dir);
    const anchors = readFileSync(join(certs, 'ca.crt'), 'utf8');
    await startAppPair({ sentryAddress: sentry.address, trustAnchorsPem: anchors, dir }, apps, daprds);
  });

  after(() => stopAppPair({ daprds, sentry, apps, dir }));

  it('service invocation app-a → app-b and app-b → app-a succeeds through both sidecars', async () => {
    const [a, b] = daprds as [RunningDaprd, RunningDaprd];
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const before = to.app.received.length;
      const res = await httpGet(from.ports.http, `/v1.0/invoke/${to.appId}/method/hello`);
      assert.equal(res.status, 200, `${from.appId} → ${to.appId}: ${res.status} ${res.body}\n--- ${from.appId} ---\n${from.proc.tail(15)}`);
      assert.equal(res.body, `hello from ${to.appId}`);
      const got = to.app.received.slice(before);
      assert.equal(got.length, 1, 'the callee app saw exactly the one call');
      assert.equal(got[0]!.url, '/hello');
      // The callee's daprd says who called: it read that from the caller's mTLS identity.
      assert.equal(got[0]!.headers['dapr-caller-app-id'], from.appId);
    }
  });

  it('each daprd serves a leaf for its own SPIFFE ID issued by the bundle\'s issuer (openssl verify, issuer name and key id)', async () => {
    const anchorsPem = readFileSync(join(certs, 'ca.crt'), 'utf8');
    const issuerPem = readFileSync(join(certs, 'issuer.crt'), 'utf8');
    const issuer = parseCertificatesPem(issuerPem)[0]!;
    for (const d of daprds) {
      const { chainPem } = await readPeerChain(d.ports.internalGrpc);
      const leaf = parseCertificatesPem(chainPem[0]!)[0]!;
      assert.deepEqual(leaf.uriSans, [`spiffe://public/ns/default/${d.appId}`]);
      assert.ok(leaf.issuer.der.equals(issuer.subject.der), `${d.appId}: leaf issuer ${leaf.issuer.text} is not the bundle's issuer ${issuer.subject.text}`);
      assert.ok(leaf.authorityKeyId?.equals(issuer.subjectKeyId!), `${d.appId}: authority key id is not the issuer's key id`);
      const verified = opensslVerify({ anchorsPem, untrustedPem: issuerPem, leafPem: chainPem[0]! });
      assert.ok(verified.ok, `${d.appId}: openssl verify: ${verified.output}`);
      // The chain daprd sends on is the bundle's issuer.crt, byte for byte.
      assert.equal(chainPem[1]?.trim(), issuerPem.trim(), `${d.appId} does not send the bundle's issuer.crt as its intermediate`);
      const text = openssl(['x509', '-noout', '-issuer', '-ext', 'subjectAltName'], chainPem[0]!);
      assert.match(text, new RegExp(`URI:spiffe://public/ns/default/${d.appId}`));
    }
    assert.ok(await readCounter(sentry!.metricsPort, 'dapr_sentry_cert_sign_success_total') >= 2, `${name} counted the two sidecars' requests`);
  });

  it('the internal port refuses a peer without a client certificate (mTLS is really on)', async () => {
    // Go's TLS 1.3 server answers a missing client certificate with alert 116, certificate_required.
    for (const d of daprds) assert.equal(await connectWithoutClientCertificate(d.ports.internalGrpc), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });
});
}
