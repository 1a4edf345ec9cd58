/** Shared kit for the rotation tests: bundles, temp credential dirs, a clock-advancing sleeper, records, a recording backend. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrustBundle } from '../../src/core/bundle.js';
import { generateTrustBundle } from '../../src/core/bundle.js';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { FixedClock, type Clock } from '../../src/core/clock.js';
import type { WritePhase } from '../../src/core/rotation-phases/phases.js';
import { createRotationRecord, type RotationRecord, type RotationSettings } from '../../src/core/rotation-phases/record.js';
import type { PhaseEstimate } from '../../src/core/rotation-phases/schedule.js';
import type { ConvergenceResult, PhaseContext, RotationBackend, Sleeper } from '../../src/rotation-engine/backend.js';
import { defaultJournalDir, FileJournalStore, type JournalStore } from '../../src/rotation-engine/journal.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import type { TrustBundleStore } from '../../src/stores/store.js';

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
export const T0 = new Date('2026-06-01T12:00:00Z');

/** A fresh bundle as the sentry would generate it, at the clock's time. */
export function makeBundle(clock: Clock, opts: { validityMs?: number; trustDomain?: string; clockSkewMs?: number } = {}): TrustBundle {
  return generateTrustBundle({
    clock,
    trustDomain: opts.trustDomain ?? 'cluster.local',
    namespace: 'dapr-system',
    validityMs: opts.validityMs ?? 365 * DAY,
    clockSkewMs: opts.clockSkewMs ?? 15 * 60_000,
  }).bundle;
}

/** A temp directory removed after the test. */
export async function tempDir(t: { after(fn: () => Promise<void>): void }, prefix = 'warden-rot-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Sleeps by moving a FixedClock; records every request. */
export class ClockSleeper implements Sleeper {
  readonly calls: number[] = [];
  constructor(private readonly clock: FixedClock, private readonly onSleep?: (ms: number) => void) {}
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.calls.push(ms);
    if (signal?.aborted) return;
    this.onSleep?.(ms);
    this.clock.advance(Math.max(0, ms));
  }
}

export const SETTINGS: RotationSettings = { propagationDelayMs: 10_000, timeoutMs: 60_000, force: false };
export const POLICY = { workloadTtlMs: DAY, clockSkewMs: 15 * 60_000 };

/** A planned rotation of `original` to `material`, stored at `version`. */
export function planRecord(original: TrustBundle, material: TrustBundle, version: string, now: Date, settings: Partial<RotationSettings> = {}): RotationRecord {
  const m = material.toTexts();
  return createRotationRecord({
    id: 'test-rotation',
    now,
    store: 'test store',
    policy: POLICY,
    settings: { ...SETTINGS, ...settings },
    original: { texts: original.toTexts(), version },
    material: { source: 'fresh', anchorsPem: m.ca, issuerCertPem: m.issuerCert, issuerKeyPem: m.issuerKey },
  });
}

export interface BackendCall {
  step: 'propagation' | 'restart-cp' | 'restart-apps' | 'converge';
  phase: WritePhase;
  at: number;
  expectedIssuerSerial?: string;
}

/** A backend over a real store and journal that records its calls; convergence as configured. */
export class RecordingBackend implements RotationBackend {
  readonly mode = 'test';
  readonly calls: BackendCall[] = [];
  converge: (phase: WritePhase, expected: TrustBundle) => Promise<ConvergenceResult> = async () => ({ confirmed: true, note: 'test' });

  constructor(readonly store: TrustBundleStore, readonly journal: JournalStore, private readonly clock: Clock, private readonly sleeper: Sleeper) {}

  async waitForPropagation(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    this.calls.push({ step: 'propagation', phase, at: this.clock.now().getTime() });
    const remaining = ctx.writtenAt.getTime() + ctx.record.settings.propagationDelayMs - this.clock.now().getTime();
    if (remaining > 0) await this.sleeper.sleep(remaining, ctx.signal);
  }

  async restartControlPlane(phase: WritePhase): Promise<void> {
    this.calls.push({ step: 'restart-cp', phase, at: this.clock.now().getTime() });
  }

  async restartApps(phase: WritePhase): Promise<void> {
    this.calls.push({ step: 'restart-apps', phase, at: this.clock.now().getTime() });
  }

  async confirmConverged(phase: WritePhase, expected: TrustBundle): Promise<ConvergenceResult> {
    this.calls.push({ step: 'converge', phase, at: this.clock.now().getTime(), expectedIssuerSerial: expected.issuer.serialHex });
    return this.converge(phase, expected);
  }

  estimate(_phase: WritePhase, settings: RotationSettings): PhaseEstimate {
    return { propagationMs: settings.propagationDelayMs, restartMs: 0, convergenceMs: 0 };
  }
}

/** A credentials dir holding `bundle`, with its store and journal. */
export async function setupStore(dir: string, bundle: TrustBundle, clock: Clock): Promise<{ store: FsTrustBundleStore; journal: FileJournalStore; version: string }> {
  const store = new FsTrustBundleStore({ dir, clock });
  const { version } = await store.write(bundle.toTexts(), { expectedVersion: null });
  return { store, journal: new FileJournalStore(defaultJournalDir(dir)), version };
}

export function texts(bundle: TrustBundle): BundleTexts {
  return bundle.toTexts();
}

export { FixedClock };
