/**
 * When each rotation step may happen: pure functions of (record, now, policy), after
 * cert-manager's `renewaltime.go` and spire's `ca/manager/slot.go` (design §4).
 *
 * The old root may go once no certificate that needs it can still be presented: every leaf the
 * old issuer signed ends at most one workload TTL after the last one was signed, i.e. after
 * switch-issuer completed; peers whose clocks lag accept it for up to the allowed clock skew
 * longer. If the old chain itself ends sooner (its root or issuer expires), nothing verifies
 * against it after that, so that time (plus skew) bounds the wait too.
 */
import type { TrustBundle } from '../bundle.js';
import type { ValidityPeriod } from '../expiry-window.js';
import type { WritePhase } from './phases.js';
import { currentWritePhase, phaseState, type RotationPolicy, type RotationRecord } from './record.js';

/** The earliest NotAfter along the original issuer chain and its root: after it no old leaf verifies. */
export function oldChainEnd(original: TrustBundle): Date {
  const certs: ValidityPeriod[] = [...original.issuerChain, original.root];
  return new Date(Math.min(...certs.map((c) => c.notAfter.getTime())));
}

/**
 * retire time = switch-issuer completion + workload TTL + clock skew, or the end of the old chain
 * + clock skew if that is sooner.
 */
export function computeRetireAfter(switchCompletedAt: Date, oldChainEndsAt: Date, policy: RotationPolicy): Date {
  const leavesGone = switchCompletedAt.getTime() + policy.workloadTtlMs + policy.clockSkewMs;
  const chainGone = oldChainEndsAt.getTime() + policy.clockSkewMs;
  return new Date(Math.min(leavesGone, chainGone));
}

/** The record's retire time; derived from switch-issuer's completion when not stored. */
export function retireAfterOf(record: RotationRecord): Date | undefined {
  if (record.retireAfter !== undefined) return new Date(record.retireAfter);
  const done = record.phases['switch-issuer'].completedAt;
  if (done === undefined) return undefined;
  return new Date(new Date(done).getTime() + record.policy.workloadTtlMs + record.policy.clockSkewMs);
}

/** What the engine does next. */
export type RotationStep =
  /** Record the intent, then write the phase's target. */
  | { kind: 'write'; phase: WritePhase }
  /** Intent recorded but not the write: compare the store with the target (resume after a crash). */
  | { kind: 'reconcile'; phase: WritePhase }
  /** Written: wait for propagation until `propagatedAt`, restart, confirm convergence. */
  | { kind: 'converge'; phase: WritePhase; propagatedAt: Date }
  /** The old root must stay until `until`. */
  | { kind: 'wait'; phase: 'retire-old-root'; until: Date }
  /** Every phase complete: mark the rotation done. */
  | { kind: 'finish' }
  /** Nothing left (done or rolled back). */
  | { kind: 'done' };

/**
 * The next step at `now`. `force` (default: the record's setting) retires without waiting for the
 * old leaves to expire.
 */
export function nextStep(record: RotationRecord, now: Date, opts: { force?: boolean } = {}): RotationStep {
  if (record.status !== 'in-progress') return { kind: 'done' };
  const phase = currentWritePhase(record);
  if (phase === undefined) return { kind: 'finish' };
  const progress = record.phases[phase];
  const state = phaseState(progress);
  if (state === 'written') {
    const writtenAt = new Date(progress.writtenAt as string).getTime();
    return { kind: 'converge', phase, propagatedAt: new Date(writtenAt + record.settings.propagationDelayMs) };
  }
  if (state === 'started') return { kind: 'reconcile', phase };
  const force = opts.force ?? record.settings.force;
  if (phase === 'retire-old-root' && !force) {
    const until = retireAfterOf(record);
    if (until !== undefined && now.getTime() < until.getTime()) return { kind: 'wait', phase, until };
  }
  return { kind: 'write', phase };
}

/** How long a backend expects each part of a phase to take (for the dry-run timeline). */
export interface PhaseEstimate {
  propagationMs: number;
  restartMs: number;
  convergenceMs: number;
}

export interface TimelineInput {
  now: Date;
  estimates: Readonly<Record<WritePhase, PhaseEstimate>>;
  /** Phases that will write nothing, with why. */
  skips: Partial<Record<WritePhase, string>>;
  policy: RotationPolicy;
  force: boolean;
  oldChainEndsAt: Date;
}

export interface TimelineRow {
  phase: WritePhase;
  step: 'skip' | 'write' | 'propagation' | 'restarts' | 'convergence' | 'wait for old leaves to expire';
  durationMs: number;
  /** Expected start, from `now`. */
  startsAt: Date;
}

/** The expected timeline of a whole rotation from `now`, phase by phase. */
export function buildTimeline(input: TimelineInput): TimelineRow[] {
  const rows: TimelineRow[] = [];
  let t = input.now.getTime();
  const push = (phase: WritePhase, step: TimelineRow['step'], durationMs: number): void => {
    rows.push({ phase, step, durationMs, startsAt: new Date(t) });
    t += durationMs;
  };
  for (const phase of ['add-anchor', 'switch-issuer', 'retire-old-root'] as const) {
    if (phase === 'retire-old-root' && !input.force) {
      const retireAt = computeRetireAfter(new Date(t), input.oldChainEndsAt, input.policy).getTime();
      push(phase, 'wait for old leaves to expire', Math.max(0, retireAt - t));
    }
    if (input.skips[phase] !== undefined) {
      push(phase, 'skip', 0);
      continue;
    }
    const e = input.estimates[phase];
    push(phase, 'write', 0);
    push(phase, 'propagation', e.propagationMs);
    if (e.restartMs > 0) push(phase, 'restarts', e.restartMs);
    push(phase, 'convergence', e.convergenceMs);
  }
  return rows;
}

/** Total duration of a timeline. */
export function timelineDurationMs(rows: readonly TimelineRow[]): number {
  return rows.reduce((sum, r) => sum + r.durationMs, 0);
}
