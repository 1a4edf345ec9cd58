/**
 * The rotation engine: drives a rotation record through its phases against a backend, one step
 * at a time, persisting the record before and after every store write (record.ts explains the
 * order). It is the only code that writes during a rotation. Every step is chosen by the pure
 * `nextStep(record, now)`, so a fresh process resuming from the journal continues exactly where a
 * crashed or stopped one left off.
 */
import { TrustBundle } from '../core/bundle.js';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';
import { jwtMaterialToTexts, parseJwtMaterial } from '../core/jwt-key.js';
import { rotateJwtMaterial } from '../core/jwt-rotation.js';
import { assertNoErrors, runChecks } from '../core/checks/index.js';
import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { phaseIndex, previousWritePhase, PHASE_SUMMARY, type RotationPhase, type WritePhase } from '../core/rotation-phases/phases.js';
import { addAnchorSkipReason, rotationCheckPolicy } from '../core/rotation-phases/plan.js';
import {
  phaseState, recordCompleted, recordFinished, recordIntent, recordSkipped, recordWritten, type RotationRecord,
} from '../core/rotation-phases/record.js';
import { computeRetireAfter, nextStep, oldChainEnd } from '../core/rotation-phases/schedule.js';
import { computePhaseTargets, type PhaseTargets } from '../core/rotation-phases/targets.js';
import type { BackupRef, BundleReadResult } from '../stores/store.js';
import { commandOf, type PhaseContext, type RotationBackend, type Sleeper } from './backend.js';
import type { RotationEvent } from './events.js';

export interface EngineOptions {
  backend: RotationBackend;
  clock: Clock;
  sleeper: Sleeper;
  /** Aborted on Ctrl-C: the engine stops between steps with ERR_ROTATION_INTERRUPTED. */
  signal?: AbortSignal;
  report?: (event: RotationEvent) => void;
  /** Stop once this phase is complete ('plan': right after recording the plan). */
  until?: RotationPhase;
  /** Retire without waiting for the old leaves to expire (overrides the record's setting). */
  force?: boolean;
}

export interface RotationOutcome {
  record: RotationRecord;
  /** 'done' when the rotation finished, 'stopped' when `until` was reached. */
  result: 'done' | 'stopped';
}

/** The parsed material of a record: the bundle before the rotation, the new bundle, the targets. */
export interface RecordBundles {
  original: TrustBundle;
  material: TrustBundle;
  targets: PhaseTargets;
}

export function bundlesOf(record: RotationRecord): RecordBundles {
  const original = TrustBundle.fromTexts(record.original.texts);
  const material = TrustBundle.fromTexts({ ca: record.material.anchorsPem, issuerCert: record.material.issuerCertPem, issuerKey: record.material.issuerKeyPem });
  return { original, material, targets: computePhaseTargets(original, material) };
}

export function sameTexts(a: BundleTexts, b: BundleTexts): boolean {
  return a.ca === b.ca && a.issuerCert === b.issuerCert && a.issuerKey === b.issuerKey;
}

/** What the store must hold before `phase` writes: the last written target, or the original. */
export function expectedBefore(record: RotationRecord, targets: PhaseTargets, phase: WritePhase): BundleTexts {
  for (let p = previousWritePhase(phase); p !== undefined; p = previousWritePhase(p)) {
    const state = phaseState(record.phases[p]);
    if (state === 'complete' || state === 'written') return targets[p].toTexts();
  }
  return record.original.texts;
}

/** Records a new rotation (phase 'plan') in the journal, then runs it. */
export async function startRotation(record: RotationRecord, opts: EngineOptions): Promise<RotationOutcome> {
  await opts.backend.journal.write(record);
  if (opts.until === 'plan') return { record, result: 'stopped' };
  return runRotation(record, opts);
}

/** Continues `record` (as read from the journal) until it is done, `until` is reached, or interrupted. */
export async function runRotation(start: RotationRecord, opts: EngineOptions): Promise<RotationOutcome> {
  return new RotationRun(start, opts).run();
}

class RotationRun {
  private record: RotationRecord;
  private readonly bundles: RecordBundles;
  private readonly signal: AbortSignal;
  private readonly report: (event: RotationEvent) => void;

  constructor(start: RotationRecord, private readonly opts: EngineOptions) {
    this.record = start;
    this.bundles = bundlesOf(start);
    this.signal = opts.signal ?? new AbortController().signal;
    this.report = opts.report ?? (() => undefined);
  }

  private get backend(): RotationBackend {
    return this.opts.backend;
  }

  private now(): Date {
    return this.opts.clock.now();
  }

  private async save(record: RotationRecord): Promise<void> {
    await this.backend.journal.write(record);
    this.record = record;
  }

  async run(): Promise<RotationOutcome> {
    const until = this.opts.until;
    if (until !== undefined && this.record.status === 'in-progress' && phaseIndex(this.record.phase) >= phaseIndex(until)) {
      return { record: this.record, result: 'stopped' };
    }
    for (;;) {
      this.throwIfInterrupted();
      const step = nextStep(this.record, this.now(), this.opts.force === undefined ? {} : { force: this.opts.force });
      switch (step.kind) {
        case 'done':
          return { record: this.record, result: 'done' };
        case 'finish':
          await this.save(recordFinished(this.record, this.now()));
          this.report({ kind: 'finished' });
          return { record: this.record, result: 'done' };
        case 'wait':
          this.report({ kind: 'waiting', phase: step.phase, until: step.until, why: 'every leaf the old issuer signed must expire first (workload TTL + clock skew after switch-issuer)' });
          await this.opts.sleeper.sleep(step.until.getTime() - this.now().getTime(), this.signal);
          break;
        case 'write':
          if (await this.writePhase(step.phase)) return { record: this.record, result: 'stopped' };
          break;
        case 'reconcile':
          await this.reconcile(step.phase);
          break;
        case 'converge':
          if (await this.converge(step.phase)) return { record: this.record, result: 'stopped' };
          break;
      }
    }
  }

  /** Writes the phase's target (or skips it). True when the run stops here (`until`). */
  private async writePhase(phase: WritePhase): Promise<boolean> {
    const now = this.now();
    if (phase === 'add-anchor') {
      const reason = addAnchorSkipReason(this.bundles.original, now, this.record.policy);
      if (reason !== undefined) {
        await this.save(recordSkipped(this.record, phase, reason, now));
        this.report({ kind: 'skipped', phase, reason });
        return this.stopAfter(phase);
      }
    }
    this.report({ kind: 'phase-start', phase, summary: PHASE_SUMMARY[phase] });
    const target = this.bundles.targets[phase];
    // Every target passes the whole check chain at the moment it is written (exit 3 otherwise).
    assertNoErrors(runChecks(target, now, rotationCheckPolicy(this.record.policy)));
    const targetTexts = target.toTexts();
    const read = await this.backend.store.read();
    if (read.state === 'complete' && sameTexts(read.texts, targetTexts)) {
      await this.backend.completeInterruptedWrite?.();
      const written = recordWritten(recordIntent(this.record, phase, read.version, now), phase, read.version, now);
      await this.save(written);
      this.report({ kind: 'written', phase, version: read.version, alreadyThere: true });
      return false;
    }
    const fromVersion = this.requireExpected(phase, read);
    await this.save(recordIntent(this.record, phase, fromVersion, now));
    const writeTexts = phase === 'switch-issuer' && read.state === 'complete' ? withRenewedJwtKey(targetTexts, read.texts, now) : targetTexts;
    const result = await this.backend.store.write(writeTexts, { expectedVersion: fromVersion, backup: this.record.backup === undefined });
    const backup = result.backup === undefined ? undefined : { name: result.backup.name, location: result.backup.location };
    await this.save(recordWritten(this.record, phase, result.version, this.now(), backup));
    this.report({ kind: 'written', phase, version: result.version, alreadyThere: false, ...(backup ? { backup: backup.location } : {}) });
    return false;
  }

  /** After a crash between intent and write: did the write happen? */
  private async reconcile(phase: WritePhase): Promise<void> {
    const targetTexts = this.bundles.targets[phase].toTexts();
    const read = await this.backend.store.read();
    if (read.state === 'complete' && sameTexts(read.texts, targetTexts)) {
      this.report({ kind: 'resumed', phase, found: 'written' });
      // Killed between the two halves of a write (Kubernetes: Secret, then ConfigMap): finish it.
      await this.backend.completeInterruptedWrite?.();
      const backup = this.record.backup === undefined ? await this.findOriginalBackup() : undefined;
      await this.save(recordWritten(this.record, phase, read.version, this.now(), backup));
      return;
    }
    this.requireExpected(phase, read);
    this.report({ kind: 'resumed', phase, found: 'not-written' });
    // Not written: clear the intent; the next step writes again (with the version just read).
    const { startedAt: _s, fromVersion: _f, ...rest } = this.record.phases[phase];
    await this.save({ ...this.record, phases: { ...this.record.phases, [phase]: rest } });
  }

  /** Propagation, restarts and convergence. True when the run stops here (`until`). */
  private async converge(phase: WritePhase): Promise<boolean> {
    const progress = this.record.phases[phase];
    const ctx: PhaseContext = {
      record: this.record,
      writtenAt: new Date(progress.writtenAt as string),
      signal: this.signal,
      report: this.report,
    };
    await this.backend.waitForPropagation(phase, ctx);
    this.throwIfInterrupted();
    await this.backend.restartControlPlane(phase, ctx);
    this.throwIfInterrupted();
    await this.backend.restartApps(phase, ctx);
    this.throwIfInterrupted();
    const result = await this.backend.confirmConverged(phase, this.bundles.targets[phase], ctx);
    this.throwIfInterrupted();
    const now = this.now();
    const retireAfter = phase === 'switch-issuer'
      ? computeRetireAfter(now, oldChainEnd(this.bundles.original), this.record.policy)
      : undefined;
    await this.save(recordCompleted(this.record, phase, result.note, now, retireAfter));
    this.report({ kind: 'converged', phase, confirmed: result.confirmed, note: result.note });
    return this.stopAfter(phase);
  }

  private stopAfter(phase: WritePhase): boolean {
    if (this.opts.until !== phase) return false;
    this.report({ kind: 'stopped-after', phase });
    return true;
  }

  /** The store must hold what the rotation left there; returns its version. */
  private requireExpected(phase: WritePhase, read: BundleReadResult): string {
    const expected = expectedBefore(this.record, this.bundles.targets, phase);
    if (read.state === 'complete' && sameTexts(read.texts, expected)) return read.version;
    const found = read.state === 'complete' ? 'a different bundle' : `a ${read.state} bundle`;
    throw divergedError(this.record, this.backend, `before ${phase}: found ${found}`);
  }

  /** The backup the first write took, found by content (a crash lost its name). */
  private async findOriginalBackup(): Promise<{ name: string; location: string } | undefined> {
    let refs: BackupRef[];
    try {
      refs = await this.backend.store.listBackups();
    } catch {
      return undefined;
    }
    for (const ref of refs.slice(0, 5)) {
      const texts = await this.backend.store.readBackup(ref.name).catch(() => undefined);
      if (texts !== undefined && sameTexts(texts, this.record.original.texts)) return { name: ref.name, location: ref.location };
    }
    return undefined;
  }

  private throwIfInterrupted(): void {
    if (!this.signal.aborted) return;
    const step = nextStep(this.record, this.now());
    const where = step.kind === 'done' || step.kind === 'finish' ? 'at the end' : `before ${step.kind} of ${step.phase}`;
    throw new WardenError(
      'ERR_ROTATION_INTERRUPTED',
      `Rotation stopped ${where}; the journal (${this.backend.journal.description}) is consistent. Continue with \`${commandOf(this.backend, 'rotate', ['--resume'])}\`.`,
    );
  }
}

/**
 * The store contents a rotation can explain: what the next step expects to find, or, when a write
 * was started, that write's target. Anything else means someone changed the bundle meanwhile.
 */
export function explainableStoreTexts(record: RotationRecord, targets: PhaseTargets): BundleTexts[] {
  const next = nextStep(record, new Date(record.updatedAt));
  if (next.kind === 'done' || next.kind === 'finish') return [targets['retire-old-root'].toTexts()];
  if (next.kind === 'converge') return [targets[next.phase].toTexts()];
  const texts = [expectedBefore(record, targets, next.phase)];
  if (next.kind === 'reconcile') texts.push(targets[next.phase].toTexts());
  return texts;
}

/**
 * The store no longer holds what the rotation left there. The way back is the backup of the bundle
 * from before the rotation, named: the newest backup is whatever the other writer replaced.
 */
export function divergedError(record: RotationRecord, backend: Pick<RotationBackend, 'store' | 'commandLine'>, found: string): WardenError {
  const rollback = commandOf(backend, 'rollback', record.backup ? ['--backup', record.backup.name] : []);
  const restore = record.backup
    ? `restore the bundle from before the rotation with \`${rollback}\``
    : `restore the bundle from before the rotation (the backup whose root is the old one; \`${commandOf(backend, 'backups')}\` lists them) with \`${rollback} --backup NAME\``;
  return new WardenError(
    'ERR_ROTATION_DIVERGED',
    `The trust bundle in ${backend.store.description} is not what rotation ${record.id} left there ${found}. ` +
      `Someone changed it meanwhile; nothing was written. Inspect it with \`${commandOf(backend, 'doctor')}\`, ${restore}, then start the rotation again.`,
  );
}

/**
 * The JWT signing key is renewed with the issuer (src/core/jwt-rotation.ts), so the switch-issuer
 * write also renews a stored JWT pair, keeping the old public key published (retired) until its
 * last token has expired. Decided at write time, from what the store holds then: the phases compare
 * only the X.509 texts (`sameTexts`), and the later targets carry no JWT texts, so the store keeps
 * the renewed pair. A pair that does not parse is left alone.
 */
function withRenewedJwtKey(target: BundleTexts, stored: BundleTexts, now: Date): BundleTexts {
  if (!hasJwtTexts(stored)) return target;
  try {
    return { ...target, ...jwtMaterialToTexts(rotateJwtMaterial(parseJwtMaterial(stored), { now })) };
  } catch {
    return target;
  }
}
