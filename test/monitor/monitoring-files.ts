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
