/**
 * Stands in for the deployment, statefulset and daemonset controllers. Whenever a workload's
 * generation moves (created, restarted, spec edited), it writes the `status` of a rollout in two
 * steps through the status subresource (so clients see real resourceVersion bumps and can hit
 * real 409s): 'progressing' soon after, then 'complete' (or 'failed') once the workload's delay
 * has passed on the server's timers (real time, or a `ManualServerClock` a test advances).
 * The two steps are chained, never raced: the final one is scheduled by the first, so a loaded
 * event loop that runs due timers late (or together) cannot write 'progressing' over 'complete'.
 * A newer generation supersedes the rollout in flight (as the real controller scales the
 * superseded ReplicaSet away) and rolls out on its own.
 * A workload told to 'hang' is never observed (`observedGeneration` stays behind).
 *
 * Every change of the pod-template annotation `kubectl.kubernetes.io/restartedAt` is logged as a
 * 'restarted' event, with 'started'/'completed'/'failed' events for the rollouts, all numbered in
 * one sequence so tests can assert ordering ("sentry completed before operator restarted").
 */
import type { Clock } from '../../../src/core/clock.js';
import type { KubeApi } from './kube-api.js';
import type { ObjectStore, StoreEvent } from './object-store.js';
import { dig, type KubeObject } from './objects.js';
import { isWorkload, resolveType } from './resource-types.js';
import { realTimers, type ServerTimers } from './server-timers.js';
import { workloadStatus, type RolloutStage } from './workload-status.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

export type RolloutOutcome = 'succeed' | 'fail' | 'hang';

export interface WorkloadRef {
  /** 'deployments' | 'statefulsets' | 'daemonsets' (or a kind / short name: 'Deployment', 'sts'). */
  resource: string;
  namespace: string;
  name: string;
}

export interface RolloutBehaviour {
  /** Time from the generation change to completion (or failure); default `controller.delayMs`. */
  delayMs?: number;
  outcome?: RolloutOutcome;
}

export interface RolloutEvent {
  /** Position in the log (all event types share one sequence). */
  seq: number;
  /** Epoch milliseconds on the server's clock. */
  at: number;
  type: 'restarted' | 'started' | 'completed' | 'failed';
  /** Plural: 'deployments' | 'statefulsets' | 'daemonsets'. */
  resource: string;
  namespace: string;
  name: string;
  generation: number;
  /** 'restarted' events: the new annotation value. */
  restartedAt?: string;
}

/** The rollout in flight for one workload: its generation and how to cancel its next step. */
interface Pending {
  generation: number;
  cancel: () => void;
}

/** How long `waitFor` waits by default: a bound that only a real hang reaches, even on a loaded machine. */
export const DEFAULT_WAIT_MS = 120_000;

const keyOf = (resource: string, namespace: string, name: string) => `${resource}/${namespace}/${name}`;

export class RolloutController {
  /** Default time from a generation change to a finished rollout. */
  delayMs: number;
  /** Nodes a DaemonSet runs on (desiredNumberScheduled). */
  daemonSetNodes = 1;
  readonly events: RolloutEvent[] = [];

  private seq = 0;
  private readonly behaviours = new Map<string, RolloutBehaviour>();
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(event: RolloutEvent) => void>();
  private readonly unsubscribe: () => void;

  constructor(store: ObjectStore, private readonly api: KubeApi, private readonly clock: Clock, delayMs = 100, private readonly timers: ServerTimers = realTimers) {
    this.delayMs = delayMs;
    this.unsubscribe = store.subscribe((e) => this.onChange(e));
  }

  /** The 'restarted' events, in order. */
  get restarts(): RolloutEvent[] {
    return this.events.filter((e) => e.type === 'restarted');
  }

  /**
   * Sets how one workload's rollouts behave from now on; a rollout not yet finished is
   * re-driven with the new behaviour (so 'hang' → 'succeed' lets a stuck rollout complete).
   */
  configure(ref: WorkloadRef, behaviour: RolloutBehaviour): void {
    const resource = resolveType(ref.resource).plural;
    const key = keyOf(resource, ref.namespace, ref.name);
    this.behaviours.set(key, { ...this.behaviours.get(key), ...behaviour });
    const obj = this.api.find(resource, ref.namespace, ref.name);
    if (obj && !this.isComplete(resource, obj)) this.schedule(resource, obj);
  }

  /** Writes the completed status for the current generation now (seeding: workloads start rolled out). */
  completeNow(ref: WorkloadRef): void {
    const resource = resolveType(ref.resource).plural;
    this.cancel(keyOf(resource, ref.namespace, ref.name));
    this.writeStage(resource, ref.namespace, ref.name, undefined, 'complete', false);
  }

  /**
   * Resolves with the first logged event (past or future) matching `match`. `timeoutMs` (real time)
   * is a safety bound for a hang, not an expectation of speed: it rejects naming what was awaited
   * and the workload's events so far.
   */
  waitFor(match: Partial<Pick<RolloutEvent, 'type' | 'resource' | 'namespace' | 'name' | 'generation'>>, timeoutMs = DEFAULT_WAIT_MS): Promise<RolloutEvent> {
    const find = () => this.events.find((e) => Object.entries(match).every(([k, v]) => e[k as keyof RolloutEvent] === v));
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (!hit) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const related = this.events.filter((e) => match.name === undefined || e.name === match.name).slice(-12)
          .map((e) => `#${e.seq} ${e.type} ${e.resource}/${e.name} generation ${e.generation}`);
        reject(new Error(`no rollout event matching ${JSON.stringify(match)} within ${timeoutMs} ms; events so far: ${related.join('; ') || 'none'}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /**
   * Calls `listener` with every event logged from now on (never from inside the store's event
   * dispatch for 'completed'/'failed'/'started', so it may write). Returns the unsubscribe function.
   */
  onEvent(listener: (event: RolloutEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops all timers and stops watching the store. */
  close(): void {
    this.unsubscribe();
    for (const key of [...this.pending.keys()]) this.cancel(key);
  }

  private onChange(e: StoreEvent): void {
    if (!isWorkload(e.resource) || e.type === 'DELETED') {
      if (e.type === 'DELETED') this.cancel(keyOf(e.resource.plural, e.object.metadata.namespace ?? '', e.object.metadata.name ?? ''));
      return;
    }
    const obj = e.object;
    if (e.type === 'MODIFIED') {
      const before = dig(e.previous, 'spec', 'template', 'metadata', 'annotations', RESTARTED_AT);
      const after = dig(obj, 'spec', 'template', 'metadata', 'annotations', RESTARTED_AT);
      if (typeof after === 'string' && after !== before) {
        this.log('restarted', e.resource.plural, obj, { restartedAt: after });
      }
    }
    // Status-only writes (ours or anyone's) leave the generation alone and start nothing.
    if (e.type === 'ADDED' || e.previous?.metadata.generation !== obj.metadata.generation) this.schedule(e.resource.plural, obj);
  }

  private behaviourOf(resource: string, obj: KubeObject): Required<RolloutBehaviour> {
    const b = this.behaviours.get(keyOf(resource, obj.metadata.namespace ?? '', obj.metadata.name ?? ''));
    return { delayMs: b?.delayMs ?? this.delayMs, outcome: b?.outcome ?? 'succeed' };
  }

  private isComplete(resource: string, obj: KubeObject): boolean {
    return this.events.some((e) => e.type === 'completed' && e.resource === resource && e.name === obj.metadata.name
      && e.namespace === obj.metadata.namespace && e.generation === obj.metadata.generation);
  }

  // Never writes synchronously: this runs inside the store's event dispatch.
  private schedule(resource: string, obj: KubeObject): void {
    const { namespace = '', name = '' } = obj.metadata;
    const key = keyOf(resource, namespace, name);
    this.cancel(key);
    const { delayMs, outcome } = this.behaviourOf(resource, obj);
    if (outcome === 'hang') return;
    const rollout: Pending = { generation: obj.metadata.generation ?? 1, cancel: () => {} };
    // A step runs only while this rollout is still the workload's current one (not superseded, not cancelled).
    const step = (fn: () => void) => () => {
      if (this.pending.get(key) === rollout) fn();
    };
    const observeAfter = Math.min(20, Math.floor(delayMs / 2));
    rollout.cancel = this.timers.after(observeAfter, step(() => {
      this.writeStage(resource, namespace, name, rollout.generation, 'progressing', true);
      // Timed from the first write, so it cannot overtake it.
      rollout.cancel = this.timers.after(delayMs - observeAfter, step(() => {
        this.pending.delete(key);
        this.writeStage(resource, namespace, name, rollout.generation, outcome === 'fail' ? 'failed' : 'complete', true);
      }));
    }));
    this.pending.set(key, rollout);
  }

  /** Writes `stage` of `generation`'s rollout (nothing if the workload is gone or has moved to another generation). */
  private writeStage(resource: string, namespace: string, name: string, generation: number | undefined, stage: RolloutStage, logIt: boolean): void {
    const current = this.api.find(resource, namespace, name);
    if (!current || (generation !== undefined && (current.metadata.generation ?? 1) !== generation)) return;
    const now = this.clock.now();
    const written = this.api.mutate(resource, namespace, name, (obj) => {
      obj.status = workloadStatus(resource, obj, stage, now, this.daemonSetNodes);
    }, { subresource: 'status' });
    if (!written) return;
    const type = stage === 'progressing' ? 'started' : stage === 'complete' ? 'completed' : 'failed';
    if (logIt || stage === 'complete') this.log(type, resource, written);
  }

  private cancel(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    p.cancel();
    this.pending.delete(key);
  }

  private log(type: RolloutEvent['type'], resource: string, obj: KubeObject, extra: Partial<RolloutEvent> = {}): void {
    this.events.push({
      seq: ++this.seq, at: this.clock.now().getTime(), type, resource, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '',
      generation: obj.metadata.generation ?? 1, ...extra,
    });
    const event = this.events[this.events.length - 1]!;
    for (const l of [...this.listeners]) l(event);
    for (const w of [...this.waiters]) w();
  }
}
