/** Progress the engine reports while it runs; the CLI prints them, tests record them. */
import type { WritePhase } from '../core/rotation-phases/phases.js';

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
  | { kind: 'finished' };
