/**
 * `--workers <n|auto>` and the worker's role marker. Pure apart from the default core count, so the
 * CLI can parse the flag without loading node:cluster or the server.
 */
import { availableParallelism } from 'node:os';
import { WardenError } from '../../core/errors.js';

/** Set by the primary on each worker it forks: the worker's index (0-based). */
export const WORKER_ENV = 'WARDEN_SENTRY_WORKER';

/** More processes than this is a typo, not a deployment (each worker holds its own CA state and TLS). */
export const MAX_WORKERS = 128;

/** `auto` → the cores this process may use (os.availableParallelism()); else a whole number 1…MAX_WORKERS. */
export function parseWorkerCount(text: string, cores: number = availableParallelism()): number {
  const value = text.trim().toLowerCase();
  if (value === 'auto') return Math.max(1, Math.min(cores, MAX_WORKERS));
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
    throw new WardenError(
      'ERR_USAGE',
      `--workers must be "auto" or a whole number from 1 to ${MAX_WORKERS} (1 = a single process), not "${text}"`,
    );
  }
  return Number(value);
}

/** Refuses combinations a primary cannot run: a bad count, or several workers in Kubernetes mode. */
export function checkWorkerOptions(options: { workers: number; mode: string; oidc?: unknown }): void {
  const { workers, mode } = options;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new WardenError('ERR_USAGE', `workers must be a whole number from 1 to ${MAX_WORKERS}, not ${String(workers)}`);
  }
  if (workers > 1 && mode !== 'standalone') {
    throw new WardenError(
      'ERR_USAGE',
      `--workers ${workers} is for self-hosted mode only for now; with --mode ${mode}, run --workers 1 ` +
        '(scale the dapr-sentry Deployment instead)',
    );
  }
  if (workers > 1 && options.oidc !== undefined) {
    throw new WardenError('ERR_USAGE', `--workers ${workers} cannot serve OIDC discovery; with --oidc-enabled, run --workers 1`);
  }
}

/** This process's worker index: only in a node:cluster worker that the primary marked; else undefined. */
export function workerIndexOf(env: Readonly<Record<string, string | undefined>>, isClusterWorker: boolean): number | undefined {
  if (!isClusterWorker) return undefined;
  const text = env[WORKER_ENV];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}
