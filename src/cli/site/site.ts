/**
 * The site seam: what differs between a bundle in a directory and one in a cluster, behind one
 * interface, so `rotate`, `rollback`, `backups` and `doctor` are each one command (as the sentry's
 * `SentryBackend`). A site has the store, the journal and its lock, the backups, the restarts
 * (none for a directory; ordered waves for a cluster) and the messages: above all the printed
 * commands, which repeat the flags that address this same site so they run as printed.
 * open-site.ts picks one from the flags.
 */
import type { TrustRestartPolicy } from '../../kube/trust-restart-policy.js';
import type { WardenError } from '../../core/errors.js';
import type { RotationPolicy, RotationRecord, RotationSettings } from '../../core/rotation-phases/record.js';
import type { RotationBackend, Sleeper } from '../../rotation-engine/backend.js';
import type { DoctorFacts, FixStep } from '../../rotation-engine/diagnose.js';
import type { JournalStore } from '../../rotation-engine/journal.js';
import type { ProbeResult, SentryProbeTarget } from '../../rotation-engine/sentry-compare.js';
import type { TrustBundleStore } from '../../stores/store.js';
import type { Io } from '../io.js';
import type { KubeCliOptions } from '../kube-options.js';
import { DEFAULT_FILE_NAMES, type CredentialOptions } from '../options.js';
import type { RenewBundle } from '../renew/build-plan.js';
import type { CurrentBundle } from '../renew/current-bundle.js';
import type { RenewOptions, RenewSource } from '../renew/options.js';

/** What tests inject into the site commands; the CLI uses the defaults. */
export interface RotationRuntime {
  sleeper?: Sleeper;
  /** Aborts the rotation between steps (the CLI wires Ctrl-C to it). */
  signal?: AbortSignal;
  probe?: (target: SentryProbeTarget, anchorsPem: string) => Promise<ProbeResult>;
  pollIntervalMs?: number;
}

/** Every flag a site command may get (each command reads its own). */
export interface SiteOptions extends KubeCliOptions, Partial<CredentialOptions> {
  backupDir?: string;
  appNamespaces?: string[];
  maxConcurrentRestarts?: number;
  /** rotate -k `--restarts`: what may be restarted so every pod trusts the new root. */
  restarts?: TrustRestartPolicy;
  /** rotate -k `--distribute-trust`: write dapr-root-ca.crt to every namespace with Dapr apps. */
  distributeTrust?: boolean;
  /** rollback -k: false restarts nothing (`--no-restart`). */
  restart?: boolean;
  /** rollback -k: false restarts the control plane only. */
  restartApps?: boolean;
  /** ms: rollback's per-rollout wait. */
  timeout?: number;
  sentryAddress?: string;
}

/** What `rotate` needs from the site to plan a new rotation. */
export interface RotationInputs {
  policy: RotationPolicy;
  settings: RotationSettings;
  /** The new root and issuer, chosen as `renew-certificate` does at this site. */
  buildMaterial(current: CurrentBundle): Promise<RenewBundle>;
  /** A line on what each phase restarts, shown with the plan. */
  restartsNote?: string;
  /** Extra keys of `rotate --dry-run -o json`. */
  json: Record<string, unknown>;
  /** For the timeline estimate: how many apps a phase restarts. */
  appCount?: number;
}

/** What rollback found to restart before writing (so a missing right stops it early). */
export interface RollbackRestarts {
  /** After the backup is in place: restarts, or prints what to restart. */
  run(io: Io, change: { written: boolean; abandoned: boolean; caChanged: boolean; writtenAt: Date }): Promise<void>;
}

export interface DoctorExtras {
  /** Diagnoses only this site can make, with their fixes. */
  diagnoses: { id: string; severity: 'error' | 'warning' | 'info'; message: string; fixes: FixStep[] }[];
  /** Extra keys of `doctor -o json`, and text printed after the diagnoses (e.g. the per-pod trust table). */
  json?: Record<string, unknown>;
  text?: string;
}

export interface Site {
  readonly kind: 'directory' | 'cluster';
  readonly store: TrustBundleStore;
  /** The rotation journal and its lock. */
  readonly journal: JournalStore;
  readonly sleeper: Sleeper;
  /** The journal's place, for `--status` (a file path, or a Secret). */
  readonly journalWhere: string;
  /** Where the bundle is, for JSON output (`{directory}` or `{namespace, secret}`). */
  readonly jsonWhere: Record<string, unknown>;
  /** Why there are no backups, and where they would be. */
  readonly noBackups: string;
  /**
   * `warden mtls <sub> <args…>` plus the flags that address this site (`--issuer-credentials DIR`
   * and file names; `-k --kubeconfig F --context C --namespace N`): runnable as printed.
   */
  commandLine(sub: string, args?: readonly string[]): string;
  /** One doctor fix as the exact command (or instruction) to run here; '' when it does not apply. */
  renderFix(fix: FixStep): string;
  /** Policy, settings and material of a new rotation. */
  rotationInputs(opts: RotationSiteOptions, io: Io, renewOpts: RenewOptions, source: RenewSource): Promise<RotationInputs>;
  /** Settings given now on top of a journal's (`--resume`). */
  resumeSettings(opts: RotationSiteOptions, base: RotationSettings): RotationSettings;
  /** The engine's backend for this site. */
  createBackend(settings: RotationSettings, io: Io, runtime: RotationRuntime, estimate?: { appCount?: number }): RotationBackend;
  /** What a rollback restarts afterwards. */
  rollbackRestarts(opts: SiteOptions, io: Io, runtime: RotationRuntime): Promise<RollbackRestarts>;
  /** Facts and diagnoses only this site has (a probed sentry, anchors files; the ConfigMap, workloads). */
  doctorExtras(opts: DoctorSiteOptions, io: Io, facts: DoctorFacts, runtime: RotationRuntime): Promise<DoctorExtras>;
  /**
   * `rotate --status` extras only this site has (the cluster: per-pod trust convergence):
   * printed after the status, or merged into its JSON.
   */
  rotationStatusExtras?(record: RotationRecord | undefined): Promise<{ json: Record<string, unknown>; text: string } | undefined>;
  /** Parses `texts` of the bundle before a rotation, with this site's messages. */
  describeBundleProblem(problem: 'absent' | 'partial' | 'invalid', detail: string): WardenError;
}

export interface RotationSiteOptions extends SiteOptions {
  propagationDelay?: number;
  workloadTtl?: number;
  allowedClockSkew?: number;
  config?: string;
  force?: boolean;
  controlPlaneTrustDomain?: string;
  controlPlaneNamespace?: string;
}

export interface DoctorSiteOptions extends SiteOptions {
  workloadTtl?: number;
  config?: string;
  controlPlaneTrustDomain?: string;
  controlPlaneNamespace?: string;
  healthzUrl?: string;
  trustAnchors?: string[];
}

/**
 * The fixes that are `warden mtls` commands, the same at every site but for `renewArgs` (a cluster
 * also restarts); undefined for the site's own fixes.
 */
export function renderSiteFix(site: Pick<Site, 'commandLine'>, fix: FixStep, renewArgs: readonly string[] = []): string | undefined {
  switch (fix.kind) {
    case 'wait-rotation':
      return `wait for the running rotation (${fix.holder}) to finish; follow it with: ${site.commandLine('rotate', ['--status'])}`;
    case 'resume':
      return site.commandLine('rotate', ['--resume']);
    case 'rollback':
      return site.commandLine('rollback', [...(fix.backup ? ['--backup', fix.backup] : []), ...(fix.force ? ['--force'] : [])]);
    case 'renew':
      return site.commandLine('renew-certificate', [...(fix.force ? ['--force'] : []), ...renewArgs]);
    case 'rotate':
      return site.commandLine('rotate');
    default:
      return undefined;
  }
}

/** Non-default `--issuer-*-filename` flags (a directory's file names; a cluster's Secret keys). */
export function fileNameArgs(opts: Partial<CredentialOptions>, nameOf: (value: string) => string = (v) => v): string[] {
  const args: string[] = [];
  const names: [string, string | undefined, string][] = [
    ['--issuer-ca-filename', opts.issuerCaFilename, DEFAULT_FILE_NAMES.issuerCaFilename],
    ['--issuer-certificate-filename', opts.issuerCertificateFilename, DEFAULT_FILE_NAMES.issuerCertificateFilename],
    ['--issuer-key-filename', opts.issuerKeyFilename, DEFAULT_FILE_NAMES.issuerKeyFilename],
  ];
  for (const [flag, value, fallback] of names) if (value !== undefined && nameOf(value) !== fallback) args.push(flag, value);
  return args;
}

/** Quotes `arg` for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command as one shell line. */
export function shellLine(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
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

