/**
 * The ServiceAccount, ClusterRole, Role and bindings Dapr's Helm chart gives Sentry
 * (charts/dapr/charts/dapr_rbac/templates/sentry.yaml, written out by hand; identical in the
 * 1.16, 1.17 and 1.18 charts), with default values (`global.rbac.namespaced: false`).
 * Note what is NOT there: no `watch`/`list`/`create` on Secrets, no `create` on ConfigMaps.
 */
import type { KubeApiServer } from './server.js';
import type { JsonObject } from './objects.js';

export type DaprChartVersion = '1.16' | '1.17' | '1.18';
export const DAPR_CHART_VERSIONS: readonly DaprChartVersion[] = ['1.16', '1.17', '1.18'];

export const SENTRY_SERVICE_ACCOUNT = 'dapr-sentry';

/** The ClusterRole `dapr-sentry`'s rules. */
export function sentryClusterRoleRules(_version: DaprChartVersion, { namespaced = false } = {}): JsonObject[] {
  return [
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    ...(namespaced ? [] : [
      { apiGroups: ['dapr.io'], resources: ['configurations'], verbs: ['list', 'get', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'get', 'watch'] },
    ]),
  ];
}

/** The Role `dapr-sentry`'s rules (in the release namespace). */
export function sentryRoleRules(_version: DaprChartVersion): JsonObject[] {
  return [
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'delete'], resourceNames: ['dapr-trust-bundle'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update', 'watch', 'list'], resourceNames: ['dapr-trust-bundle'] },
    { apiGroups: ['dapr.io'], resources: ['configurations'], verbs: ['list', 'get', 'watch'] },
  ];
}

/**
 * Creates the chart's Sentry RBAC in `namespace` (the ServiceAccount only if missing) and returns
 * a token for the ServiceAccount, as the pod's projected token would be.
 */
export function seedDaprSentryRbac(server: KubeApiServer, { namespace, version = '1.18', namespaced = false }: {
  namespace: string; version?: DaprChartVersion; namespaced?: boolean;
}): { token: string } {
  const { api } = server;
  if (!api.find('serviceaccounts', namespace, SENTRY_SERVICE_ACCOUNT)) {
    api.create('serviceaccounts', namespace, { metadata: { name: SENTRY_SERVICE_ACCOUNT } });
  }
  const subjects = [{ kind: 'ServiceAccount', name: SENTRY_SERVICE_ACCOUNT, namespace }];
  api.create('clusterroles', undefined, { metadata: { name: 'dapr-sentry' }, rules: sentryClusterRoleRules(version, { namespaced }) });
  api.create('clusterrolebindings', undefined, {
    metadata: { name: 'dapr-sentry' }, subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'dapr-sentry' },
  });
  api.create('roles', namespace, { metadata: { name: 'dapr-sentry' }, rules: sentryRoleRules(version) });
  api.create('rolebindings', namespace, {
    metadata: { name: 'dapr-sentry' }, subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dapr-sentry' },
  });
  const { token } = server.tokens.mint({ namespace, serviceAccount: SENTRY_SERVICE_ACCOUNT, expirationSeconds: 3607 });
  return { token };
}
