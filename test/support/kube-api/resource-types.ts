/**
 * The resource types the test API server serves, with the discovery facts the real API server
 * publishes for them (group, version, plural, kind, scope, short names, verbs) and the storage
 * rules that differ between types (generation, status subresource, custom resource).
 */

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  verbs: readonly string[];
  categories: readonly string[];
  /**
   * When `metadata.generation` moves: 'spec' (workloads: spec changes only), 'non-metadata'
   * (custom resources without a status subresource: any change outside metadata), or none.
   */
  generation?: 'spec' | 'non-metadata';
  /** Has a `/status` subresource: main-resource writes keep the stored status, status writes keep the rest. */
  statusSubresource: boolean;
  /** Served from a CRD: list items carry apiVersion/kind, no strategic merge patch, resourceVersion required on PUT. */
  custom: boolean;
  /** Create-only, never stored (tokenreviews). */
  virtual: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

function type(t: Partial<ResourceType> & Pick<ResourceType, 'plural' | 'singular' | 'kind'>): ResourceType {
  return {
    group: '', version: 'v1', namespaced: true, shortNames: [], verbs: ALL_VERBS, categories: [],
    statusSubresource: false, custom: false, virtual: false, ...t,
  };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  type({ plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], statusSubresource: true }),
  type({ plural: 'secrets', singular: 'secret', kind: 'Secret' }),
  type({ plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', shortNames: ['cm'] }),
  type({ plural: 'pods', singular: 'pod', kind: 'Pod', shortNames: ['po'], categories: ['all'], statusSubresource: true }),
  type({ plural: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', shortNames: ['sa'] }),
  type({ plural: 'events', singular: 'event', kind: 'Event', shortNames: ['ev'] }),
  type({ group: 'apps', plural: 'deployments', singular: 'deployment', kind: 'Deployment', shortNames: ['deploy'],
    categories: ['all'], generation: 'spec', statusSubresource: true }),
  type({ group: 'apps', plural: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', shortNames: ['sts'],
    categories: ['all'], generation: 'spec', statusSubresource: true }),
  type({ group: 'apps', plural: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', shortNames: ['ds'],
    categories: ['all'], generation: 'spec', statusSubresource: true }),
  type({ group: 'coordination.k8s.io', plural: 'leases', singular: 'lease', kind: 'Lease' }),
  type({ group: 'dapr.io', version: 'v1alpha1', plural: 'configurations', singular: 'configuration', kind: 'Configuration',
    generation: 'non-metadata', custom: true }),
  type({ group: 'authentication.k8s.io', plural: 'tokenreviews', singular: 'tokenreview', kind: 'TokenReview',
    namespaced: false, verbs: ['create'], virtual: true }),
  type({ group: 'authorization.k8s.io', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview',
    kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'], virtual: true }),
  type({ group: 'rbac.authorization.k8s.io', plural: 'roles', singular: 'role', kind: 'Role' }),
  type({ group: 'rbac.authorization.k8s.io', plural: 'rolebindings', singular: 'rolebinding', kind: 'RoleBinding' }),
  type({ group: 'rbac.authorization.k8s.io', plural: 'clusterroles', singular: 'clusterrole', kind: 'ClusterRole', namespaced: false }),
  type({ group: 'rbac.authorization.k8s.io', plural: 'clusterrolebindings', singular: 'clusterrolebinding', kind: 'ClusterRoleBinding', namespaced: false }),
];

/** The group/versions served, in discovery order (preferred version first per group). */
export const GROUP_VERSIONS: readonly { group: string; version: string }[] = [
  { group: 'apps', version: 'v1' },
  { group: 'authentication.k8s.io', version: 'v1' },
  { group: 'authorization.k8s.io', version: 'v1' },
  { group: 'rbac.authorization.k8s.io', version: 'v1' },
  { group: 'coordination.k8s.io', version: 'v1' },
  { group: 'dapr.io', version: 'v1alpha1' },
];

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** `secrets`, `deployments.apps`, `configurations.dapr.io`: the name the real server uses in messages. */
export function qualifiedResource(t: ResourceType): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

/**
 * Resolves a name as kubectl users write it: `secrets`, `secret`, `Secret`, `deploy`,
 * `deployments.apps`, `configurations.dapr.io`. Throws for unknown names (a test bug).
 */
export function resolveType(name: string | ResourceType): ResourceType {
  if (typeof name !== 'string') return name;
  const [head, ...rest] = name.split('.');
  const group = rest.join('.');
  const lower = (head ?? '').toLowerCase();
  const found = RESOURCE_TYPES.find((t) => (group === '' || t.group === group)
    && (t.plural === lower || t.singular === lower || t.kind.toLowerCase() === lower || t.shortNames.includes(lower)));
  if (!found) throw new Error(`kube-api test server: unknown resource type '${name}'`);
  return found;
}

export function isWorkload(t: ResourceType): boolean {
  return t.group === 'apps';
}
