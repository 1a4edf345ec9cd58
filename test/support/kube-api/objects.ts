/** The JSON shapes the test API server stores and returns, and small helpers over them. */
import { createHash, randomBytes } from 'node:crypto';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** JSON with sorted keys, for "did this part change" comparisons. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!isJsonObject(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
  });
}

/** RFC 3339 with whole seconds, as metav1.Time marshals. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The alphabet of generated name suffixes and pod-template hashes (k8s.io/apimachinery rand.String).
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  return [...randomBytes(length)].map((b) => SAFE_ALPHABET[b % SAFE_ALPHABET.length]).join('');
}

/** A stable 10-character hash of a pod template, shaped like `pod-template-hash` / controller revisions. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(template)).digest();
  return [...digest.subarray(0, 10)].map((b) => SAFE_ALPHABET[b % SAFE_ALPHABET.length]).join('');
}

/** Reads a nested value by path, undefined when any step is missing. */
export function dig(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isJsonObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** Returns the object at `path`, creating empty objects on the way. */
export function ensureObject(root: JsonObject, ...path: string[]): JsonObject {
  let current = root;
  for (const key of path) {
    const next = current[key];
    if (isJsonObject(next)) {
      current = next;
    } else {
      const created: JsonObject = {};
      current[key] = created;
      current = created;
    }
  }
  return current;
}
