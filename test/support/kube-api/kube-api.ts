/**
 * The verbs of the API server over the object store, with the real server's rules: server-set
 * metadata (uid, creationTimestamp, resourceVersion, generation), defaulting and validation,
 * optimistic concurrency (409 Conflict on a stale resourceVersion), AlreadyExists/NotFound,
 * status subresources, no-op writes that do not bump the resourceVersion, Secret `stringData`,
 * namespace existence, and the service-account admission check for pods.
 *
 * The HTTP layer calls it; tests and the rollout controller call it directly as "another client"
 * (`server.api.update(...)` changes an object under a client's feet).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../src/core/clock.js';
import { applyDefaults, initialStatus } from './defaults.js';
import type { ObjectStore } from './object-store.js';
import { canonicalJson, clone, isJsonObject, kubeTime, randomSuffix, type JsonObject, type KubeObject } from './objects.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PATCH_TYPES, PatchError } from './patch.js';
import { apiVersionOf, RESOURCE_TYPES, resolveType, type ResourceType } from './resource-types.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  alreadyExists, badRequest, conflict, deleteSuccess, forbidden, invalid, KubeStatusError, notFound, resourceNotFound,
  statusBody, unsupportedMediaType,
} from './status.js';
import { validateObject } from './validation.js';

export type TypeRef = string | ResourceType;

export interface WriteOptions {
  /** `?dryRun=All`: run every check, store nothing. */
  dryRun?: boolean;
  /** 'status' for the /status subresource. */
  subresource?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface KubeList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
}

const NAMESPACES = resolveType('namespaces');
const SERVICE_ACCOUNTS = resolveType('serviceaccounts');
const CONFIG_MAPS = resolveType('configmaps');

/** The object as the server returns it: apiVersion and kind always set. */
export function present(t: ResourceType, obj: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion: apiVersionOf(t), kind: t.kind, ...rest } as KubeObject;
}

function withoutVolatile(obj: KubeObject): string {
  const copy = clone(obj);
  delete copy.metadata.resourceVersion;
  return canonicalJson(copy);
}

function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', start: key })).toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
    if (typeof parsed.start !== 'string') throw new Error('no start');
    return parsed.start;
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data at input byte 0');
  }
}

export class KubeApi {
  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock,
    /** PEM published in every namespace's `kube-root-ca.crt` ConfigMap. */
    private readonly clusterCaPem: string,
  ) {}

  get revision(): number {
    return this.store.currentRevision;
  }

  get(ref: TypeRef, namespace: string | undefined, name: string): KubeObject {
    const t = resolveType(ref);
    const found = this.store.get(t, namespace, name);
    if (!found) throw notFound(t, name);
    return present(t, found);
  }

  /** Undefined instead of a 404. */
  find(ref: TypeRef, namespace: string | undefined, name: string): KubeObject | undefined {
    const t = resolveType(ref);
    const found = this.store.get(t, namespace, name);
    return found ? present(t, found) : undefined;
  }

  /** The objects matching the selectors, with apiVersion/kind on every item (see `list` for the wire form). */
  select(ref: TypeRef, opts: ListOptions = {}): KubeObject[] {
    const t = resolveType(ref);
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(t, opts.fieldSelector);
    return this.store.list(t, t.namespaced ? opts.namespace : undefined)
      .filter((o) => labels(o.metadata.labels) && fields(o))
      .map((o) => present(t, o));
  }

  /** A list as the server returns it (built-in types' items carry no apiVersion/kind; custom resources' do). */
  list(ref: TypeRef, opts: ListOptions = {}): KubeList {
    const t = resolveType(ref);
    const revision = String(this.store.currentRevision);
    let items = this.select(t, opts);
    const metadata: KubeList['metadata'] = { resourceVersion: revision };
    const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (opts.continue) {
      const start = decodeContinue(opts.continue);
      items = items.filter((o) => keyOf(o) > start);
    }
    if (opts.limit && opts.limit > 0 && items.length > opts.limit) {
      const remaining = items.length - opts.limit;
      items = items.slice(0, opts.limit);
      metadata.continue = encodeContinue(keyOf(items[items.length - 1]!));
      metadata.remainingItemCount = remaining;
    }
    const wire = items.map((o) => {
      if (t.custom) return o;
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest as KubeObject;
    });
    return { apiVersion: apiVersionOf(t), kind: `${t.kind}List`, metadata, items: wire };
  }

  create(ref: TypeRef, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): KubeObject {
    const t = resolveType(ref);
    if (t.virtual) throw badRequest(`${t.plural} are not stored; POST them to the server`);
    const obj = this.decodeBody(t, body);
    this.bindNamespace(t, obj, namespace);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    if (obj.metadata.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    for (const key of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'managedFields', 'selfLink']) delete obj.metadata[key];
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = kubeTime(this.clock.now());
    if (t.generation) obj.metadata.generation = 1;
    if (t.plural === 'secrets') mergeStringData(obj);
    const status = initialStatus(t);
    if (status !== undefined) obj.status = status;
    applyDefaults(t, obj);
    const causes = validateObject(t, obj);
    if (causes.length > 0) throw invalid(t, obj.metadata.name ?? '', causes);
    if (t.namespaced) this.requireNamespace(obj.metadata.namespace!);
    if (t.plural === 'pods') this.admitPod(t, obj);
    if (this.store.get(t, obj.metadata.namespace, obj.metadata.name!)) throw alreadyExists(t, obj.metadata.name!);
    if (opts.dryRun) return present(t, obj);
    const stored = this.store.put(t, obj);
    if (t === NAMESPACES) this.populateNamespace(obj.metadata.name!);
    return present(t, stored);
  }

  /** PUT. `body.metadata.resourceVersion`, when given, must be the stored one (409 otherwise). */
  update(ref: TypeRef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): KubeObject {
    const t = resolveType(ref);
    const obj = this.decodeBody(t, body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (t.custom && !obj.metadata.resourceVersion) {
      throw invalid(t, name, [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    return this.replace(t, namespace, name, obj, opts);
  }

  /** PATCH with one of the PATCH_TYPES content types. */
  patch(ref: TypeRef, namespace: string | undefined, name: string, contentType: string, patch: unknown, opts: WriteOptions = {}): KubeObject {
    const t = resolveType(ref);
    const old = this.getStored(t, namespace, name, opts.subresource);
    const accepted = t.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
    const base = present(t, old);
    let patched: unknown;
    try {
      if (contentType === PATCH_TYPES.merge) patched = applyMergePatch(base, patch);
      else if (contentType === PATCH_TYPES.json) patched = applyJsonPatch(base, patch);
      else if (contentType === PATCH_TYPES.strategic && !t.custom) patched = applyStrategicMergePatch(base, patch);
      else throw unsupportedMediaType(contentType, accepted);
    } catch (err) {
      if (err instanceof PatchError && err.malformed) throw badRequest(err.message);
      if (err instanceof PatchError) throw new KubeStatusError(statusBody(422, 'Invalid', err.message));
      throw err;
    }
    const obj = this.decodeBody(t, patched);
    if (obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    return this.replace(t, namespace, name, obj, opts);
  }

  delete(ref: TypeRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): unknown {
    const t = resolveType(ref);
    const old = this.getStored(t, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(t, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(t, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    const returnsObject = t.custom || t.plural === 'pods' || t === NAMESPACES;
    const shown = present(t, old);
    if (t.plural === 'pods' || t === NAMESPACES) shown.metadata.deletionTimestamp = kubeTime(this.clock.now());
    if (t === NAMESPACES) (shown.status as JsonObject).phase = 'Terminating';
    if (opts.dryRun) return returnsObject ? shown : deleteSuccess(t, name, old.metadata.uid);
    if (t === NAMESPACES) this.emptyNamespace(name);
    this.store.remove(t, namespace, name);
    return returnsObject ? shown : deleteSuccess(t, name, old.metadata.uid);
  }

  /** DELETE on a collection: every object matching the selectors; returns the list of deleted objects. */
  deleteCollection(ref: TypeRef, opts: ListOptions & WriteOptions = {}): KubeList {
    const t = resolveType(ref);
    const list = this.list(t, { namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    if (!opts.dryRun) for (const o of list.items) this.store.remove(t, o.metadata.namespace, o.metadata.name!);
    return list;
  }

  /**
   * Read-modify-write as a controller does it (no precondition races: it runs in one tick).
   * Returns the stored object, or undefined if the object is gone.
   */
  mutate(ref: TypeRef, namespace: string | undefined, name: string, edit: (obj: KubeObject) => void, opts: WriteOptions = {}): KubeObject | undefined {
    const t = resolveType(ref);
    const current = this.store.get(t, namespace, name);
    if (!current) return undefined;
    const next = present(t, current);
    edit(next);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.replace(t, namespace, name, next, opts);
  }

  private getStored(t: ResourceType, namespace: string | undefined, name: string, subresource?: string): KubeObject {
    if (subresource !== undefined && (subresource !== 'status' || !t.statusSubresource)) throw resourceNotFound();
    const found = this.store.get(t, t.namespaced ? namespace : undefined, name);
    if (!found) throw notFound(t, name);
    return found;
  }

  /** The shared tail of PUT and PATCH. */
  private replace(t: ResourceType, namespace: string | undefined, name: string, incoming: KubeObject, opts: WriteOptions): KubeObject {
    const old = this.getStored(t, namespace, name, opts.subresource);
    this.bindNamespace(t, incoming, namespace);
    const rv = incoming.metadata.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(t, name);
    if (incoming.metadata.uid && incoming.metadata.uid !== old.metadata.uid) {
      throw conflict(t, name, `Precondition failed: UID in precondition: ${incoming.metadata.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    let next: KubeObject;
    if (opts.subresource === 'status') {
      next = clone(old);
      next.status = clone(incoming.status);
    } else {
      next = incoming;
      for (const key of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp']) {
        if (old.metadata[key] === undefined) delete next.metadata[key];
        else next.metadata[key] = old.metadata[key];
      }
      delete next.metadata.managedFields;
      if (t.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      if (t.plural === 'secrets') mergeStringData(next);
    }
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    applyDefaults(t, next);
    const causes = validateObject(t, next, old);
    if (causes.length > 0) throw invalid(t, name, causes);
    if (t.generation && opts.subresource !== 'status' && generationMoves(t, old, next)) {
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    // The real server does not write (nor bump the resourceVersion) when nothing changed.
    if (opts.dryRun || withoutVolatile(next) === withoutVolatile(old)) return present(t, next);
    return present(t, this.store.put(t, next));
  }

  private decodeBody(t: ResourceType, body: unknown): KubeObject {
    if (!isJsonObject(body)) throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: the body must be a JSON object`);
    const obj = clone(body) as KubeObject;
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(t)) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(t)})`);
    }
    if (obj.kind !== undefined && obj.kind !== t.kind) {
      throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: the kind in the data (${String(obj.kind)}) does not match the expected kind (${t.kind})`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isJsonObject(obj.metadata)) throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: metadata must be an object`);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    return obj;
  }

  private bindNamespace(t: ResourceType, obj: KubeObject, namespace: string | undefined): void {
    if (!t.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (!namespace) throw badRequest('the namespace of the object must be given in the request path');
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = namespace;
  }

  private requireNamespace(namespace: string): void {
    if (!this.store.get(NAMESPACES, undefined, namespace)) throw notFound(NAMESPACES, namespace);
  }

  // The ServiceAccount admission plugin: a pod's service account must exist.
  private admitPod(t: ResourceType, pod: KubeObject): void {
    const spec = pod.spec as JsonObject;
    const sa = String(spec.serviceAccountName);
    const ns = pod.metadata.namespace!;
    if (!this.store.get(SERVICE_ACCOUNTS, ns, sa)) {
      throw forbidden(t, pod.metadata.name!, `error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`);
    }
  }

  // What the service-account and root-CA publisher controllers add to every namespace.
  private populateNamespace(namespace: string): void {
    this.create(SERVICE_ACCOUNTS, namespace, { metadata: { name: 'default' } });
    this.create(CONFIG_MAPS, namespace, {
      metadata: { name: 'kube-root-ca.crt', annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
      data: { 'ca.crt': this.clusterCaPem },
    });
  }

  // Namespace deletion removes everything in it (the namespace controller's job, done at once here).
  private emptyNamespace(namespace: string): void {
    for (const t of RESOURCE_TYPES.filter((r) => r.namespaced && !r.virtual)) {
      for (const o of this.store.list(t, namespace)) this.store.remove(t, namespace, o.metadata.name!);
    }
  }
}

function mergeStringData(secret: KubeObject): void {
  const stringData = secret.stringData;
  if (stringData === undefined || stringData === null) return;
  if (!isJsonObject(stringData)) throw badRequest('Secret in version "v1" cannot be handled as a Secret: stringData must be a map of strings');
  const data = isJsonObject(secret.data) ? secret.data : {};
  for (const [key, value] of Object.entries(stringData)) {
    if (typeof value !== 'string') throw badRequest(`Secret in version "v1" cannot be handled as a Secret: stringData[${key}] must be a string`);
    data[key] = Buffer.from(value, 'utf8').toString('base64');
  }
  secret.data = data;
  delete secret.stringData;
}

function generationMoves(t: ResourceType, old: KubeObject, next: KubeObject): boolean {
  if (t.generation === 'spec') return canonicalJson(old.spec) !== canonicalJson(next.spec);
  const strip = (o: KubeObject) => canonicalJson({ ...o, metadata: undefined });
  return strip(old) !== strip(next);
}
