/**
 * Opens what a self-hosted rotation works on: the bundle directory's store, the journal beside it
 * and the backend; plus the pieces tests inject (a sleeper, a probe, a stop signal).
 */
import { systemTimers } from '../../identity/timers.js';
import type { RotationSettings } from '../../core/rotation/record.js';
import type { Sleeper } from '../../rotation/backend.js';
import { SelfHostedBackend } from '../../rotation/backends/self-hosted.js';
import { defaultJournalDir, FileJournalStore } from '../../rotation/journal.js';
import type { ProbeResult, SentryProbeTarget } from '../../rotation/sentry-compare.js';
import { FsTrustBundleStore } from '../../stores/fs-store.js';
import type { BundleLocation } from '../bundle-source.js';
import type { Io } from '../io.js';

/** What tests inject into the rotation commands; the CLI uses the defaults. */
export interface RotationRuntime {
  sleeper?: Sleeper;
  /** Aborts the rotation between steps (the CLI wires Ctrl-C to it). */
  signal?: AbortSignal;
  probe?: (target: SentryProbeTarget, anchorsPem: string) => Promise<ProbeResult>;
  pollIntervalMs?: number;
}

export interface SelfHostedSetup {
  store: FsTrustBundleStore;
  journal: FileJournalStore;
  sleeper: Sleeper;
}

export function openSelfHosted(loc: BundleLocation, io: Io, runtime: RotationRuntime): SelfHostedSetup {
  const store = new FsTrustBundleStore({
    dir: loc.dir,
    caFile: loc.caFile,
    issuerCertFile: loc.issuerCertFile,
    issuerKeyFile: loc.issuerKeyFile,
    clock: io.clock,
  });
  return { store, journal: new FileJournalStore(defaultJournalDir(loc.dir)), sleeper: runtime.sleeper ?? systemTimers };
}

/** The sentry to probe, from the rotation's settings. */
export function sentryTargetOf(settings: RotationSettings): SentryProbeTarget | undefined {
  const address = settings.sentryAddress;
  if (typeof address !== 'string' || address === '') return undefined;
  const target: SentryProbeTarget = { address };
  if (typeof settings.controlPlaneTrustDomain === 'string') target.controlPlaneTrustDomain = settings.controlPlaneTrustDomain;
  if (typeof settings.controlPlaneNamespace === 'string') target.controlPlaneNamespace = settings.controlPlaneNamespace;
  return target;
}

export function createBackend(setup: SelfHostedSetup, loc: BundleLocation, io: Io, settings: RotationSettings, runtime: RotationRuntime): SelfHostedBackend {
  const sentry = sentryTargetOf(settings);
  return new SelfHostedBackend({
    store: setup.store,
    journal: setup.journal,
    clock: io.clock,
    sleeper: setup.sleeper,
    caPath: loc.caPath,
    ...(sentry ? { sentry } : {}),
    ...(runtime.probe ? { probe: runtime.probe } : {}),
    ...(runtime.pollIntervalMs !== undefined ? { pollIntervalMs: runtime.pollIntervalMs } : {}),
  });
}

/**
 * An AbortSignal that fires on the first SIGINT (Ctrl-C) while `fn` runs: the rotation stops
 * between steps. A second Ctrl-C falls through to Node's default (exit at once).
 */
export async function withInterrupt<T>(io: Io, runtime: RotationRuntime, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (runtime.signal !== undefined) return fn(runtime.signal);
  const controller = new AbortController();
  const onSignal = (): void => {
    io.stderr('\nStopping after the current step (Ctrl-C again to abort at once)…\n');
    controller.abort();
    process.off('SIGINT', onSignal);
  };
  process.on('SIGINT', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
  }
}
