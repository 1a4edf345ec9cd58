/**
 * Watches as the API server streams them: `200` with a chunked body of newline-separated
 * `{"type":…,"object":…}` events. Start points follow the real semantics:
 * - `resourceVersion` unset or "0": synthetic ADDED events for the current objects, then changes;
 * - `resourceVersion=N`: every change after N (from the store's history), or an ERROR event with a
 *   410 Expired Status when N is older than the history (the client must relist);
 * - `sendInitialEvents=true` (streaming lists, client-go's WatchList): ADDED for the current objects,
 *   then a BOOKMARK annotated `k8s.io/initial-events-end: "true"`.
 * Selectors apply to both sides of a change, so an object that stops matching is seen as DELETED
 * and one that starts matching as ADDED. `timeoutSeconds` ends the stream.
 */
import type { ServerResponse } from 'node:http';
import { present, type KubeApi } from './kube-api.js';
import type { ObjectStore, StoreEvent } from './object-store.js';
import type { KubeObject } from './objects.js';
import { apiVersionOf, type ResourceType } from './resource-types.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { badRequest, statusBody } from './status.js';

export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  labelSelector?: string | null;
  fieldSelector?: string | null;
  resourceVersion?: string | null;
  sendInitialEvents?: boolean;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /** How event objects are written (default: as stored; metadata watches pass `toPartial`). */
  render?: (obj: KubeObject) => KubeObject;
}

/** Streams the watch into `res` until the client leaves, the timeout passes, or `stop()` is called. */
export function serveWatch(res: ServerResponse, store: ObjectStore, api: KubeApi, req: WatchRequest): { stop(): void } {
  const { type: t } = req;
  const labels = parseLabelSelector(req.labelSelector);
  const fields = parseFieldSelector(t, req.fieldSelector);
  const inScope = (o: KubeObject) => !t.namespaced || req.namespace === undefined || o.metadata.namespace === req.namespace;
  const matches = (o: KubeObject | undefined) => o !== undefined && inScope(o) && labels(o.metadata.labels) && fields(o);

  let startRv: number | undefined;
  if (req.resourceVersion && req.resourceVersion !== '0' && !req.sendInitialEvents) {
    startRv = Number(req.resourceVersion);
    if (!Number.isInteger(startRv) || startRv < 0) throw badRequest(`resourceVersion: Invalid value: "${req.resourceVersion}": must be a valid integer`);
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  // Clients wait for the response head before they consider the watch open.
  res.flushHeaders();
  const render = req.render ?? ((o: KubeObject) => o);
  const write = (type: string, object: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const project = (e: StoreEvent) => {
    if (e.resource !== t) return;
    const now = e.type !== 'DELETED' && matches(e.object);
    const before = e.type !== 'ADDED' && matches(e.previous);
    if (now && before) write('MODIFIED', render(present(t, e.object)));
    else if (now) write('ADDED', render(present(t, e.object)));
    else if (before) write('DELETED', render(present(t, e.object)));
  };

  let stopped = false;
  let unsubscribe = () => {};
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };

  if (startRv !== undefined) {
    const replay = store.eventsAfter(startRv);
    if (replay === 'expired') {
      write('ERROR', statusBody(410, 'Expired', `too old resource version: ${startRv} (${store.oldestWatchableRevision + 1})`));
      stop();
      return { stop };
    }
    for (const e of replay) project(e);
  } else {
    for (const o of api.select(t, { namespace: req.namespace, labelSelector: req.labelSelector ?? undefined, fieldSelector: req.fieldSelector ?? undefined })) {
      write('ADDED', render(o));
    }
    if (req.sendInitialEvents && req.allowWatchBookmarks) {
      write('BOOKMARK', {
        kind: t.kind, apiVersion: apiVersionOf(t),
        metadata: { resourceVersion: String(store.currentRevision), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
  }
  // Everything above ran in this tick, so no change can fall between the snapshot and the subscription.
  unsubscribe = store.subscribe(project);
  res.on('close', stop);
  if (req.timeoutSeconds !== undefined && req.timeoutSeconds > 0) timer = setTimeout(stop, req.timeoutSeconds * 1000);
  return { stop };
}
