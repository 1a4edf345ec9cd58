/**
 * Watching one named Kubernetes object (the `dapr-trust-bundle` Secret or ConfigMap) through the
 * API, robustly: GET it, then watch from its resourceVersion with a server-side timeout; whenever
 * the stream ends (timeout, API restart, network error, 410 Gone) GET it again and compare the
 * resourceVersion, so a change made while no stream was open is still reported. Errors back off
 * (1 s doubling to 30 s). `onChange` fires for every new resourceVersion and for a deletion, and
 * for the first GET only when it differs from `initialVersion`.
 */
import type { Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiErrorMessage } from './validators/kubernetes-api.js';

export interface NamedObjectWatchOptions {
  watch: Watch;
  /** The collection path, e.g. `/api/v1/namespaces/dapr-system/secrets`. */
  path: string;
  name: string;
  /** GETs the object's resourceVersion; undefined when it does not exist. */
  readVersion(): Promise<string | undefined>;
  onChange(): void;
  /**
   * The resourceVersion the caller already acted on (e.g. read at start-up): if the first GET
   * finds another one, that is a change too. Default: the first GET's is the baseline.
   */
  initialVersion?: string | undefined;
  logger: Logger;
  /** For logs: `Secret dapr-system/dapr-trust-bundle`. */
  what: string;
  /** Server-side watch timeout (default 300 s): a stream that silently died is replaced this often. */
  timeoutSeconds?: number;
  retryMs?: number;
  maxRetryMs?: number;
}

const DELETED = '<deleted>';

/** Starts watching; returns `stop`. */
export function watchNamedObject(opts: NamedObjectWatchOptions): () => void {
  const retryMs = opts.retryMs ?? 1_000;
  const maxRetryMs = opts.maxRetryMs ?? 30_000;
  let stopped = false;
  let seen: string | undefined = opts.initialVersion;
  let initialized = opts.initialVersion !== undefined;
  let backoff = retryMs;
  let timer: NodeJS.Timeout | undefined;
  let controller: AbortController | undefined;

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void cycle(), delayMs);
    timer.unref();
  };
  const fail = (message: string): void => {
    opts.logger.warn({ object: opts.what, retryInMs: backoff }, `Watch on ${opts.what} interrupted: ${message}; retrying`);
    schedule(backoff);
    backoff = Math.min(backoff * 2, maxRetryMs);
  };
  const observe = (version: string): void => {
    if (version === seen) return;
    seen = version;
    opts.onChange();
  };

  const cycle = async (): Promise<void> => {
    if (stopped) return;
    let version: string | undefined;
    try {
      version = (await opts.readVersion()) ?? DELETED;
    } catch (err) {
      return fail(apiErrorMessage(err));
    }
    if (stopped) return;
    if (!initialized) {
      initialized = true;
      seen = version;
    } else {
      observe(version);
    }
    const query: Record<string, string | number> = {
      fieldSelector: `metadata.name=${opts.name}`,
      timeoutSeconds: opts.timeoutSeconds ?? 300,
    };
    if (version !== DELETED) query['resourceVersion'] = version;
    const openedAt = performance.now();
    controller = await opts.watch.watch(
      opts.path,
      query,
      (type: string, obj: { metadata?: { name?: string; resourceVersion?: string } }) => {
        if (type === 'ERROR' || type === 'BOOKMARK' || obj?.metadata?.name !== opts.name) return;
        if (type === 'DELETED') observe(DELETED);
        else if (obj.metadata.resourceVersion !== undefined) observe(obj.metadata.resourceVersion);
      },
      (err: unknown) => {
        controller = undefined;
        if (stopped) return;
        if (err !== null && err !== undefined) return fail(apiErrorMessage(err));
        // A normal end (timeout, server going away): re-read and watch again; back off only if
        // streams keep ending at once.
        if (performance.now() - openedAt > 1_000) {
          backoff = retryMs;
          schedule(0);
        } else {
          schedule(backoff);
          backoff = Math.min(backoff * 2, maxRetryMs);
        }
      },
    );
    if (stopped) controller?.abort();
  };

  opts.logger.info({ object: opts.what }, `Watching ${opts.what} for changes`);
  void cycle();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    controller?.abort();
    controller = undefined;
  };
}
