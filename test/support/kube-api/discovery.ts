/**
 * Legacy (unaggregated) discovery documents: `/version`, `/api`, `/api/v1`, `/apis`,
 * `/apis/<group>`, `/apis/<group>/<version>`. Clients that ask for aggregated discovery
 * (kubectl ≥ 1.26 sends `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…`)
 * read the plain `application/json` Content-Type of the answer and fall back to these.
 */
import { GROUP_VERSIONS, RESOURCE_TYPES, type ResourceType } from './resource-types.js';

export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

export const DEFAULT_VERSION: ServerVersion = { major: '1', minor: '32', gitVersion: 'v1.32.4' };

export function versionDocument(v: ServerVersion): Record<string, string> {
  return {
    major: v.major, minor: v.minor, gitVersion: v.gitVersion, gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean', buildDate: '2025-04-22T16:03:40Z', goVersion: 'go1.23.8', compiler: 'gc', platform: 'linux/amd64',
  };
}

function resourceEntries(types: readonly ResourceType[]): Record<string, unknown>[] {
  const entries: Record<string, unknown>[] = [];
  for (const t of types) {
    entries.push({
      name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    });
    if (t.statusSubresource) {
      entries.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    }
    if (t.plural === 'serviceaccounts') {
      entries.push({ name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
    }
  }
  return entries.sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

function groupEntry(group: string): Record<string, unknown> {
  const versions = GROUP_VERSIONS.filter((gv) => gv.group === group).map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** The discovery document for `path`, or undefined when it is not a discovery path. */
export function discoveryDocument(path: string, serverAddress: string, serverVersion: ServerVersion): unknown {
  if (path === '/version') return versionDocument(serverVersion);
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (path === '/api/v1') {
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: resourceEntries(RESOURCE_TYPES.filter((t) => t.group === '')) };
  }
  if (path === '/apis') {
    const groups = [...new Set(GROUP_VERSIONS.map((gv) => gv.group))];
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
  }
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (!m) return undefined;
  const [, group, version] = m as unknown as [string, string, string | undefined];
  if (!GROUP_VERSIONS.some((gv) => gv.group === group && (version === undefined || gv.version === version))) return undefined;
  if (version === undefined) return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
  return {
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`,
    resources: resourceEntries(RESOURCE_TYPES.filter((t) => t.group === group && t.version === version)),
  };
}
