/**
 * The three patch formats the API server accepts: JSON merge patch (RFC 7386), strategic merge
 * patch (Kubernetes: lists merged by their patch merge key, `$patch`/`$retainKeys`/
 * `$setElementOrder`/`$deleteFromPrimitiveList` directives) and JSON patch (RFC 6902).
 * Inputs are never mutated.
 */
import { clone, isJsonObject, type JsonObject } from './objects.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** A patch that cannot apply; `malformed` for a document that is not a patch at all (400, else 422). */
export class PatchError extends Error {
  constructor(message: string, readonly malformed = false) {
    super(message);
  }
}

/** RFC 7386. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return clone(patch);
  const result: JsonObject = isJsonObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// Patch merge keys of the core/apps types (the `patchMergeKey` struct tags), by field name.
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', volumes: 'name', env: 'name',
  imagePullSecrets: 'name', resourceClaims: 'name', volumeMounts: 'mountPath', volumeDevices: 'devicePath',
  ports: 'containerPort', conditions: 'type', ownerReferences: 'uid', hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
};
// Lists of scalars with patchStrategy "merge" (set union).
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] {
  const base = Array.isArray(original) ? clone(original) : [];
  const key = MERGE_KEYS[field];
  if (key) {
    for (const item of patch) {
      if (!isJsonObject(item)) throw new PatchError(`strategic merge patch: ${field} items must be objects`);
      const index = base.findIndex((b) => isJsonObject(b) && b[key] === item[key]);
      if (item.$patch === 'delete') {
        if (index >= 0) base.splice(index, 1);
      } else if (item.$patch === 'replace') {
        const { $patch: _ignored, ...rest } = item;
        if (index >= 0) base[index] = rest;
        else base.push(rest);
      } else if (index >= 0) {
        base[index] = applyStrategicMergePatch(base[index], item);
      } else {
        base.push(applyStrategicMergePatch({}, item));
      }
    }
    return base;
  }
  if (MERGED_SCALAR_LISTS.has(field)) {
    for (const item of patch) if (!base.includes(item)) base.push(item);
    return base;
  }
  return clone(patch);
}

/** Strategic merge patch for the built-in types this server serves. */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isJsonObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const list = result[field];
      if (Array.isArray(list) && Array.isArray(value)) result[field] = list.filter((v) => !value.includes(v));
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeList(key, result[key], value);
    } else if (isJsonObject(value)) {
      const merged = applyStrategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as unknown[]);
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer '${pointer}'`);
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function locate(doc: unknown, path: string[]): { parent: unknown; key: string } {
  let parent = doc;
  for (const seg of path.slice(0, -1)) {
    if (Array.isArray(parent)) parent = parent[Number(seg)];
    else if (isJsonObject(parent)) parent = parent[seg];
    else parent = undefined;
    if (parent === undefined) throw new PatchError(`doc is missing path: /${path.join('/')}`);
  }
  return { parent, key: path[path.length - 1]! };
}

function getAt(doc: unknown, path: string[]): unknown {
  if (path.length === 0) return doc;
  const { parent, key } = locate(doc, path);
  const value = Array.isArray(parent) ? parent[Number(key)] : isJsonObject(parent) ? parent[key] : undefined;
  if (value === undefined) throw new PatchError(`doc is missing key: /${path.join('/')}`);
  return value;
}

function removeAt(doc: unknown, path: string[]): unknown {
  const value = getAt(doc, path);
  const { parent, key } = locate(doc, path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as JsonObject)[key];
  return value;
}

function addAt(doc: unknown, path: string[], value: unknown, replace: boolean): unknown {
  if (path.length === 0) return clone(value);
  const { parent, key } = locate(doc, path);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new PatchError(`index out of range: ${key}`);
    if (replace) parent[index] = clone(value);
    else parent.splice(index, 0, clone(value));
  } else if (isJsonObject(parent)) {
    if (replace && !(key in parent)) throw new PatchError(`doc is missing key: /${path.join('/')}`);
    parent[key] = clone(value);
  } else {
    throw new PatchError(`doc is missing path: /${path.join('/')}`);
  }
  return doc;
}

/** RFC 6902. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', true);
  let doc = clone(target);
  for (const op of ops) {
    if (!isJsonObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError('invalid JSON patch operation', true);
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add': doc = addAt(doc, path, op.value, false); break;
      case 'replace': getAt(doc, path); doc = addAt(doc, path, op.value, true); break;
      case 'remove': removeAt(doc, path); break;
      case 'move': { const v = removeAt(doc, parsePointer(String(op.from))); doc = addAt(doc, path, v, false); break; }
      case 'copy': doc = addAt(doc, path, getAt(doc, parsePointer(String(op.from))), false); break;
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(op.value)) throw new PatchError('testing value failed');
        break;
      default: throw new PatchError(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}
