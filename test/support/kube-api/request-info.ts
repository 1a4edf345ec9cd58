/**
 * Classifies a request as the API server's RequestInfoFactory does (k8s.io/apiserver
 * pkg/endpoints/request/requestinfo.go): resource vs non-resource path, verb (get, list, watch,
 * create, update, patch, delete, deletecollection), group/version/resource/subresource,
 * namespace and name.
 */
import { findType, type ResourceType } from './resource-types.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RequestInfo {
  path: string;
  query: URLSearchParams;
  isResourceRequest: boolean;
  /** A Verb for resource requests; the lower-case method otherwise. */
  verb: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Undefined for unknown resources (the server answers 404). */
  type?: ResourceType;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Go's strconv.ParseBool "true" values, which the server uses for `watch`. */
export function isTrue(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

export function parseRequestInfo(method: string, url: URL): RequestInfo {
  const path = url.pathname;
  const query = url.searchParams;
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const base: RequestInfo = { path, query, isResourceRequest: false, verb: method.toLowerCase() };
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    [group, version, rest] = ['', parts[1]!, parts.slice(2)];
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  } else {
    return base;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const [resource, name, ...sub] = rest as [string, string | undefined, ...string[]];
  const watch = isTrue(query.get('watch'));
  const verbs: Record<string, Verb> = {
    GET: name ? (watch ? 'watch' : 'get') : watch ? 'watch' : 'list',
    HEAD: name ? 'get' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  return {
    ...base,
    isResourceRequest: true,
    verb: verbs[method] ?? method.toLowerCase(),
    group, version, resource, namespace, name,
    subresource: sub.length ? sub.join('/') : undefined,
    type: findType(group, version, resource),
  };
}
