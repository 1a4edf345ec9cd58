/**
 * deploy/monitoring/: the plain rules file is the one source; the PrometheusRule manifest is made
 * from it here. `WARDEN_WRITE_MONITORING=1 node --import tsx --test test/monitor/monitoring-rules.test.ts`
 * rewrites the manifest; without it the test fails when the committed manifest is not this output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export const MONITORING_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'monitoring');
export const RULES_FILE = join(MONITORING_DIR, 'warden-rules.yaml');
export const MANIFEST_FILE = join(MONITORING_DIR, 'prometheusrule.yaml');
export const DASHBOARD_FILE = join(MONITORING_DIR, 'grafana-dashboard.json');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export function readRuleGroups(): RuleGroup[] {
  return (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] }).groups;
}

/** The PrometheusRule (prometheus-operator) holding the rules file's groups unchanged. */
export function prometheusRuleManifest(groups: RuleGroup[]): string {
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'warden-fleet',
      labels: { 'app.kubernetes.io/name': 'warden-monitor', 'app.kubernetes.io/part-of': 'warden' },
    },
    spec: { groups },
  };
  return '# Generated from warden-rules.yaml (test/monitor/monitoring-files.ts); edit that file, not this one.\n' +
    stringify(manifest, { lineWidth: 0 });
}

/** Warden's fleet metrics, as FLEET-CONTRACT.md names them (the monitor's registry once it is merged). */
export const FLEET_METRICS = [
  'warden_fleet_certificate_expiry_timestamp_seconds',
  'warden_fleet_certificate_seconds_left',
  'warden_fleet_certificate_not_before_timestamp_seconds',
  'warden_fleet_rotation_phase',
  'warden_fleet_rotation_phase_since_timestamp_seconds',
  'warden_fleet_configmap_in_sync',
  'warden_fleet_sentry_ready',
  'warden_fleet_apps_not_converged',
  'warden_fleet_target_info',
  'warden_fleet_target_up',
  'warden_fleet_last_successful_read_timestamp_seconds',
  'warden_fleet_read_errors_total',
  'warden_fleet_target_status',
] as const;

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: every identifier left once strings, label matchers,
 * ranges, grouping clauses, function calls, keywords, numbers and Grafana variables are taken out.
 * Enough for the expressions of this folder; not a full PromQL parser.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b[a-zA-Z_]\w*\s*\(/g, '(')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  const names = stripped.match(/[a-zA-Z_:][\w:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_KEYWORDS.has(n.toLowerCase())))];
}

/** Every PromQL expression of the Grafana dashboard: panel targets and query variables, with where each is. */
export function dashboardExpressions(dashboard: unknown): { where: string; expr: string }[] {
  const found: { where: string; expr: string }[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}[${i}]`));
    else if (node !== null && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const title = typeof record.title === 'string' ? `${where} "${record.title}"` : where;
      if (typeof record.expr === 'string') found.push({ where: title, expr: record.expr });
      if (record.type === 'query' && typeof record.definition === 'string') {
        found.push({ where: title, expr: record.definition.replace(/^label_values\((.*),\s*\w+\)$/, '$1') });
      }
      for (const [key, value] of Object.entries(record)) walk(value, `${title}.${key}`);
    }
  };
  walk(dashboard, 'dashboard');
  return found;
}
