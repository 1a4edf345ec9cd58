/** Progress the engine reports while it runs; the CLI prints them, tests record them. */
import type { WritePhase } from '../core/rotation-phases/phases.js';

/** A pod that does not (yet) trust the new root, as events carry it. */
export interface UnconvergedPod {
  namespace: string;
  name: string;
  state: 'not-converged' | 'unknown';
  reason: string;
  /** `Deployment/orders`: what a restart restarts; absent for a pod no workload owns. */
  owner?: string;
}

export type RotationEvent =
  | { kind: 'phase-start'; phase: WritePhase; summary: string }
  | { kind: 'skipped'; phase: WritePhase; reason: string }
  | { kind: 'written'; phase: WritePhase; version: string; backup?: string; alreadyThere: boolean }
  | { kind: 'resumed'; phase: WritePhase; found: 'written' | 'not-written' }
  | { kind: 'propagating'; phase: WritePhase; untilMs: number; what: string }
  | { kind: 'converging'; phase: WritePhase; what: string }
  | { kind: 'converged'; phase: WritePhase; confirmed: boolean; note: string }
  | { kind: 'advice'; phase: WritePhase; message: string }
  | { kind: 'waiting'; phase: 'retire-old-root'; until: Date; why: string }
  | { kind: 'stopped-after'; phase: WritePhase }
  | { kind: 'finished' }
  /**
   * The trust gate before switch-issuer: these running pods do not trust the new root yet (sent
   * when the set changes). `pods.length` is the metric; the issuer is not switched until it is 0.
   */
  | { kind: 'trust-not-converged'; phase: WritePhase; pods: UnconvergedPod[]; checked: number; policy: string; restarting: string[] }
  /** Every one of `checked` running Dapr pods trusts the new root. */
  | { kind: 'trust-converged'; phase: WritePhase; checked: number }
  /** Trust distribution wrote `dapr-root-ca.crt` (created/updated namespaces; unchanged ones are not listed). */
  | { kind: 'trust-distributed'; phase: WritePhase; created: string[]; updated: string[]; namespaces: number };
