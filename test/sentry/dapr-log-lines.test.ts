/**
 * The lines of spec 3.3 and 4.1 as Dapr's Sentry writes them (text: cmd/sentry/app/app.go and
 * pkg/sentry/server/ca/ca.go at v1.18.3; same in 1.16/1.17), matched the way a log-based alert
 * matches them: a regular expression on the raw logrus line (`level=… msg="…" … scope=…`), and a
 * field match on the JSON record. bin/sentry runs as a process, self-hosted, first on an empty
 * credentials directory (generate), then on what it stored (found), then a credential change
 * (reload). Also: Warden's own pino JSON writes one `scope` key when a call names its scope.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSentryLogger } from '../../src/sentry/logger.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { assertBuilt } from '../cli/helpers.js';
import { healthStatus, startSentryBin, stopAndExitCode, type Run } from '../sentry-kube/chart-support.js';
import { freePorts } from '../support/free-ports.js';
import { waitFor } from '../sentry-kube/harness.js';

/** Alert expressions for Dapr's lines: level, exact message, scope (logrus text). */
const alert = (level: string, msg: string, scope: string): RegExp =>
  new RegExp(`^time="[^"]+" level=${level} msg="${msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" .*\\bscope=${scope.replace(/\./g, '\\.')} `, 'm');

describe('Dapr\'s log lines (spec 3.3, 4.1), as alerts match them', () => {
  let dir: string;
  before(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'warden-dapr-lines-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function start(creds: string, extra: string[] = []): Promise<Run> {
    const [port, healthzPort] = await freePorts(2);
    const run = startSentryBin(['--issuer-credentials', creds, '--trust-domain', 'cluster.local', '--log-level', 'debug',
      '--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort),
      '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false', ...extra], { HOME: dir });
    await waitFor('healthy', async () => (await healthStatus(healthzPort)) === 200, 30_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${run.stdout()}${run.stderr()}`); });
    return run;
  }

  it('generate, found, watch, change: Dapr\'s texts, levels and scopes', async () => {
    const creds = join(dir, 'certs');
    const first = await start(creds);
    assert.equal(await stopAndExitCode(first), 0);
    const generated = first.stdout();
    for (const msg of ['Root and issuer certs not found: generating self signed CA', 'Generating self-signed CA certs and persisting to store',
      'Self-signed certs and JWT root key generated and persisted successfully']) {
      assert.match(generated, alert('info', msg, 'dapr.sentry.ca'), msg);
    }
    assert.match(generated, alert('info', `Starting watch on filesystem directories: [${creds}]`, 'dapr.sentry'));

    const second = await start(creds);
    assert.match(second.stdout(), alert('info', 'Root and issuer certs found: using credentials from store', 'dapr.sentry.ca'));
    assert.doesNotMatch(second.stdout(), /generating self signed CA/);
    // A write of the bundle (here the same texts again, through the store as `warden mtls` writes):
    // Dapr's debug line per event, then the warning once. (Dapr reacts to any file in the directory;
    // Warden only to the bundle's own names and `..data`, so an unrelated file would log nothing.)
    const store = new FsTrustBundleStore({ dir: creds });
    const current = await store.read();
    assert.equal(current.state, 'complete');
    if (current.state === 'complete') await store.write(current.texts, { backup: false });
    await waitFor('the reload warning', () => alert('warning', 'Issuer credentials changed; reloading', 'dapr.sentry').test(second.stdout()), 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${second.stdout()}`); });
    assert.match(second.stdout(), alert('debug', 'Received issuer credentials changed signal', 'dapr.sentry'));
    assert.equal(await stopAndExitCode(second), 0);
    assert.match(second.stdout(), alert('info', 'Sentry shut down gracefully', 'dapr.sentry'));
    assert.match(second.stdout(), alert('info', 'CA certificate key pair ready', 'dapr.sentry'));
    assert.match(second.stdout(), alert('info', 'Adding validator \'insecure\'', 'dapr.sentry'));
    assert.match(second.stdout(), alert('info', 'Using validator \'insecure\'', 'dapr.sentry'));
    assert.match(second.stdout(), alert('info', 'Shutting down gRPC server', 'dapr.sentry.server'));
  });

  it('JSON (--log-as-json): the same records by field, as a jq/LogQL json alert selects them', async () => {
    const creds = join(dir, 'certs-json');
    const run = await start(creds, ['--log-as-json']);
    assert.equal(await stopAndExitCode(run), 0);
    const records = run.stdout().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    const find = (msg: string) => records.find((r) => r['msg'] === msg);
    assert.deepEqual([find('Root and issuer certs not found: generating self signed CA')?.['level'], find('Root and issuer certs not found: generating self signed CA')?.['scope']],
      ['info', 'dapr.sentry.ca']);
    assert.equal(find(`Starting watch on filesystem directories: [${creds}]`)?.['scope'], 'dapr.sentry');
  });

  it('Warden\'s pino JSON: a call\'s own scope replaces the default, one "scope" key per line (was two)', (t) => {
    const file = join(dir, 'warden.log');
    t.after(() => rmSync(file, { force: true }));
    const logger = createSentryLogger({ format: 'warden', level: 'info', file });
    logger.info({ scope: 'dapr.sentry.ca' }, 'Root and issuer certs found: using credentials from store');
    logger.info('Using validator \'kubernetes\'');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    for (const line of lines) assert.equal(line.match(/"scope":/g)?.length, 1, line);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { scope: string }).scope), ['dapr.sentry.ca', 'dapr.sentry']);
  });
});
