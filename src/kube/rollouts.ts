/**
 * `kubectl rollout restart` and `kubectl rollout status` for Deployments, StatefulSets and
 * DaemonSets, without kubectl:
 * - `restartWorkload` patches the pod-template annotation `kubectl.kubernetes.io/restartedAt`
 *   (strategic merge, as kubectl), refusing what kubectl refuses (paused, OnDelete);
 * - `waitForRollout` watches the workload until kubectl's completion rules (rollout-status.ts)
 *   say done, fails at once on ProgressDeadlineExceeded, and gives up at its timeout.
 */
import { WardenError } from '../core/errors.js';
import { patchWorkload, readWorkload, refName, type RolloutClients, type Workload, type WorkloadRef } from './rollout-api.js';
import { describeApiError, httpStatusOf, isTransient } from './rollout-errors.js';
import { rolloutVerdict, type WorkloadLike } from './rollout-status.js';
import { watchWorkload } from './rollout-watch.js';

export type { RolloutClients, Workload, WorkloadRef } from './rollout-api.js';
export { refName, refText } from './rollout-api.js';
export type { WorkloadKind } from './rollout-status.js';

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** kubectl's value: RFC 3339 to the second (`2026-01-02T03:04:05Z`). */
export function restartedAtValue(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

/**
 * kubectl's restartedAt has whole seconds, so a restart in the second of an earlier one (a phase
 * that just restarted it, a rotation that just finished) would set the same value and roll
 * nothing out. Waits until the clock is past the second of `at` (at once when it already is).
 */
export async function waitPastSecondOf(
  at: Date, clock: { now(): Date }, sleeper: { sleep(ms: number, signal?: AbortSignal): Promise<void> }, signal?: AbortSignal,
): Promise<void> {
  const wait = Math.floor(at.getTime() / 1000) * 1000 + 1000 - clock.now().getTime();
  if (wait > 0) await sleeper.sleep(wait + 5, signal);
}

export interface RestartOptions {
  /** The workload as just read or listed; saves a GET and lets the kubectl pre-checks run on it. */
  current?: Workload;
  /** Attempts for the patch on 5xx/429/network errors (default 3; the patch is idempotent). */
  attempts?: number;
}

/**
 * Restarts `ref` as `kubectl rollout restart` does; resolves with the patched workload (its new
 * generation is what `waitForRollout` waits for). Throws ERR_ROLLOUT_FAILED for a paused
 * Deployment, an OnDelete StatefulSet/DaemonSet, a missing workload or an API error.
 */
export async function restartWorkload(clients: RolloutClients, ref: WorkloadRef, now: Date, opts: RestartOptions = {}): Promise<Workload> {
  const current = opts.current ?? (await callApi(ref, 'read', () => readWorkload(clients, ref), opts.attempts));
  refuseUnrestartable(ref, current);
  const previous = (current.spec as WorkloadLike['spec'] & { template?: { metadata?: { annotations?: Record<string, string> } } })
    ?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
  // kubectl's value has whole seconds: a second restart within the same second would change nothing,
  // roll nothing out, and still look complete. Add the milliseconds then.
  const value = restartedAtValue(now) === previous ? now.toISOString() : restartedAtValue(now);
  const patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: value } } } } };
  return callApi(ref, 'restart', () => patchWorkload(clients, ref, patch), opts.attempts);
}

function refuseUnrestartable(ref: WorkloadRef, w: Workload): void {
  const spec = w.spec as WorkloadLike['spec'];
  if (ref.kind === 'Deployment' && spec?.paused) {
    throw new WardenError('ERR_ROLLOUT_FAILED', `${refName(ref)} in ${ref.namespace}: can't restart paused deployment (run 'kubectl rollout resume ${refName(ref)} -n ${ref.namespace}' first)`);
  }
  const strategy = spec?.updateStrategy?.type;
  if (ref.kind !== 'Deployment' && strategy !== undefined && strategy !== 'RollingUpdate') {
    throw new WardenError('ERR_ROLLOUT_FAILED', `${refName(ref)} in ${ref.namespace}: can only restart ${ref.kind} with RollingUpdate strategy (it uses ${strategy}: delete its pods to restart them)`);
  }
}

async function callApi<T>(ref: WorkloadRef, what: string, call: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      if (attempt < attempts && isTransient(err)) {
        await sleep(100 * 2 ** attempt);
        continue;
      }
      const notFound = httpStatusOf(err) === 404 ? ' (not found)' : '';
      throw new WardenError('ERR_ROLLOUT_FAILED', `cannot ${what} ${refName(ref)} in ${ref.namespace}${notFound}: ${describeApiError(err)}`, { cause: err });
    }
  }
}

export interface WaitOptions {
  /** Give up after this long (ERR_ROLLOUT_TIMEOUT). */
  timeoutMs: number;
  /** Poll interval when the API refuses watches (e.g. RBAC without `watch`); default 1000 ms. */
  pollMs?: number;
  /** Aborting rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The workload as the restart patch returned it: spares the first GET. */
  from?: WorkloadLike;
  /** Called with kubectl's status line whenever it changes. */
  onStatus?: (message: string) => void;
}

/**
 * Resolves with kubectl's success line once `ref` has rolled out (observedGeneration ≥
 * generation, every replica updated, ready and available). Rejects with ERR_ROLLOUT_FAILED when
 * the rollout failed (ProgressDeadlineExceeded), the workload was deleted or the API refuses us,
 * and ERR_ROLLOUT_TIMEOUT after `timeoutMs`, naming the workload and its last status. Transient
 * API errors (5xx, 429, dropped streams) are retried until the timeout.
 */
export async function waitForRollout(clients: RolloutClients, ref: WorkloadRef, opts: WaitOptions): Promise<string> {
  const stop = new AbortController();
  const timedOut = new WardenError('ERR_ROLLOUT_TIMEOUT', '');
  const timer = setTimeout(() => stop.abort(timedOut), opts.timeoutMs);
  const onAbort = (): void => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const state = { message: 'no status read yet' };
  try {
    return await waitLoop(clients, ref, opts, stop.signal, state);
  } catch (err) {
    if (err !== timedOut) throw err;
    const seconds = Math.round(opts.timeoutMs / 100) / 10;
    throw new WardenError('ERR_ROLLOUT_TIMEOUT', `timed out after ${seconds}s waiting for ${refName(ref)} in ${ref.namespace} to roll out; last status: ${state.message}`);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function waitLoop(clients: RolloutClients, ref: WorkloadRef, opts: WaitOptions, signal: AbortSignal, state: { message: string }): Promise<string> {
  const setMessage = (message: string): void => {
    if (message === state.message) return;
    state.message = message;
    opts.onStatus?.(message);
  };
  const judge = (obj: WorkloadLike): boolean => {
    const verdict = rolloutVerdict(ref.kind, obj);
    setMessage(verdict.message);
    return verdict.done || verdict.failed;
  };
  let latest = opts.from;
  let resumeFrom: string | undefined;
  let backoffMs = 100;
  let polling = false;
  for (;;) {
    if (latest === undefined) {
      try {
        latest = await abortable(readWorkload(clients, ref), signal);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        rethrowIfFinal(ref, err, 'read');
        setMessage(`cannot read ${refName(ref)}: ${describeApiError(err)}; retrying`);
        await delay(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 2000);
        continue;
      }
    }
    if (judge(latest)) return conclude(ref, latest);
    const rv = resumeFrom ?? latest.metadata?.resourceVersion;
    if (polling || rv === undefined) {
      await delay(opts.pollMs ?? 1000, signal);
      latest = undefined;
      continue;
    }
    const end = await watchWorkload(clients, ref, rv, opts.timeoutMs / 1000, judge, signal);
    resumeFrom = undefined;
    if (end.kind === 'final') return conclude(ref, end.object);
    if (end.kind === 'deleted') throw new WardenError('ERR_ROLLOUT_FAILED', `${refName(ref)} in ${ref.namespace} was deleted while rolling out`);
    if (end.kind === 'ended') {
      // A clean end (the server's timeoutSeconds or restart): resume where the stream stopped.
      if (end.object) latest = end.object;
      resumeFrom = end.resourceVersion;
      backoffMs = 100;
      continue;
    }
    if (end.kind === 'error') {
      const status = httpStatusOf(end.error);
      // No right to watch, but maybe to get: poll like an older kubectl would.
      if (status === 403 || status === 405) polling = true;
      else if (!isTransient(end.error)) rethrowIfFinal(ref, end.error, 'watch');
      else await delay(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, 2000);
    }
    latest = undefined; // 'expired' or after an error: read it again.
  }
}

function conclude(ref: WorkloadRef, obj: WorkloadLike): string {
  const verdict = rolloutVerdict(ref.kind, obj);
  if (verdict.failed) throw new WardenError('ERR_ROLLOUT_FAILED', `${refName(ref)} in ${ref.namespace}: ${verdict.message}`);
  return verdict.message;
}

function rethrowIfFinal(ref: WorkloadRef, err: unknown, what: string): void {
  if (isTransient(err)) return;
  const notFound = httpStatusOf(err) === 404 ? ' (not found: was it deleted?)' : '';
  throw new WardenError('ERR_ROLLOUT_FAILED', `cannot ${what} ${refName(ref)} in ${ref.namespace}${notFound}: ${describeApiError(err)}`, { cause: err });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Sleeps `ms`, or rejects with the reason as soon as `signal` aborts (the timer is cleared). */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
