/** Every request the test API server answered, for assertions and for counting API calls per operation. */
import type { RequestInfo } from './request-info.js';

/** Which requests a rule or a count applies to; every given field must match. */
export interface RequestMatch {
  method?: string;
  /** get, list, watch, create, update, patch, delete, deletecollection (or several). */
  verb?: string | readonly string[];
  /** Plural resource name: 'secrets', 'deployments', 'tokenreviews'. */
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Exact path, or a RegExp tested against the path. */
  path?: string | RegExp;
}

export interface RequestRecord {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** 0 until the response head is written. */
  status: number;
  /** Epoch milliseconds (wall clock) when the request arrived. */
  startedAt: number;
  /** Set when the response ended (watches: when the stream closed). */
  durationMs?: number;
  userAgent?: string;
  /** Request body media type (PATCH: which patch format the client used). */
  contentType?: string;
  /** Set when a fault rule answered instead of the server. */
  fault?: 'error' | 'conflict' | 'reset';
}

type Matchable = Pick<RequestRecord, 'method' | 'path' | 'verb' | 'resource' | 'subresource' | 'namespace' | 'name'>;

export function requestMatches(r: Matchable, m: RequestMatch | undefined): boolean {
  if (!m) return true;
  if (m.method !== undefined && m.method.toUpperCase() !== r.method) return false;
  if (m.verb !== undefined && !(typeof m.verb === 'string' ? [m.verb] : m.verb).includes(r.verb)) return false;
  if (m.resource !== undefined && m.resource !== r.resource) return false;
  if (m.subresource !== undefined && m.subresource !== r.subresource) return false;
  if (m.namespace !== undefined && m.namespace !== r.namespace) return false;
  if (m.name !== undefined && m.name !== r.name) return false;
  if (m.path !== undefined && (typeof m.path === 'string' ? m.path !== r.path : !m.path.test(r.path))) return false;
  return true;
}

export function matchableOf(method: string, info: RequestInfo): Matchable {
  return { method, path: info.path, verb: info.verb, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name };
}

export class RequestLog {
  readonly entries: RequestRecord[] = [];
  private seq = 0;
  private readonly listeners = new Set<(r: RequestRecord) => void>();

  /** Calls `listener` with every request as it arrives (before it is handled); returns an unsubscribe function. */
  onRequest(listener: (r: RequestRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once `condition` holds, checked now and as each request arrives. `timeoutMs` (real
   * time) is a safety bound for a hang: it rejects saying what was awaited and how many requests came.
   */
  until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = this.onRequest(() => {
        if (!condition()) return;
        stop();
        clearTimeout(timer);
        resolve();
      });
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`API server never saw ${what} within ${timeoutMs} ms (${this.entries.length} requests so far)`));
      }, timeoutMs);
    });
  }

  /** Starts a record (the HTTP layer fills in status and duration). */
  begin(method: string, info: RequestInfo, headers: { userAgent?: string; contentType?: string }): RequestRecord {
    const record: RequestRecord = {
      seq: ++this.seq, method, path: info.path, query: Object.fromEntries(info.query), verb: info.verb,
      resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name,
      status: 0, startedAt: Date.now(), ...headers,
    };
    this.entries.push(record);
    for (const listener of [...this.listeners]) listener(record);
    return record;
  }

  filter(match?: RequestMatch & { status?: number }): RequestRecord[] {
    return this.entries.filter((r) => requestMatches(r, match) && (match?.status === undefined || r.status === match.status));
  }

  count(match?: RequestMatch & { status?: number }): number {
    return this.filter(match).length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
