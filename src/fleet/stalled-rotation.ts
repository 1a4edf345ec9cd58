/**
 * An unfinished rotation nothing is moving on. A rotation a person stopped (`--until`, Ctrl-C, a
 * lost terminal) or whose rotator died leaves the mesh trusting two roots and, before
 * switch-issuer, signing with the old issuer, which keeps ageing: healthy today, a surprise when
 * it expires. Each phase has a time by which it should have moved on: the wait phase at the
 * recorded `retireAfter`, the others once the rotation's own propagation delay and timeout have
 * passed since the phase began. An hour's grace past that, the rotation is called stalled.
 */
import type { RotationRecord } from '../core/rotation-phases/record.js';
import { describeStarter, STARTED_BY_KEY, STARTED_BY_SENTRY } from '../core/rotation-phases/started-by.js';
import type { FleetRotation } from './model.js';

export const STALL_GRACE_MS = 60 * 60 * 1000;

export interface StalledRotation {
  id: string;
  phase: string;
  since: Date;
  /** When the phase should have moved on (before the grace). */
  dueAt: Date;
  /** Who started it, for the message ("the sentry's --auto-renew", "warden mtls rotate by …"). */
  starter: string | undefined;
  /** True when the sentry's auto-renew started it (the sentry resumes it; a person looks at its log). */
  bySentry: boolean;
}

export function stalledRotation(record: RotationRecord | undefined, view: FleetRotation | null, now: Date): StalledRotation | undefined {
  if (record === undefined || view === null || record.status !== 'in-progress') return undefined;
  const since = new Date(view.since);
  const { propagationDelayMs, timeoutMs } = record.settings;
  const dueAt = view.phase === 'wait' && record.retireAfter !== undefined
    ? new Date(record.retireAfter)
    : new Date(since.getTime() + (Number.isFinite(propagationDelayMs) ? propagationDelayMs : 0) + (Number.isFinite(timeoutMs) ? timeoutMs : 0));
  if (now.getTime() <= dueAt.getTime() + STALL_GRACE_MS) return undefined;
  return {
    id: record.id, phase: view.phase, since, dueAt,
    starter: describeStarter(record.settings),
    bySentry: record.settings[STARTED_BY_KEY] === STARTED_BY_SENTRY,
  };
}
