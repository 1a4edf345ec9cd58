/**
 * Where an unfinished rotation stands, from its journal record (src/core/rotation-phases/record.ts),
 * as a timeline a person reads: each write phase from its intent to its store write, then the wait
 * for the change to spread (`propagation` after add-anchor; switch-issuer's restarts count as
 * switch-issuer), then `wait` until the old issuer's leaves expire, then retire-old-root. The
 * current phase is the last one not ended. Only in-progress rotations are shown.
 */
import type { RotationRecord } from '../core/rotation-phases/record.js';
import type { FleetRotation, FleetRotationPhase } from './model.js';

export function rotationView(record: RotationRecord | undefined): FleetRotation | null {
  if (record === undefined || record.status !== 'in-progress') return null;
  const add = record.phases['add-anchor'];
  const sw = record.phases['switch-issuer'];
  const retire = record.phases['retire-old-root'];
  const phases: FleetRotationPhase[] = [];
  const push = (name: string, startedAt: string | undefined, endedAt: string | undefined): void => {
    if (startedAt !== undefined) phases.push({ name, startedAt, endedAt: endedAt ?? null });
  };
  push('add-anchor', add.startedAt, add.writtenAt ?? add.completedAt);
  push('propagation', add.writtenAt, add.completedAt);
  push('switch-issuer', sw.startedAt, sw.completedAt);
  push('wait', sw.completedAt, retire.startedAt);
  push('retire-old-root', retire.startedAt, retire.completedAt);
  const current = [...phases].reverse().find((p) => p.endedAt === null);
  if (current !== undefined) return { phase: current.name, since: current.startedAt, phases };
  // Between phases (one completed, the next not started yet), or planned with nothing written.
  const last = phases.at(-1);
  if (last === undefined) return { phase: 'plan', since: record.createdAt, phases };
  const next = last.name === 'propagation' ? 'switch-issuer' : last.name === 'retire-old-root' ? 'done' : last.name;
  return { phase: next, since: last.endedAt ?? record.updatedAt, phases };
}
