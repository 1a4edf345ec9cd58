/**
 * The Dapr apps: every Deployment, StatefulSet and DaemonSet whose pod template asks for a
 * sidecar, and restarting them a bounded number at a time (daprd reads its trust anchors only when
 * injected, spec 3.5, 4.3), each waited for, failures collected for the caller to report.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { listWorkloads, type RolloutClients, type Workload, type WorkloadRef } from './rollout-api.js';
import { describeApiError } from './rollout-errors.js';
import type { WorkloadKind } from './rollout-status.js';
import { restartOne, retryTransient, type RestartTarget } from './restart-one.js';
import { runBounded } from './restart-pool.js';
import { CONTROL_PLANE_WAVES } from './restart-waves.js';

export const DEFAULT_MAX_CONCURRENT_RESTARTS = 5;

/** Dapr's truthy values for `dapr.io/enabled` (dapr/kit `utils.IsTruthy`, as the injector reads it). */
export function isDaprEnabled(annotations: Record<string, string> | undefined): boolean {
  const value = annotations?.['dapr.io/enabled'];
  return value !== undefined && ['y', 'yes', 'true', 't', 'on', '1'].includes(value.trim().toLowerCase());
}

export interface FindAppsOptions {
  /** Only these namespaces (default: all). */
  namespaces?: readonly string[];
  /** The Dapr control-plane namespace: its CONTROL_PLANE_WAVES workloads are never apps. */
  controlPlaneNamespace?: string;
}

export interface DaprApp extends RestartTarget {
  current: Workload;
  /** `dapr.io/app-id`, when set. */
  appId?: string;
}

const APP_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];
const CONTROL_PLANE_NAMES = new Set(CONTROL_PLANE_WAVES.flat());

/**
 * Every Deployment, StatefulSet and DaemonSet whose pod template asks for a Dapr sidecar
 * (`dapr.io/enabled` truthy), sorted by namespace, kind and name; control-plane workloads (by
 * name in the control-plane namespace, or by the `dapr.io/control-plane` annotation) excluded.
 * One paged LIST per kind (per namespace when `namespaces` is given).
 */
export async function findDaprApps(clients: RolloutClients, opts: FindAppsOptions = {}): Promise<DaprApp[]> {
  const scopes: (string | undefined)[] = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : [undefined];
  const lists = await Promise.all(scopes.flatMap((ns) => APP_KINDS.map(async (kind) => ({ kind, items: await listOrFail(clients, kind, ns) }))));
  const apps: DaprApp[] = [];
  for (const { kind, items } of lists) {
    for (const current of items) {
      const annotations = current.spec?.template?.metadata?.annotations;
      const namespace = current.metadata?.namespace ?? '';
      const name = current.metadata?.name ?? '';
      if (!isDaprEnabled(annotations) || annotations?.['dapr.io/control-plane'] !== undefined) continue;
      if (namespace === opts.controlPlaneNamespace && CONTROL_PLANE_NAMES.has(name)) continue;
      const appId = annotations?.['dapr.io/app-id'];
      apps.push({ ref: { kind, namespace, name }, current, ...(appId ? { appId } : {}) });
    }
  }
  const compare = (x: string, y: string): number => x.localeCompare(y, 'en', { numeric: true });
  return apps.sort((a, b) => compare(a.ref.namespace, b.ref.namespace)
    || APP_KINDS.indexOf(a.ref.kind) - APP_KINDS.indexOf(b.ref.kind) || compare(a.ref.name, b.ref.name));
}

async function listOrFail(clients: RolloutClients, kind: WorkloadKind, namespace: string | undefined): Promise<Workload[]> {
  try {
    return await retryTransient(() => listWorkloads(clients, kind, namespace));
  } catch (err) {
    const where = namespace === undefined ? 'all namespaces' : `namespace ${namespace}`;
    throw new WardenError('ERR_RESTART_FAILED', `cannot list ${kind}s in ${where} to find Dapr apps: ${describeApiError(err)}`, { cause: err });
  }
}

export interface AppRestartProgress {
  total: number;
  /** Finished, successfully or not. */
  done: number;
  failed: number;
  /** Restarting or rolling out right now. */
  inFlight: WorkloadRef[];
  /** What just happened. */
  last: { ref: WorkloadRef; state: 'started' | 'restarted' | 'failed'; message?: string };
}

export interface AppRestartOptions {
  /** At most this many apps restarting at once (default 5). */
  maxConcurrent?: number;
  /** Per rollout. */
  timeoutMs: number;
  onProgress?: (progress: AppRestartProgress) => void;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface AppRestartSummary {
  total: number;
  restarted: WorkloadRef[];
  failed: { ref: WorkloadRef; error: WardenError }[];
  durationMs: number;
}

/**
 * Restarts `apps`, at most `maxConcurrent` at a time (a finished one makes room for the next),
 * each waited for. Never throws for an app's failure: the summary lists every failure, for the
 * caller to report (and exit non-zero on).
 */
export async function restartDaprApps(clients: RolloutClients, apps: readonly RestartTarget[], opts: AppRestartOptions): Promise<AppRestartSummary> {
  const clock = opts.clock ?? systemClock;
  const started = performance.now();
  const inFlight = new Set<WorkloadRef>();
  const summary: AppRestartSummary = { total: apps.length, restarted: [], failed: [], durationMs: 0 };
  const report = (last: AppRestartProgress['last']): void => opts.onProgress?.({
    total: apps.length, done: summary.restarted.length + summary.failed.length, failed: summary.failed.length, inFlight: [...inFlight], last,
  });
  await runBounded(apps, opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_RESTARTS, async (target) => {
    inFlight.add(target.ref);
    report({ ref: target.ref, state: 'started' });
    const outcome = await restartOne(clients, target, opts.timeoutMs, clock, () => undefined, opts.signal);
    inFlight.delete(target.ref);
    if ('error' in outcome) {
      summary.failed.push({ ref: target.ref, error: outcome.error });
      report({ ref: target.ref, state: 'failed', message: outcome.error.message });
    } else {
      summary.restarted.push(target.ref);
      report({ ref: target.ref, state: 'restarted', message: outcome.message });
    }
  }, opts.signal);
  summary.durationMs = performance.now() - started;
  return summary;
}
