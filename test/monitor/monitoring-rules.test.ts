/**
 * deploy/monitoring/: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`, deploy/monitoring/tests/*.yaml); the PrometheusRule manifest is the rules
 * file's groups exactly; and the rules and the Grafana dashboard read only metrics that exist:
 * Warden's fleet metrics (FLEET-CONTRACT.md) and the sentry's registry (Dapr's `dapr_sentry_*` and
 * Warden's `warden_sentry_*`, read from a live SentryMetrics).
 *
 * promtool comes from Debian's `prometheus` package (.ci/run installs it): without it the promtool
 * tests are skipped locally with a message and fail on CI (CI=true).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { FleetMetrics } from '../../src/monitor/metrics.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import {
  DASHBOARD_FILE, FLEET_METRICS, MANIFEST_FILE, MONITORING_DIR, RULES_FILE,
  dashboardExpressions, metricNames, prometheusRuleManifest, readRuleGroups,
} from './monitoring-files.js';

const PROMTOOL = process.env.WARDEN_PROMTOOL ?? 'promtool';

function run(file: string, args: string[], cwd: string): Promise<{ code: number | null; output: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: stdout + stderr, missing });
    });
  });
}

const probe = await run(PROMTOOL, ['--version'], MONITORING_DIR);
const promtoolMissing = probe.missing
  ? `no ${PROMTOOL} on PATH: install Debian's prometheus package (apt-get install -y prometheus; .ci/run does) or set WARDEN_PROMTOOL`
  : null;

if (promtoolMissing !== null && process.env.CI === 'true') {
  test('the alert rule tests need promtool on CI', () => assert.fail(promtoolMissing));
}

describe('alert rules under promtool', { skip: promtoolMissing === null ? false : `skipped: ${promtoolMissing}` }, () => {
  test('promtool check rules accepts the rules file', async () => {
    const result = await run(PROMTOOL, ['check', 'rules', RULES_FILE], MONITORING_DIR);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS: \d+ rules found/);
  });

  test('promtool test rules: every unit test in deploy/monitoring/tests passes', async () => {
    const files = readdirSync(join(MONITORING_DIR, 'tests')).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(files, ['expiry.yaml', 'monitor.yaml', 'rotation.yaml']);
    const result = await run(PROMTOOL, ['test', 'rules', ...files.map((f) => join('tests', f))], MONITORING_DIR);
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.match(/SUCCESS/g)?.length, files.length, result.output);
  });

  test('promtool test rules fails when an alert fires at the wrong threshold (the tests can fail)', async (t) => {
    const { mkdtempSync, mkdirSync, cpSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'warden-rules-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'tests'));
    cpSync(join(MONITORING_DIR, 'tests', 'expiry.yaml'), join(dir, 'tests', 'expiry.yaml'));
    const rules = readFileSync(RULES_FILE, 'utf8');
    const broken = rules.replace('time() < 7 * 86400', 'time() < 6 * 86400');
    assert.notEqual(broken, rules);
    writeFileSync(join(dir, 'warden-rules.yaml'), broken);
    const result = await run(PROMTOOL, ['test', 'rules', 'tests/expiry.yaml'], dir);
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /WardenCertificateExpiresIn7Days/);
  });
});

describe('alert rules and the PrometheusRule', () => {
  test('prometheusrule.yaml is made from warden-rules.yaml (WARDEN_WRITE_MONITORING=1 rewrites it)', () => {
    const expected = prometheusRuleManifest(readRuleGroups());
    if (process.env.WARDEN_WRITE_MONITORING === '1') writeFileSync(MANIFEST_FILE, expected);
    assert.equal(readFileSync(MANIFEST_FILE, 'utf8'), expected,
      'prometheusrule.yaml differs from warden-rules.yaml: rerun this test with WARDEN_WRITE_MONITORING=1');
    const manifest = parse(readFileSync(MANIFEST_FILE, 'utf8')) as { kind: string; spec: { groups: unknown } };
    assert.equal(manifest.kind, 'PrometheusRule');
    assert.deepEqual(manifest.spec.groups, readRuleGroups());
  });

  test('every alert the issue asks for is there, with a severity, a summary and the fix', () => {
    const alerts = readRuleGroups().flatMap((g) => g.rules);
    const names = alerts.map((a) => a.alert);
    for (const wanted of ['WardenCertificateExpiresIn30Days', 'WardenCertificateExpiresIn7Days', 'WardenCertificateExpiresIn1Day',
      'WardenCertificateExpired', 'WardenRotationStuck', 'WardenConfigMapDrift', 'WardenTargetDown', 'WardenTargetReadErrors']) {
      assert.ok(names.includes(wanted), `${wanted} is defined`);
    }
    assert.equal(new Set(names).size, names.length, 'alert names are unique');
    for (const alert of alerts) {
      assert.ok(['info', 'warning', 'critical'].includes(alert.labels?.severity ?? ''), `${alert.alert}: severity info, warning or critical`);
      assert.ok(alert.annotations?.summary, `${alert.alert}: a summary`);
      assert.ok(alert.annotations?.fix, `${alert.alert}: the fix`);
    }
  });
});

describe('metric names in the rules and the dashboard', () => {
  /** The sentry's metric names as its registry exports them (histograms as _bucket, _sum, _count). */
  async function sentryMetricNames(): Promise<Set<string>> {
    const metrics = await new SentryMetrics().registry.getMetricsAsJSON();
    return new Set(metrics.flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`, m.name] : [m.name])));
  }

  test('metricNames finds the metrics of an expression and nothing else', () => {
    assert.deepEqual(metricNames('sum by (target, code) (increase(warden_fleet_read_errors_total{target=~"$target"}[1h])) > 3 unless on (target) up == 0'),
      ['warden_fleet_read_errors_total', 'up']);
    assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval])))'), ['x_bucket']);
    assert.deepEqual(metricNames('(time() - a) * on (target) group_left (phase) (b == 1) / 86400'), ['a', 'b']);
  });

  test('the fleet metrics list is exactly what warden monitor registers', async () => {
    const names = (await new FleetMetrics({ processMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name).sort();
    assert.deepEqual(names, [...FLEET_METRICS].sort());
  });

  test('the rules read only fleet metrics of the contract', () => {
    const unknown = readRuleGroups().flatMap((g) => g.rules).flatMap((r) => metricNames(r.expr)
      .filter((n) => !(FLEET_METRICS as readonly string[]).includes(n)).map((n) => `${r.alert}: ${n}`));
    assert.deepEqual(unknown, []);
  });

  test('the dashboard reads only metrics that exist: the contract\'s fleet metrics and the sentry\'s registry', async () => {
    const known = new Set<string>([...FLEET_METRICS, ...(await sentryMetricNames())]);
    const expressions = dashboardExpressions(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')));
    assert.ok(expressions.length > 20, `found ${expressions.length} expressions`);
    const used = new Set(expressions.flatMap((e) => metricNames(e.expr)));
    const unknown = expressions.flatMap((e) => metricNames(e.expr).filter((n) => !known.has(n)).map((n) => `${e.where}: ${n}`));
    assert.deepEqual(unknown, []);
    // It covers both: every fleet metric but the redundant seconds-left gauge, and each of Dapr's six sentry metrics.
    const wanted = [...FLEET_METRICS.filter((m) => m !== 'warden_fleet_certificate_seconds_left'),
      'dapr_sentry_cert_sign_request_received_total', 'dapr_sentry_cert_sign_success_total', 'dapr_sentry_cert_sign_failure_total',
      'dapr_sentry_servercert_issue_failed_total', 'dapr_sentry_issuercert_changed_total', 'dapr_sentry_issuercert_expiry_timestamp'];
    assert.deepEqual(wanted.filter((m) => !used.has(m)), []);
  });

  test('a misspelt metric in the dashboard is caught', async () => {
    const known = new Set<string>([...FLEET_METRICS, ...(await sentryMetricNames())]);
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8').replace('dapr_sentry_cert_sign_success_total', 'dapr_sentry_cert_sign_succes_total'));
    const unknown = dashboardExpressions(dashboard).flatMap((e) => metricNames(e.expr).filter((n) => !known.has(n)));
    assert.deepEqual(unknown, ['dapr_sentry_cert_sign_succes_total']);
  });

  test('the dashboard is well formed: unique panel ids, one data source variable, panels inside the 24-column grid', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
      uid: string; panels: { id: number; type: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string } }[];
      templating: { list: { name: string; type: string }[] };
    };
    assert.equal(dashboard.uid, 'warden-fleet');
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `panel ${panel.id} fits the grid`);
      if (panel.type !== 'row') assert.equal(panel.datasource?.uid, '${datasource}', `panel ${panel.id} uses the data source variable`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          assert.ok(!cells.has(`${i},${j}`), `panel ${panel.id} overlaps another at ${i},${j}`);
          cells.add(`${i},${j}`);
        }
      }
    }
  });
});
