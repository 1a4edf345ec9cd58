/**
 * Restarting Dapr after its trust bundle changed, in the order the trust flows (spec 4.2, 4.3,
 * 7.3, 7.6): the sentry first (it must be serving certificates from the new issuer before
 * anything asks it for one), then the rest of the control plane together — including the
 * scheduler, which Dapr's CLI forgets — then every Dapr-enabled app, a bounded number at a time
 * (daprd reads its trust anchors only at injection). Every restart is waited for; failures are
 * collected and reported, never swallowed (Dapr's `--restart` exits 0 whatever happens).
 */
import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { readWorkload, refName, type RolloutClients, type Workload, type WorkloadRef } from './rollout-api.js';
import { describeApiError, httpStatusOf } from './rollout-errors.js';
import type { WorkloadKind } from './rollout-status.js';
import { restartOne, retryTransient, type RestartEvent, type RestartTarget } from './restart-one.js';
import { CONTROL_PLANE_WAVES, EXPECTED_KIND } from './restart-waves.js';

export type { RolloutClients, Workload, WorkloadKind, WorkloadRef };
export type { RestartEvent, RestartTarget } from './restart-one.js';
export { CONTROL_PLANE_WAVES } from './restart-waves.js';
export {
  DEFAULT_MAX_CONCURRENT_RESTARTS, findDaprApps, isDaprEnabled, restartDaprApps,
  type AppRestartOptions, type AppRestartProgress, type AppRestartSummary, type DaprApp, type FindAppsOptions,
} from './restart-apps.js';

/** The control-plane waves as found in this cluster: what exists, and what this Dapr version lacks. */
export interface ControlPlaneWave {
  targets: RestartTarget[];
  /** Names of CONTROL_PLANE_WAVES not installed (e.g. the scheduler before Dapr 1.14). */
  missing: string[];
}

export interface ControlPlaneRestartOptions {
  /** Per rollout: how long to wait for each workload (kubectl's `rollout status --timeout`). */
  timeoutMs: number;
  onEvent?: (event: RestartEvent) => void;
  /** restartedAt timestamps (default: the system clock). */
  clock?: Clock;
  signal?: AbortSignal;
  /** The waves from `findControlPlane`, if already read (spares the GETs). */
  waves?: ControlPlaneWave[];
}

export interface ControlPlaneRestartResult {
  restarted: WorkloadRef[];
  /** Names not installed in this Dapr version (skipped with a note). */
  skipped: string[];
}

/** Reads which control-plane workloads exist in `namespace`, wave by wave. */
export async function findControlPlane(clients: RolloutClients, namespace: string): Promise<ControlPlaneWave[]> {
  const waves: ControlPlaneWave[] = [];
  for (const names of CONTROL_PLANE_WAVES) {
    const found = await Promise.all(names.map((name) => findWorkload(clients, namespace, name)));
    waves.push({
      targets: found.filter((t): t is RestartTarget => t !== undefined),
      missing: names.filter((_, i) => found[i] === undefined),
    });
  }
  return waves;
}

async function findWorkload(clients: RolloutClients, namespace: string, name: string): Promise<RestartTarget | undefined> {
  const expected = EXPECTED_KIND[name] ?? 'Deployment';
  const kinds: WorkloadKind[] = expected === 'Deployment' ? ['Deployment', 'StatefulSet'] : ['StatefulSet', 'Deployment'];
  for (const kind of kinds) {
    const ref = { kind, namespace, name };
    const current = await readOrUndefined(clients, ref);
    if (current) return { ref, current };
  }
  return undefined;
}

async function readOrUndefined(clients: RolloutClients, ref: WorkloadRef): Promise<Workload | undefined> {
  try {
    return await retryTransient(() => readWorkload(clients, ref));
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw new WardenError('ERR_RESTART_FAILED', `cannot read ${refName(ref)} in ${ref.namespace}: ${describeApiError(err)}; nothing was restarted`, { cause: err });
  }
}

/**
 * Restarts the control plane in `namespace` wave by wave (CONTROL_PLANE_WAVES), waiting for each
 * rollout. The sentry must finish before wave 2 starts; wave 2 runs concurrently and every member
 * is waited for even if one fails. Workloads this Dapr version lacks are skipped (an event says
 * so). Throws ERR_RESTART_FAILED naming every workload that failed or timed out; if the sentry
 * fails, wave 2 is not started.
 */
export async function restartControlPlane(clients: RolloutClients, namespace: string, opts: ControlPlaneRestartOptions): Promise<ControlPlaneRestartResult> {
  const emit = opts.onEvent ?? (() => undefined);
  const clock = opts.clock ?? systemClock;
  const waves = opts.waves ?? (await findControlPlane(clients, namespace));
  const result: ControlPlaneRestartResult = { restarted: [], skipped: [] };
  for (const [i, wave] of waves.entries()) {
    for (const name of wave.missing) {
      emit({ type: 'skipped', name, namespace, reason: `not installed in ${namespace} (not part of this Dapr version)` });
      result.skipped.push(name);
    }
    if (wave.targets.length === 0) continue;
    emit({ type: 'wave', wave: i + 1, names: wave.targets.map((t) => t.ref.name) });
    const outcomes = await Promise.all(wave.targets.map((t) => restartOne(clients, t, opts.timeoutMs, clock, emit, opts.signal)));
    const failed = outcomes.filter((o): o is { ref: WorkloadRef; error: WardenError } => 'error' in o);
    result.restarted.push(...outcomes.filter((o) => !('error' in o)).map((o) => o.ref));
    if (failed.length > 0) {
      const notStarted = waves.slice(i + 1).flatMap((w) => w.targets.map((t) => t.ref.name));
      throw restartFailed(failed, notStarted);
    }
  }
  return result;
}

function restartFailed(failed: { ref: WorkloadRef; error: WardenError }[], notStarted: string[]): WardenError {
  const names = failed.map((f) => refName(f.ref)).join(', ');
  const reasons = failed.map((f) => f.error.message).join('; ');
  const rest = notStarted.length > 0 ? ` ${notStarted.join(', ')} ${notStarted.length === 1 ? 'was' : 'were'} not restarted.` : '';
  return new WardenError(
    'ERR_RESTART_FAILED',
    `control-plane restart failed: ${names} did not roll out (${reasons}).${rest} Check the pods with 'kubectl get pods -n ${failed[0]?.ref.namespace ?? ''}', then restart again`,
  );
}
