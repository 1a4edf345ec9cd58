/**
 * REST handling of resource requests: verb dispatch onto KubeApi, query parameters, the status
 * subresources, watches, and the two authentication endpoints (TokenReview, TokenRequest).
 */
import type { ServerResponse } from 'node:http';
import type { KubeApi } from './kube-api.js';
import { negotiate, toPartial, toPartialList } from './negotiation.js';
import type { ObjectStore } from './object-store.js';
import { isJsonObject, kubeTime, type JsonObject } from './objects.js';
import { isTrue, type RequestInfo } from './request-info.js';
import { GROUP_VERSIONS, resolveType } from './resource-types.js';
import { badRequest, conflict, invalid, methodNotAllowed, resourceNotFound } from './status.js';
import { ADMIN_USER, selfSubjectAccessReview, type KubeUser } from './rbac.js';
import type { TokenAuthority } from './tokens.js';
import { serveWatch } from './watch.js';
import type { Clock } from '../../../src/core/clock.js';

export interface HandlerContext {
  api: KubeApi;
  store: ObjectStore;
  tokens: TokenAuthority;
  clock: Clock;
  /** Registers an open watch so the server can end it on close. */
  trackWatch(stop: () => void, res: ServerResponse): void;
}

export type HandlerResult = { code: number; body: unknown } | { code: 404; text: string } | 'streaming';

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name}: Invalid value: "${raw}": must be a non-negative integer`);
  return n;
}

/** Handles one resource request; `body` is the parsed request body (undefined for none). */
export interface RequestMedia {
  /** Request body media type, parameters stripped. */
  contentType: string;
  accept?: string;
  /** Who asks (SelfSubjectAccessReview); default the admin. */
  user?: KubeUser;
}

export function handleResource(ctx: HandlerContext, info: RequestInfo, media: RequestMedia, body: unknown, res: ServerResponse): HandlerResult {
  const { contentType } = media;
  const t = info.type;
  if (!t) {
    const knownGroupVersion = info.group === '' ? info.version === 'v1' : GROUP_VERSIONS.some((gv) => gv.group === info.group && gv.version === info.version);
    if (!knownGroupVersion) return { code: 404, text: '404 page not found\n' };
    throw resourceNotFound();
  }
  const { api } = ctx;
  const q = info.query;
  const dryRun = q.getAll('dryRun').includes('All');
  const ns = t.namespaced ? info.namespace : undefined;
  if (t.namespaced && info.name && !info.namespace) throw resourceNotFound();

  if (t.virtual) {
    if (info.verb !== 'create') throw methodNotAllowed();
    if (t.plural === 'selfsubjectaccessreviews') return { code: 201, body: accessReview(ctx, media.user ?? ADMIN_USER, body) };
    return { code: 201, body: tokenReview(ctx, body) };
  }
  if (info.subresource === 'token' && t.plural === 'serviceaccounts') {
    if (info.verb !== 'create') throw methodNotAllowed();
    return { code: 201, body: tokenRequest(ctx, info.namespace!, info.name!, body) };
  }
  if (info.subresource !== undefined && (info.subresource !== 'status' || !t.statusSubresource)) throw resourceNotFound();
  if (info.subresource === 'status' && !['get', 'update', 'patch'].includes(info.verb)) throw methodNotAllowed();
  if (!t.verbs.includes(info.verb)) throw methodNotAllowed();
  const opts = { dryRun, subresource: info.subresource };
  const metadataOnly = negotiate(media.accept, info.verb) === 'metadata';

  switch (info.verb) {
    case 'get': {
      const obj = api.get(t, ns, info.name!);
      return { code: 200, body: metadataOnly ? toPartial(obj) : obj };
    }
    case 'list': {
      const list = api.list(t, {
        namespace: ns, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined,
        limit: intParam(q, 'limit'), continue: q.get('continue') ?? undefined,
      });
      return { code: 200, body: metadataOnly ? toPartialList(list) : list };
    }
    case 'watch': {
      // A watch on a named object (GET .../secrets/x?watch=1) is a watch with a name field selector.
      const named = info.name ? `metadata.name=${info.name}` : undefined;
      const fieldSelector = [q.get('fieldSelector'), named].filter(Boolean).join(',') || null;
      const watch = serveWatch(res, ctx.store, api, {
        type: t, namespace: ns, labelSelector: q.get('labelSelector'), fieldSelector,
        resourceVersion: q.get('resourceVersion'), sendInitialEvents: isTrue(q.get('sendInitialEvents')),
        allowWatchBookmarks: isTrue(q.get('allowWatchBookmarks')), timeoutSeconds: intParam(q, 'timeoutSeconds'),
        ...(metadataOnly ? { render: toPartial } : {}),
      });
      ctx.trackWatch(watch.stop, res);
      return 'streaming';
    }
    case 'create':
      return { code: 201, body: api.create(t, ns, body, opts) };
    case 'update':
      return { code: 200, body: api.update(t, ns, info.name!, body, opts) };
    case 'patch':
      return { code: 200, body: api.patch(t, ns, info.name!, contentType, body, opts) };
    case 'delete': {
      const options = isJsonObject(body) ? body : {};
      const pre = isJsonObject(options.preconditions) ? options.preconditions : undefined;
      const bodyDryRun = Array.isArray(options.dryRun) && options.dryRun.includes('All');
      const preconditions = pre ? {
        uid: typeof pre.uid === 'string' ? pre.uid : undefined,
        resourceVersion: typeof pre.resourceVersion === 'string' ? pre.resourceVersion : undefined,
      } : undefined;
      return { code: 200, body: api.delete(t, ns, info.name!, { dryRun: dryRun || bodyDryRun, preconditions }) };
    }
    case 'deletecollection':
      return {
        code: 200,
        body: api.deleteCollection(t, { namespace: ns, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined, dryRun }),
      };
    default:
      throw methodNotAllowed();
  }
}

function accessReview(ctx: HandlerContext, user: KubeUser, body: unknown): JsonObject {
  const spec = isJsonObject(body) && isJsonObject(body.spec) ? body.spec : {};
  return {
    kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null },
    spec, status: selfSubjectAccessReview(ctx.api, user, spec),
  };
}

function tokenReview(ctx: HandlerContext, body: unknown): JsonObject {
  const spec = isJsonObject(body) && isJsonObject(body.spec) ? body.spec : {};
  if (typeof spec.token !== 'string' || spec.token === '') throw badRequest('token is required for TokenReview in authentication');
  const audiences = Array.isArray(spec.audiences) ? spec.audiences.map(String) : undefined;
  return {
    kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null },
    spec, status: ctx.tokens.review(spec.token, audiences),
  };
}

// POST /api/v1/namespaces/<ns>/serviceaccounts/<sa>/token (what `kubectl create token` calls).
function tokenRequest(ctx: HandlerContext, namespace: string, serviceAccount: string, body: unknown): JsonObject {
  const spec = isJsonObject(body) && isJsonObject(body.spec) ? { ...body.spec } : {};
  const expirationSeconds = spec.expirationSeconds === undefined ? 3600 : Number(spec.expirationSeconds);
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) {
    throw invalid({ ...resolveType('serviceaccounts'), kind: 'TokenRequest', group: 'authentication.k8s.io' }, serviceAccount, [{
      reason: 'FieldValueInvalid', field: 'spec.expirationSeconds',
      message: `Invalid value: ${String(spec.expirationSeconds)}: may not specify a duration less than 10 minutes`,
    }]);
  }
  const ref = isJsonObject(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  let podName: string | undefined;
  if (ref) {
    if (ref.kind !== 'Pod') throw badRequest(`cannot bind token to object of type ${String(ref.kind)}`);
    const pod = ctx.api.get('pods', namespace, String(ref.name));
    if (ref.uid !== undefined && ref.uid !== pod.metadata.uid) {
      throw conflict(resolveType('pods'), String(ref.name),
        `the UID in the bound object reference (${String(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    podName = pod.metadata.name;
  }
  const audiences = Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : undefined;
  const minted = ctx.tokens.mint({ namespace, serviceAccount, audiences, expirationSeconds, podName });
  return {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: serviceAccount, namespace, creationTimestamp: kubeTime(ctx.clock.now()) },
    spec: { ...spec, audiences: minted.claims.aud, expirationSeconds },
    status: { token: minted.token, expirationTimestamp: minted.expirationTimestamp },
  };
}
