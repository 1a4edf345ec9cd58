/**
 * Restarting one workload and waiting for its rollout, as one outcome that never rejects (except
 * on abort): the building block of the control-plane waves and the app pool.
 */
import type { Clock } from '../core/clock.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { refText, type RolloutClients, type Workload, type WorkloadRef } from './rollout-api.js';
import { describeApiError, isTransient } from './rollout-errors.js';
import { restartWorkload, waitForRollout } from './rollouts.js';

/** A workload to restart, with the object as read if at hand (kubectl's pre-checks run on it; spares a GET). */
export interface RestartTarget {
  ref: WorkloadRef;
  current?: Workload;
}

export type RestartEvent =
  | { type: 'wave'; wave: number; names: string[] }
  | { type: 'skipped'; name: string; namespace: string; reason: string }
  | { type: 'restarting'; ref: WorkloadRef }
  | { type: 'status'; ref: WorkloadRef; message: string }
  | { type: 'restarted'; ref: WorkloadRef; message: string; durationMs: number }
  | { type: 'failed'; ref: WorkloadRef; error: WardenError };

export type Outcome = { ref: WorkloadRef; message: string } | { ref: WorkloadRef; error: WardenError };

/** Restart + wait for one workload; never rejects (except on abort): the outcome says how it went. */
export async function restartOne(
  clients: RolloutClients, target: RestartTarget, timeoutMs: number, clock: Clock, emit: (e: RestartEvent) => void, signal?: AbortSignal,
): Promise<Outcome> {
  const { ref } = target;
  const started = performance.now();
  emit({ type: 'restarting', ref });
  try {
    const patched = await restartWorkload(clients, ref, clock.now(), target.current ? { current: target.current } : {});
    const message = await waitForRollout(clients, ref, {
      timeoutMs, from: patched, ...(signal ? { signal } : {}), onStatus: (m) => emit({ type: 'status', ref, message: m }),
    });
    emit({ type: 'restarted', ref, message, durationMs: performance.now() - started });
    return { ref, message };
  } catch (err) {
    if (signal?.aborted) throw err;
    const error = isWardenError(err) ? err : new WardenError('ERR_ROLLOUT_FAILED', `${refText(ref)}: ${describeApiError(err)}`, { cause: err });
    emit({ type: 'failed', ref, error });
    return { ref, error };
  }
}

/** `call`, tried again (up to `attempts`, backing off) while it fails in a way that may pass (5xx, 429, network). */
export async function retryTransient<T>(call: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
