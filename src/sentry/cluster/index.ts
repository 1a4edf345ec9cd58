/**
 * `warden sentry` by role: a single process (`workers` 1, the default: `runSentry`), the primary of
 * `--workers N` (N > 1: primary.ts), or one of its workers (a node:cluster worker marked with
 * WARDEN_SENTRY_WORKER by the primary, which runs the same command line: worker.ts).
 */
import cluster from 'node:cluster';
import { withSentryDefaults, type SentryOptions } from '../options.js';
import { runSentry } from '../server.js';
import { runSentryPrimary } from './primary.js';
import { runSentryWorker } from './worker.js';
import { checkWorkerOptions, workerIndexOf } from './workers-option.js';

export interface SentryProcess {
  close(): Promise<void>;
  /** Resolves once closed, including when a worker was told to close by its primary. */
  readonly closed: Promise<void>;
}

export async function startSentryProcess(partial: Partial<SentryOptions>): Promise<SentryProcess> {
  const index = workerIndexOf(process.env, cluster.isWorker);
  if (index !== undefined) return runSentryWorker(partial, index);
  const options = withSentryDefaults(partial);
  checkWorkerOptions(options);
  return options.workers > 1 ? runSentryPrimary(partial) : runSentry(partial);
}

export { WORKER_ENV, parseWorkerCount, workerIndexOf } from './workers-option.js';
