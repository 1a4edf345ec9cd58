/**
 * A resilient watch of one Secret: events from a known resourceVersion on, re-watched from the
 * last seen version when the stream ends (API server restarts and watch timeouts end streams),
 * re-listed when the server answers 410 Expired (that version was compacted away: changes may
 * have been missed, so the caller is told once). Transient failures back off up to 5 s.
 */
import type { WardenError } from '../core/errors.js';
import { kubeError, type KubeClients } from '../kube/client.js';

export interface SecretWatchOptions {
  /** Told about watch failures (the watch keeps retrying); default: ignored. */
  onError?: (err: WardenError) => void;
}

export interface WatchedSecret {
  namespace: string;
  name: string;
  /** Events after this version are reported. */
  resourceVersion: string;
}

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 5_000;

/** Starts watching; resolves once the first stream is requested, with the function that stops it. */
export async function watchNamedSecret(
  clients: KubeClients,
  target: WatchedSecret,
  onChange: () => void,
  opts: SecretWatchOptions = {},
): Promise<() => void> {
  const { namespace, name } = target;
  const what = `watch Secret ${namespace}/${name}`;
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  const fieldSelector = `metadata.name=${name}`;
  let resourceVersion = target.resourceVersion;
  let stopped = false;
  let relist = false;
  let backoff = MIN_BACKOFF_MS;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;

  const fail = (err: unknown): void => {
    if (!stopped) opts.onError?.(kubeError(err, what));
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void start(), backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  const start = async (): Promise<void> => {
    if (stopped) return;
    if (relist) {
      try {
        const list = await clients.core.listNamespacedSecret({ namespace, fieldSelector });
        resourceVersion = list.metadata?.resourceVersion ?? '';
        relist = false;
        onChange();
      } catch (err) {
        fail(err);
        schedule();
        return;
      }
    }
    const startedAt = performance.now();
    const query = { fieldSelector, resourceVersion, allowWatchBookmarks: true };
    const onEvent = (type: string, object: { code?: number; metadata?: { resourceVersion?: string } } | undefined): void => {
      if (stopped) return;
      if (type === 'ERROR') {
        if (object?.code === 410) relist = true;
        else fail(Object.assign(new Error(`watch error event: ${JSON.stringify(object)}`), { statusCode: object?.code }));
        return;
      }
      const next = object?.metadata?.resourceVersion;
      if (next) resourceVersion = next;
      if (type === 'BOOKMARK') return;
      backoff = MIN_BACKOFF_MS;
      onChange();
    };
    const onDone = (err: unknown): void => {
      if (stopped) return;
      if (err) fail(err);
      else if (performance.now() - startedAt > 1_000) backoff = MIN_BACKOFF_MS; // a normal end of a long stream
      schedule();
    };
    try {
      const c = await clients.watch.watch(path, query, onEvent, onDone);
      if (stopped) c.abort();
      else controller = c;
    } catch (err) {
      fail(err);
      schedule();
    }
  };

  await start();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    controller?.abort();
  };
}
