/**
 * One watch stream on one workload (`fieldSelector=metadata.name=<name>`, from a
 * resourceVersion), as `kubectl rollout status` uses. It ends when `isFinal` accepts an object,
 * when the server closes the stream, on 410 Gone, when the workload is deleted, or on `signal`.
 */
import { httpStatusOf } from './rollout-errors.js';
import { watchPath, type RolloutClients, type WorkloadRef } from './rollout-api.js';
import type { WorkloadLike } from './rollout-status.js';

export type WatchEnd =
  | { kind: 'final'; object: WorkloadLike }
  /** The server closed the stream (timeoutSeconds, restart); resume from `resourceVersion`. */
  | { kind: 'ended'; resourceVersion: string; object: WorkloadLike | undefined }
  /** 410: the resourceVersion is too old; read the object again. */
  | { kind: 'expired' }
  | { kind: 'deleted' }
  /** The stream could not be opened or broke; `error` has the HTTP status when there was one. */
  | { kind: 'error'; error: unknown };

export function watchWorkload(
  clients: RolloutClients,
  ref: WorkloadRef,
  resourceVersion: string,
  timeoutSeconds: number,
  isFinal: (obj: WorkloadLike) => boolean,
  signal: AbortSignal,
): Promise<WatchEnd> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let rv = resourceVersion;
    let latest: WorkloadLike | undefined;
    let controller: AbortController | undefined;
    const finish = (end: WatchEnd | Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      if (end instanceof Error) reject(end);
      else resolve(end);
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });

    const onEvent = (type: string, obj: unknown): void => {
      if (type === 'ERROR') {
        const code = (obj as { code?: unknown } | null)?.code;
        finish(code === 410 ? { kind: 'expired' } : { kind: 'error', error: Object.assign(new Error(`watch error event: ${JSON.stringify(obj)}`), { statusCode: code }) });
        return;
      }
      const workload = obj as WorkloadLike;
      const objectRv = workload?.metadata?.resourceVersion;
      if (objectRv) rv = objectRv;
      if (type === 'DELETED') return finish({ kind: 'deleted' });
      if (type !== 'ADDED' && type !== 'MODIFIED') return; // BOOKMARK: only the resourceVersion matters.
      latest = workload;
      if (isFinal(workload)) finish({ kind: 'final', object: workload });
    };
    const onDone = (err: unknown): void => {
      if (err && httpStatusOf(err) === 410) return finish({ kind: 'expired' });
      finish(err ? { kind: 'error', error: err } : { kind: 'ended', resourceVersion: rv, object: latest });
    };
    const query = { fieldSelector: `metadata.name=${ref.name}`, resourceVersion, timeoutSeconds: Math.max(1, Math.ceil(timeoutSeconds)) };
    clients.watch.watch(watchPath(ref), query, onEvent, onDone).then(
      (c) => {
        controller = c;
        if (settled) c.abort();
      },
      (err: unknown) => finish({ kind: 'error', error: err }),
    );
  });
}
