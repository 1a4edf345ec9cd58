/**
 * Dapr's post-command expiry banner (spec 6.5) after every `-k` command, through the built binary:
 * Dapr's texts and whole-day thresholds for the root and the issuer, and `--expiry-warning-days`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { buildBundle, withExpiresIn, withValidity, type BuiltBundle } from '../support/bundles.js';
import { assertBuilt, tempHome } from '../cli/helpers.js';
import { bannerText, runK } from './cli-read-fixtures.js';

before(assertBuilt);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENABLED = 'Mutual TLS is enabled in your Kubernetes cluster \n';

describe('the expiry banner after -k commands (binary)', { concurrency: 3 }, () => {
  const servers: KubeApiServer[] = [];
  const start = async (built: BuiltBundle) => {
    const s = await startKubeApiServer();
    servers.push(s);
    seedDaprControlPlane(s, { trustBundle: built.texts });
    return s;
  };
  after(() => Promise.all(servers.map((s) => s.close())));

  test('root in 10 days and issuer in 5: both banners, root first, in Dapr\'s layout; --expiry-warning-days moves the threshold', async (t) => {
    const { home } = await tempHome(t);
    const built = await buildBundle({ now: new Date() }, withExpiresIn(10 * DAY + 2 * HOUR, 'root'), withExpiresIn(5 * DAY + 2 * HOUR, 'issuer'));
    const root = bannerText('root', 'expires in 10 days.', built.certs.root!.spec.notAfter);
    const issuer = bannerText('issuer', 'expires in 5 days.', built.certs.issuer!.spec.notAfter);
    const server = await start(built);
    const r = await runK(server, home, ['mtls', '-k']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ENABLED}${root}${issuer}`);
    const seven = await runK(server, home, ['mtls', '-k', '--expiry-warning-days', '7']);
    assert.equal(seven.stdout, `${ENABLED}${issuer}`);
    const none = await runK(server, home, ['mtls', 'export', '-k', '-o', 'out', '--expiry-warning-days', '5']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout.split('\n').length, 2, `only the success line: ${none.stdout}`);
    const bad = await runK(server, home, ['mtls', '-k', '--expiry-warning-days', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--expiry-warning-days.*whole number of days/);
  });

  test('expired root ("has expired.") and an issuer expiring within the day ("expires today.") after export -k', async (t) => {
    const { home } = await tempHome(t);
    const now = Date.now();
    const built = await buildBundle(
      { now: new Date() },
      withValidity('root', { notBefore: new Date(now - 400 * DAY), notAfter: new Date(now - 36 * HOUR) }),
      withValidity('issuer', { notBefore: new Date(now - 400 * DAY), notAfter: new Date(now + 5 * HOUR) }),
    );
    const server = await start(built);
    const r = await runK(server, home, ['mtls', 'export', '-k', '-o', 'out']);
    assert.equal(r.code, 0, r.stderr);
    const root = bannerText('root', 'has expired.', built.certs.root!.spec.notAfter);
    const issuer = bannerText('issuer', 'expires today.', built.certs.issuer!.spec.notAfter);
    assert.ok(r.stdout.endsWith(`${root}${issuer}`), r.stdout);
    // verify -k exits 3 on the expired root: the banner still follows (the command ran to the end).
    const verify = await runK(server, home, ['mtls', 'verify', '-k']);
    assert.equal(verify.code, 3);
    assert.ok(verify.stdout.endsWith(`${root}${issuer}`), verify.stdout);
  });
});
