/**
 * Where the post-command expiry banner goes and what it never does, through the built binary:
 * stderr beside JSON output, and errors that never fail the command (spec 6.5).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { buildBundle, withExpiresIn, type BuiltBundle } from '../support/bundles.js';
import { assertBuilt, tempHome } from '../cli/helpers.js';
import { bannerText, runK } from './cli-read-fixtures.js';

before(assertBuilt);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENABLED = 'Mutual TLS is enabled in your Kubernetes cluster \n';

describe('the expiry banner: output and errors (binary)', { concurrency: 3 }, () => {
  const servers: KubeApiServer[] = [];
  const start = async (built: BuiltBundle) => {
    const s = await startKubeApiServer();
    servers.push(s);
    seedDaprControlPlane(s, { trustBundle: built.texts });
    return s;
  };
  after(() => Promise.all(servers.map((s) => s.close())));

  test('after -o json the banner goes to stderr, so stdout stays JSON; expiry -k gets it too', async (t) => {
    const { home } = await tempHome(t);
    const built = await buildBundle({ now: new Date() }, withExpiresIn(3 * DAY + 2 * HOUR, 'root'));
    const server = await start(built);
    const root = bannerText('root', 'expires in 3 days.', built.certs.root!.spec.notAfter);
    const json = await runK(server, home, ['mtls', 'expiry', '-k', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(JSON.parse(json.stdout));
    assert.ok(json.stderr.includes(root), json.stderr);
    const text = await runK(server, home, ['mtls', '-k', 'expiry']);
    assert.ok(text.stdout.endsWith(root), text.stdout);
  });

  test('never fails the command: an API error while reading the bundle prints no banner and exit stays 0', async (t) => {
    const { home } = await tempHome(t);
    const built = await buildBundle({ now: new Date() }, withExpiresIn(2 * DAY, 'root'));
    const server = await start(built);
    // `mtls -k` reads only the Configuration; the banner's Secret read gets the 500.
    server.faults.failNext(1, { match: { resource: 'secrets' } });
    const r = await runK(server, home, ['mtls', '-k']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ENABLED);
    assert.equal(r.stderr, '');
    assert.equal(server.requests.count({ resource: 'secrets', status: 500 }), 1, 'the banner did try');
    // A Secret whose ca.crt is not PEM: nothing for that certificate, nothing fails.
    server.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (s) => {
      (s.data as Record<string, string>)['ca.crt'] = Buffer.from('garbage').toString('base64');
    });
    const garbage = await runK(server, home, ['mtls', '-k']);
    assert.equal(garbage.code, 0, garbage.stderr);
    assert.equal(garbage.stdout, ENABLED);
  });
});
