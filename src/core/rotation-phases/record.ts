/**
 * The rotation record: everything a rotation needs to continue after a crash, as plain JSON data
 * (the journal persists it: a 0600 file self-hosted, a Secret in Kubernetes). Transitions are pure:
 * each returns a new record and never mutates its input.
 *
 * Crash safety rests on the order the engine follows for every write phase:
 *   recordIntent → journal write → store write (expectedVersion) → recordWritten → journal write
 *   → propagation, restarts, convergence → recordCompleted → journal write.
 * A crash between "intent" and "written" is resolved on resume by comparing the store with the
 * phase's target (written) or with the state before it (not written).
 */
import type { BundleTexts } from '../bundle-texts.js';
import { WRITE_PHASES, type RotationPhase, type WritePhase } from './phases.js';

export const ROTATION_RECORD_FORMAT = 1;

export type RotationStatus = 'in-progress' | 'done' | 'rolled-back';

/** Where the new root and issuer came from (as renew-certificate's three paths). */
export type MaterialSource = 'fresh' | 'private-key' | 'provided';

/** Progress of one write phase; ISO-8601 times. */
export interface PhaseProgress {
  /** Intent recorded: the store write is about to happen (or happened just before a crash). */
  startedAt?: string;
  /** The store version the write expects to replace. */
  fromVersion?: string;
  /** The store holds the phase's target (written now, or found written on resume). */
  writtenAt?: string;
  /** The store's version after the write. */
  bundleVersion?: string;
  /** Convergence established: the phase is complete. */
  completedAt?: string;
  /** How convergence was established (or that it could not be confirmed). */
  convergence?: string;
  /** Why the phase wrote nothing (it still counts as complete). */
  skipped?: string;
}

/** Workload-certificate policy the retire time is computed from (the sentry's Configuration). */
export interface RotationPolicy {
  workloadTtlMs: number;
  clockSkewMs: number;
}

/** Runtime settings the rotation started with; `--resume` reuses them unless flags override. */
export interface RotationSettings {
  propagationDelayMs: number;
  timeoutMs: number;
  /** Retire without waiting for the old issuer's leaves to expire. */
  force: boolean;
  /** Backend-specific (e.g. the sentry address self-hosted). */
  [key: string]: string | number | boolean | undefined;
}

export interface RotationMaterialRecord {
  source: MaterialSource;
  /** New root(s), PEM: ca.crt after the rotation. */
  anchorsPem: string;
  /** New issuer chain, PEM. */
  issuerCertPem: string;
  /** New issuer key, PKCS#8 PEM. */
  issuerKeyPem: string;
  /** Where the new root key was saved (`--root-key-out`), if it was. */
  rootKeyPath?: string;
}

export interface RotationRecord {
  format: typeof ROTATION_RECORD_FORMAT;
  /** Unique id of this rotation (the plan time, compact, plus random digits). */
  id: string;
  status: RotationStatus;
  /** The last phase completed: 'plan' once planned, 'done' at the end. */
  phase: RotationPhase;
  createdAt: string;
  updatedAt: string;
  /** The store the rotation works on, for messages. */
  store: string;
  policy: RotationPolicy;
  settings: RotationSettings;
  /** The bundle before the rotation (what rollback restores) and its store version. */
  original: { texts: BundleTexts; version: string };
  material: RotationMaterialRecord;
  /** The backup the first write took of the original bundle. */
  backup?: { name: string; location: string };
  phases: Record<WritePhase, PhaseProgress>;
  /** When the old root may be removed (set when switch-issuer completes). */
  retireAfter?: string;
  /** Set when `warden mtls rollback` abandoned this rotation. */
  rolledBackAt?: string;
}

export interface NewRecordInput {
  id: string;
  now: Date;
  store: string;
  policy: RotationPolicy;
  settings: RotationSettings;
  original: { texts: BundleTexts; version: string };
  material: RotationMaterialRecord;
}

/** A planned rotation: phase 'plan', nothing written. */
export function createRotationRecord(input: NewRecordInput): RotationRecord {
  const at = input.now.toISOString();
  return {
    format: ROTATION_RECORD_FORMAT,
    id: input.id,
    status: 'in-progress',
    phase: 'plan',
    createdAt: at,
    updatedAt: at,
    store: input.store,
    policy: { ...input.policy },
    settings: { ...input.settings },
    original: { texts: { ...input.original.texts }, version: input.original.version },
    material: { ...input.material },
    phases: { 'add-anchor': {}, 'switch-issuer': {}, 'retire-old-root': {} },
  };
}

function updatePhase(record: RotationRecord, phase: WritePhase, now: Date, patch: PhaseProgress): RotationRecord {
  return {
    ...record,
    updatedAt: now.toISOString(),
    phases: { ...record.phases, [phase]: { ...record.phases[phase], ...patch } },
  };
}

/** The store write of `phase` is about to happen, replacing `fromVersion`. */
export function recordIntent(record: RotationRecord, phase: WritePhase, fromVersion: string, now: Date): RotationRecord {
  return updatePhase(record, phase, now, { startedAt: now.toISOString(), fromVersion });
}

/** The store holds `phase`'s target at `bundleVersion`; `backup` when this write took it. */
export function recordWritten(
  record: RotationRecord,
  phase: WritePhase,
  bundleVersion: string,
  now: Date,
  backup?: { name: string; location: string },
): RotationRecord {
  const next = updatePhase(record, phase, now, { writtenAt: now.toISOString(), bundleVersion });
  return backup === undefined || record.backup !== undefined ? next : { ...next, backup: { ...backup } };
}

/**
 * `phase` converged: it is complete. `retireAfter` is given when switch-issuer completes (see
 * schedule.ts `computeRetireAfter`).
 */
export function recordCompleted(
  record: RotationRecord,
  phase: WritePhase,
  convergence: string,
  now: Date,
  retireAfter?: Date,
): RotationRecord {
  const next = updatePhase(record, phase, now, { completedAt: now.toISOString(), convergence });
  const withPhase: RotationRecord = { ...next, phase };
  return retireAfter === undefined ? withPhase : { ...withPhase, retireAfter: retireAfter.toISOString() };
}

/** `phase` has nothing to do (e.g. the old root already expired); it counts as complete. */
export function recordSkipped(record: RotationRecord, phase: WritePhase, reason: string, now: Date, retireAfter?: Date): RotationRecord {
  const at = now.toISOString();
  const next: RotationRecord = { ...updatePhase(record, phase, now, { skipped: reason, completedAt: at }), phase };
  return retireAfter === undefined ? next : { ...next, retireAfter: retireAfter.toISOString() };
}

/** Every phase is complete: the rotation is done. */
export function recordFinished(record: RotationRecord, now: Date): RotationRecord {
  return { ...record, status: 'done', phase: 'done', updatedAt: now.toISOString() };
}

/** Rollback abandoned the rotation. */
export function recordRolledBack(record: RotationRecord, now: Date): RotationRecord {
  const at = now.toISOString();
  return { ...record, status: 'rolled-back', updatedAt: at, rolledBackAt: at };
}

/** Where a write phase stands. */
export type PhaseState = 'pending' | 'started' | 'written' | 'complete' | 'skipped';

export function phaseState(progress: PhaseProgress): PhaseState {
  if (progress.skipped !== undefined) return 'skipped';
  if (progress.completedAt !== undefined) return 'complete';
  if (progress.writtenAt !== undefined) return 'written';
  if (progress.startedAt !== undefined) return 'started';
  return 'pending';
}

/** The first write phase not yet complete (or skipped), or undefined when all are. */
export function currentWritePhase(record: RotationRecord): WritePhase | undefined {
  return WRITE_PHASES.find((p) => {
    const state = phaseState(record.phases[p]);
    return state !== 'complete' && state !== 'skipped';
  });
}
