/**
 * What the rotation engine needs from where the bundle lives. One implementation per mode:
 * self-hosted (backends/self-hosted.ts: a directory, a sentry that reloads by itself, daprd
 * processes the operator restarts) and Kubernetes (Secret + ConfigMap, ordered rollouts).
 */
import type { TrustBundle } from '../core/bundle.js';
import type { PhaseEstimate } from '../core/rotation-phases/schedule.js';
import type { WritePhase } from '../core/rotation-phases/phases.js';
import type { RotationRecord } from '../core/rotation-phases/record.js';
import type { TrustBundleStore } from '../stores/store.js';
import type { JournalStore } from './journal.js';
import type { RotationEvent } from './events.js';

/** Injected waiting: real timers in the CLI, a clock-advancing fake in tests. */
export interface Sleeper {
  /** Resolves after `ms`, or as soon as `signal` aborts (resolving, not rejecting). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** What a backend step gets to work with. */
export interface PhaseContext {
  record: RotationRecord;
  /** When the phase's write landed (propagation counts from here, also after a resume). */
  writtenAt: Date;
  /** Aborts on Ctrl-C: steps should return promptly (the engine then stops cleanly). */
  signal: AbortSignal;
  report(event: RotationEvent): void;
}

export interface ConvergenceResult {
  /** True when convergence was observed; false when it could not be checked (said in `note`). */
  confirmed: boolean;
  /** One line for the journal and the operator. */
  note: string;
}

export interface RotationBackend {
  /** 'self-hosted' or 'kubernetes', for messages. */
  readonly mode: string;
  readonly store: TrustBundleStore;
  readonly journal: JournalStore;
  /**
   * Finishes a write a killed run left half done, when the store holds the target but not
   * everywhere (Kubernetes: the Secret was written, the ConfigMap not yet). Absent: nothing to do.
   */
  completeInterruptedWrite?(): Promise<void>;
  /** Waits until the write has reached every reader of the store (file watchers, kubelet sync). */
  waitForPropagation(phase: WritePhase, ctx: PhaseContext): Promise<void>;
  /** Restarts the control plane in order where needed (self-hosted: nothing to restart). */
  restartControlPlane(phase: WritePhase, ctx: PhaseContext): Promise<void>;
  /** Restarts Dapr apps where needed, or tells the operator what to restart. */
  restartApps(phase: WritePhase, ctx: PhaseContext): Promise<void>;
  /**
   * Confirms the system runs on `expected`; polls until it does or the record's timeout passes,
   * then throws `ERR_ROTATION_NOT_CONVERGED`.
   */
  confirmConverged(phase: WritePhase, expected: TrustBundle, ctx: PhaseContext): Promise<ConvergenceResult>;
  /** Expected durations, for the dry-run timeline. */
  estimate(phase: WritePhase, settings: RotationRecord['settings']): PhaseEstimate;
  /** `warden mtls <sub> …` with the flags that address this site, for messages (runnable as printed). */
  commandLine?(sub: string, args?: readonly string[]): string;
}

/** The backend's printed command, or the bare one when it has no site flags to add. */
export function commandOf(backend: Pick<RotationBackend, 'commandLine'>, sub: string, args: readonly string[] = []): string {
  return backend.commandLine?.(sub, args) ?? ['warden', 'mtls', sub, ...args].join(' ');
}
