/**
 * Authorization as kube-apiserver's RBAC authorizer does it (k8s.io/kubernetes
 * plugin/pkg/auth/authorizer/rbac): a request is allowed when a rule of a Role (through a
 * RoleBinding in the request's namespace) or of a ClusterRole (through a ClusterRoleBinding, or a
 * RoleBinding in the namespace) bound to the user or one of its groups matches its API group,
 * resource (`secrets`, `serviceaccounts/token`), verb and, when the rule lists `resourceNames`,
 * its name. Lists and watches take their name from a `metadata.name=` field selector
 * (requestinfo.go), so `resourceNames` can allow watching one object but never listing all.
 * Non-resource paths are allowed to authenticated users (system:discovery, system:public-info-viewer).
 *
 * Only service-account tokens are subject to it: the server's own token is a cluster admin
 * (system:masters), as the kubeconfig of a test's "operator" is.
 */
import type { KubeApi } from './kube-api.js';
import { isJsonObject, type JsonObject, type KubeObject } from './objects.js';
import type { RequestInfo } from './request-info.js';
import { parseFieldSelector } from './selectors.js';
import { KubeStatusError, statusBody } from './status.js';

export interface KubeUser {
  username: string;
  groups: readonly string[];
  /** system:masters: RBAC is not consulted. */
  admin: boolean;
}

export const ADMIN_USER: KubeUser = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'], admin: true };

/** What an authorizer sees of a request (authorizer.Attributes). */
export interface Attributes {
  verb: string;
  isResourceRequest: boolean;
  path: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export function attributesOf(info: RequestInfo): Attributes {
  let name = info.name ?? '';
  if (name === '' && (info.verb === 'list' || info.verb === 'watch') && info.type) {
    // requestinfo.go: a list/watch with an exact `metadata.name` field selector is about that name.
    const selector = info.query.get('fieldSelector');
    const m = selector ? /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(selector) : null;
    if (m) {
      try {
        parseFieldSelector(info.type, selector ?? undefined);
        name = m[1]!;
      } catch {
        // an invalid selector is answered 400 by the handler; it names nothing
      }
    }
  }
  return {
    verb: info.verb, isResourceRequest: info.isResourceRequest, path: info.path, group: info.group ?? '',
    resource: info.resource ?? '', subresource: info.subresource ?? '', namespace: info.namespace ?? '', name,
  };
}

interface Rule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function rulesOf(role: KubeObject | undefined): Rule[] {
  if (!role || !Array.isArray(role.rules)) return [];
  return role.rules.filter(isJsonObject).map((r: JsonObject) => ({
    verbs: strings(r.verbs), apiGroups: strings(r.apiGroups), resources: strings(r.resources),
    resourceNames: strings(r.resourceNames), nonResourceURLs: strings(r.nonResourceURLs),
  }));
}

function subjectMatches(subject: unknown, user: KubeUser, bindingNamespace: string | undefined): boolean {
  if (!isJsonObject(subject)) return false;
  const name = String(subject.name ?? '');
  switch (subject.kind) {
    case 'ServiceAccount': {
      const ns = typeof subject.namespace === 'string' && subject.namespace !== '' ? subject.namespace : bindingNamespace;
      return user.username === `system:serviceaccount:${ns}:${name}`;
    }
    case 'User':
      return user.username === name;
    case 'Group':
      return user.groups.includes(name);
    default:
      return false;
  }
}

function ruleAllows(rule: Rule, a: Attributes): boolean {
  const has = (list: string[], value: string) => list.includes('*') || list.includes(value);
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.isResourceRequest) {
    return rule.nonResourceURLs.some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  // rbac/v1 ResourceMatches: '*', the exact `resource[/subresource]`, or `*/subresource`.
  const resourceOk = rule.resources.some((r) => r === '*' || r === combined || (a.subresource !== '' && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  return rule.resourceNames.length === 0 || (a.name !== '' && rule.resourceNames.includes(a.name));
}

/** The rules bound to `user` that apply in `namespace` ('' = cluster scope only). */
function rulesFor(api: KubeApi, user: KubeUser, namespace: string): Rule[] {
  const rules: Rule[] = [];
  const roleRefRules = (ref: unknown, ns: string | undefined): Rule[] => {
    if (!isJsonObject(ref)) return [];
    const name = String(ref.name ?? '');
    if (ref.kind === 'ClusterRole') return rulesOf(api.find('clusterroles', undefined, name));
    if (ref.kind === 'Role' && ns !== undefined) return rulesOf(api.find('roles', ns, name));
    return [];
  };
  for (const binding of api.select('clusterrolebindings')) {
    if (Array.isArray(binding.subjects) && binding.subjects.some((s) => subjectMatches(s, user, undefined))) {
      rules.push(...roleRefRules(binding.roleRef, undefined));
    }
  }
  if (namespace !== '') {
    for (const binding of api.select('rolebindings', { namespace })) {
      if (Array.isArray(binding.subjects) && binding.subjects.some((s) => subjectMatches(s, user, namespace))) {
        rules.push(...roleRefRules(binding.roleRef, namespace));
      }
    }
  }
  return rules;
}

export function isAllowed(api: KubeApi, user: KubeUser, a: Attributes): boolean {
  if (user.admin) return true;
  if (!a.isResourceRequest && a.verb === 'get') return true; // discovery, /version, /healthz: system:discovery
  // system:basic-user: every authenticated user may ask what it may do.
  if (a.group === 'authorization.k8s.io' && a.verb === 'create' && ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'].includes(a.resource)) return true;
  return rulesFor(api, user, a.namespace).some((rule) => ruleAllows(rule, a));
}

/** `forbiddenMessage` of k8s.io/apiserver responsewriters/errors.go. */
export function forbiddenMessage(user: KubeUser, a: Attributes): string {
  if (!a.isResourceRequest) return `User ${JSON.stringify(user.username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  return `User ${JSON.stringify(user.username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.group)} ${where}`;
}

/** The 403 the real server writes (apierrors.NewForbidden of the group/resource and name). */
export function forbiddenError(user: KubeUser, a: Attributes): KubeStatusError {
  const why = forbiddenMessage(user, a);
  if (!a.isResourceRequest) return new KubeStatusError(statusBody(403, 'Forbidden', `forbidden: ${why}`, {}));
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const message = a.name ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  const details = { ...(a.name ? { name: a.name } : {}), ...(a.group ? { group: a.group } : {}), kind: a.resource };
  return new KubeStatusError(statusBody(403, 'Forbidden', message, details));
}

/** The status of a SelfSubjectAccessReview for `spec` (what `kubectl auth can-i` asks). */
export function selfSubjectAccessReview(api: KubeApi, user: KubeUser, spec: JsonObject): JsonObject {
  const ra = isJsonObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nra = isJsonObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  const a: Attributes = ra
    ? {
      verb: String(ra.verb ?? ''), isResourceRequest: true, path: '', group: String(ra.group ?? ''), resource: String(ra.resource ?? ''),
      subresource: String(ra.subresource ?? ''), namespace: String(ra.namespace ?? ''), name: String(ra.name ?? ''),
    }
    : { verb: String(nra?.verb ?? ''), isResourceRequest: false, path: String(nra?.path ?? ''), group: '', resource: '', subresource: '', namespace: '', name: '' };
  return { allowed: isAllowed(api, user, a) };
}
