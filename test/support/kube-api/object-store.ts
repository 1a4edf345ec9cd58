/**
 * Storage like etcd under the API server: one global, monotonically increasing revision that
 * every write takes as the object's `resourceVersion`, objects kept in key order, and a bounded
 * history of change events that watches replay from (older revisions are "compacted": 410 Gone).
 * No semantics here beyond that; the rules of each verb live in kube-api.ts.
 */
import { clone, type KubeObject } from './objects.js';
import type { ResourceType } from './resource-types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  /** The revision this change produced. */
  rv: number;
  type: EventType;
  resource: ResourceType;
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before the change (MODIFIED, DELETED). */
  previous?: KubeObject;
}

export type StoreListener = (event: StoreEvent) => void;

function keyOf(t: ResourceType, namespace: string | undefined, name: string): string {
  return `${t.group}/${t.plural}/${t.namespaced ? namespace ?? '' : ''}/${name}`;
}

export class ObjectStore {
  private revision: number;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly historyLimit = 10_000, startRevision = 100) {
    this.revision = startRevision;
  }

  /** The latest revision (what a list returns as its resourceVersion). */
  get currentRevision(): number {
    return this.revision;
  }

  /** The oldest revision a watch can still start from. */
  get oldestWatchableRevision(): number {
    return this.history.length > 0 ? this.history[0]!.rv - 1 : this.revision;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objects.get(keyOf(t, namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects of a type, in key (namespace, name) order; all namespaces when `namespace` is undefined. */
  list(t: ResourceType, namespace?: string): KubeObject[] {
    const prefix = t.namespaced && namespace !== undefined ? `${t.group}/${t.plural}/${namespace}/` : `${t.group}/${t.plural}/`;
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => clone(obj));
  }

  /** Writes (creates or replaces) an object, stamping it with the next revision; returns the stored copy. */
  put(t: ResourceType, obj: KubeObject): KubeObject {
    const key = keyOf(t, obj.metadata.namespace, obj.metadata.name!);
    const previous = this.objects.get(key);
    const rv = ++this.revision;
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(rv);
    this.objects.set(key, stored);
    this.emit({ rv, type: previous ? 'MODIFIED' : 'ADDED', resource: t, object: clone(stored), ...(previous ? { previous: clone(previous) } : {}) });
    return clone(stored);
  }

  /** Removes an object; the deletion takes a revision of its own. Returns the removed object or undefined. */
  remove(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyOf(t, namespace, name);
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.objects.delete(key);
    const rv = ++this.revision;
    const object = clone(previous);
    object.metadata.resourceVersion = String(rv);
    this.emit({ rv, type: 'DELETED', resource: t, object, previous: clone(previous) });
    return clone(object);
  }

  /** Events after revision `rv`, or 'expired' when the history no longer reaches back that far. */
  eventsAfter(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.oldestWatchableRevision) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) listener(event);
  }
}
