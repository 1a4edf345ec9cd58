/**
 * bin/sentry with the command line Dapr's Helm chart renders (charts/dapr/charts/dapr_sentry/
 * templates/dapr_sentry_deployment.yaml, written out by hand), in Kubernetes mode against the
 * Kubernetes API test server with the chart's environment (NAMESPACE from the pod's namespace).
 * Only the ports differ: the chart uses the defaults (gRPC 50001, /healthz 8080) and
 * `global.prometheus.port` 9090; the tests add free ports and loopback listen addresses. The chart
 * passes no --kubeconfig (in-cluster config); the tests point $KUBECONFIG at the test server.
 * In Kubernetes mode the three file names name the Secret's keys. These args are the chart's with
 * `global.issuerFilenames` set to Dapr's own names (ca.crt, issuer.crt, issuer.key); with default
 * values the chart renders no --issuer-* flags at all (dapr-chart-versions.test.ts covers that, per
 * chart version, with the chart's RBAC and credentials mount).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBundle } from '../support/bundles.js';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { assertBuilt } from '../cli/helpers.js';
import { healthStatus, parseLogfmt, startSentryBin, stopAndExitCode, withTestPorts } from './chart-support.js';
import { NS, OUTSIDE_POD_RESOLV_CONF, TD, startCluster, waitFor } from './harness.js';

const VERSION = (await import('../../package.json', { with: { type: 'json' } })).default.version;

/** `helm template` of the sentry Deployment's args with `global.issuerFilenames: {ca: ca.crt, cert: issuer.crt, key: issuer.key}`. */
const CHART_DEFAULT_ARGS = ['--mode', 'kubernetes', '--log-level', 'info', '--enable-metrics', '--metrics-port', '9090',
  '--trust-domain', 'cluster.local', '--issuer-ca-filename', 'ca.crt', '--issuer-certificate-filename', 'issuer.crt',
  '--issuer-key-filename', 'issuer.key'];
/** The same with `global.logAsJson: true` as well. */
const CHART_JSON_ARGS = ['--mode', 'kubernetes', '--log-level', 'info', '--log-as-json', '--enable-metrics', '--metrics-port', '9090',
  '--trust-domain', 'cluster.local', '--issuer-ca-filename', 'ca.crt', '--issuer-certificate-filename', 'issuer.crt',
  '--issuer-key-filename', 'issuer.key'];

describe('bin/sentry with the argv of Dapr\'s Helm chart (kubernetes mode)', () => {
  let server: KubeApiServer;
  let home: string;
  let env: Record<string, string>;

  before(async () => {
    assertBuilt();
    const { texts } = await buildBundle({ now: new Date(), trustDomain: TD, namespace: NS });
    server = await startCluster({ trustBundle: texts }, ['elsewhere']);
    home = mkdtempSync(join(tmpdir(), 'warden-dapr-chart-'));
    env = { NAMESPACE: NS, HOME: home, KUBECONFIG: server.kubeconfigPath, WARDEN_RESOLV_CONF: OUTSIDE_POD_RESOLV_CONF };
  });
  after(async () => {
    await server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('default values: reaches /healthz 200 and logs Dapr text lines (time level msg, then instance scope type ver)', async (t) => {
    const { args, healthzPort } = await withTestPorts(CHART_DEFAULT_ARGS);
    const run = startSentryBin(args, env);
    t.after(run.kill);
    await waitFor('the sentry to be healthy', async () => (await healthStatus(healthzPort)) === 200, 30_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${run.stdout()}${run.stderr()}`); });
    assert.equal(await stopAndExitCode(run), 0, run.stderr());

    const lines = run.stdout().trimEnd().split('\n');
    const found = lines.find((l) => l.includes('msg="Root and issuer certs found: using credentials from store"'));
    assert.ok(found, run.stdout());
    const pairs = parseLogfmt(found);
    assert.deepEqual(pairs, [
      ['time', pairs[0]![1]], ['level', 'info'], ['msg', 'Root and issuer certs found: using credentials from store'],
      ['instance', hostname()], ['scope', 'dapr.sentry.ca'], ['type', 'log'], ['ver', VERSION],
    ]);
    assert.match(pairs[0]![1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    for (const line of lines) {
      const keys = parseLogfmt(line).map(([k]) => k);
      assert.deepEqual(keys.slice(0, 3), ['time', 'level', 'msg'], line);
      assert.deepEqual(keys.slice(3), [...keys.slice(3)].sort(), `logrus sorts the other keys: ${line}`);
      for (const k of ['instance', 'scope', 'type', 'ver']) assert.ok(keys.includes(k), `${k} in ${line}`);
    }
    const scoped = (msg: string): string | undefined => lines.map((l) => new Map(parseLogfmt(l))).find((r) => r.get('msg') === msg)?.get('scope');
    assert.equal(scoped('Using kubernetes secret store for trust bundle storage'), 'dapr.sentry.ca');
    assert.equal(scoped('Using validator \'kubernetes\''), 'dapr.sentry');
    assert.match(lines.find((l) => l.includes('msg="Running gRPC server on port ')) ?? '', / scope=dapr\.sentry\.server /);
    assert.equal(run.stderr(), '');
  });

  it('global.logAsJson: every stdout line is a Dapr JSON record', async (t) => {
    const { args, healthzPort } = await withTestPorts(CHART_JSON_ARGS);
    const run = startSentryBin(args, env);
    t.after(run.kill);
    await waitFor('the sentry to be healthy', async () => (await healthStatus(healthzPort)) === 200, 30_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${run.stdout()}${run.stderr()}`); });
    assert.equal(await stopAndExitCode(run), 0, run.stderr());
    const records = run.stdout().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.length >= 3, run.stdout());
    for (const r of records) {
      assert.match(r['scope'] as string, /^dapr\.sentry(\.ca|\.server)?$/);
      assert.equal(r['type'], 'log');
      assert.equal(r['ver'], VERSION);
      assert.equal(r['instance'], hostname());
      assert.ok(['debug', 'info', 'warning', 'error', 'fatal'].includes(r['level'] as string), JSON.stringify(r));
      assert.equal(typeof r['msg'], 'string');
      assert.deepEqual(Object.keys(r), Object.keys(r).sort());
    }
    assert.ok(records.some((r) => r['msg'] === 'Root and issuer certs found: using credentials from store' && r['scope'] === 'dapr.sentry.ca'));
    assert.equal(records[0]!['msg'], `Starting Dapr Sentry certificate authority -- version ${VERSION} -- commit unknown`);
    assert.equal(records[1]!['msg'], 'Log level set to: info');
    assert.equal(records.at(-1)!['msg'], 'Sentry shut down gracefully');
  });

  it('a fatal start-up error (no Secret in the namespace) is one level=fatal line and exit 1; --log-level warn hides the info lines', async () => {
    const run = startSentryBin([...CHART_DEFAULT_ARGS.map((a) => (a === 'info' ? 'warn' : a)), '--port', '0', '--healthz-port', '0', '--enable-metrics=false'],
      { ...env, NAMESPACE: 'elsewhere' });
    assert.equal(await run.exited, 1, run.stdout() + run.stderr());
    const records = run.stdout().trimEnd().split('\n').map((l) => new Map(parseLogfmt(l)));
    assert.deepEqual(records.map((r) => r.get('level')).filter((l) => l !== 'warning'), ['fatal'], run.stdout());
    const pairs = records.at(-1)!;
    assert.match(pairs.get('msg')!, /^Secret elsewhere\/dapr-trust-bundle and ConfigMap elsewhere\/dapr-trust-bundle do not exist/);
    assert.equal(run.stderr(), '');
  });

  it('single-dash long flags as Dapr accepts them; Dapr\'s option checks are fatal (exit 1) with its text', async () => {
    const run = startSentryBin(['-mode', 'kubernetes', '-log-level', 'info', '-port', '0', '-healthz-port', '0', '-enable-metrics=false',
      '--jwt-enabled=false', '--jwt-key-filename=jwt.key', '--jwt-issuer=https://issuer.example', '--jwt-ttl=1h'], env);
    assert.equal(await run.exited, 1, run.stdout() + run.stderr());
    const pairs = new Map(parseLogfmt(run.stdout().trimEnd().split('\n').at(-1)!));
    assert.equal(pairs.get('level'), 'fatal');
    assert.equal(pairs.get('msg'), 'jwt-issuer cannot be set when jwt-enabled is false');
  });
});
