/**
 * The directory site: the bundle is a credentials directory (FsTrustBundleStore), the journal and
 * its lock a file beside it, backups in `<dir>/.backup`. Nothing is restarted: a sentry reloads
 * the directory by itself, and daprd processes (which read DAPR_TRUST_ANCHORS only at start) are
 * the operator's to restart, so the site says which and how.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCertificatesPem } from '../../core/certificate.js';
import { WardenError } from '../../core/errors.js';
import type { RotationSettings } from '../../core/rotation-phases/record.js';
import { systemTimers } from '../../sidecar-client/timers.js';
import { SelfHostedBackend } from '../../rotation-engine/backends/self-hosted.js';
import type { AnchorsFileFact, DoctorFacts, FixStep, HealthFact } from '../../rotation-engine/diagnose.js';
import { defaultJournalDir, FileJournalStore } from '../../rotation-engine/journal.js';
import { anchorsPemOf, type SentryProbeTarget } from '../../rotation-engine/sentry-compare.js';
import { FsTrustBundleStore } from '../../stores/fs-store.js';
import { resolveBundleLocation, type BundleLocation } from '../bundle-source.js';
import type { Io } from '../io.js';
import type { CredentialOptions } from '../options.js';
import { printStatus } from '../output.js';
import { buildRenewBundle } from '../renew/build-plan.js';
import { resolveRotationPolicy, resolveSettings } from '../commands/rotate-options.js';
import {
  fileNameArgs, renderSiteFix, shellLine, shellQuote, type DoctorExtras, type DoctorSiteOptions, type RollbackRestarts, type RotationInputs, type RotationRuntime,
  type RotationSiteOptions, type Site, type SiteOptions,
} from './site.js';

export function openDirectorySite(opts: SiteOptions & CredentialOptions, io: Io, runtime: RotationRuntime): DirectorySite {
  return new DirectorySite(resolveBundleLocation(opts, io), opts, io, runtime);
}

/** The sentry to probe, from the rotation's settings. */
export function sentryTargetOf(settings: Record<string, unknown>): SentryProbeTarget | undefined {
  const address = settings.sentryAddress;
  if (typeof address !== 'string' || address === '') return undefined;
  const target: SentryProbeTarget = { address };
  if (typeof settings.controlPlaneTrustDomain === 'string') target.controlPlaneTrustDomain = settings.controlPlaneTrustDomain;
  if (typeof settings.controlPlaneNamespace === 'string') target.controlPlaneNamespace = settings.controlPlaneNamespace;
  return target;
}

export class DirectorySite implements Site {
  readonly kind = 'directory';
  readonly store: FsTrustBundleStore;
  readonly journal: FileJournalStore;
  readonly sleeper;
  readonly journalWhere: string;
  readonly jsonWhere: Record<string, unknown>;
  readonly noBackups: string;
  private readonly credentials: string[];

  constructor(readonly loc: BundleLocation, opts: Partial<CredentialOptions>, io: Io, private readonly runtime: RotationRuntime) {
    this.store = new FsTrustBundleStore({ dir: loc.dir, caFile: loc.caFile, issuerCertFile: loc.issuerCertFile, issuerKeyFile: loc.issuerKeyFile, clock: io.clock });
    this.credentials = credentialArgs(loc, opts);
    this.journal = new FileJournalStore(defaultJournalDir(loc.dir), (sub, args) => this.commandLine(sub, args));
    this.sleeper = runtime.sleeper ?? systemTimers;
    this.journalWhere = this.journal.path;
    this.jsonWhere = { directory: loc.dir };
    this.noBackups = `No backups in ${loc.dir}/.backup (Warden backs a bundle up whenever it replaces it)`;
  }

  commandLine(sub: string, args: readonly string[] = []): string {
    return shellLine(['warden', 'mtls', sub, ...args, ...this.credentials]);
  }

  /** `warden sentry` on this directory, listening where doctor probed it. */
  private sentryLine(fix: { port?: number; healthzPort?: number }): string {
    const ports = [...(fix.port !== undefined ? ['--port', String(fix.port)] : []), ...(fix.healthzPort !== undefined ? ['--healthz-port', String(fix.healthzPort)] : [])];
    return shellLine(['warden', 'sentry', ...this.credentials, ...ports]);
  }

  renderFix(fix: FixStep): string {
    const ca = shellQuote(this.loc.caPath);
    const common = renderSiteFix(this, fix);
    if (common !== undefined) return common;
    switch (fix.kind) {
      case 'start-sentry':
        return this.sentryLine(fix);
      case 'restart-sentry':
        return `restart the sentry (stop it, then: ${this.sentryLine(fix)})`;
      case 'copy-anchors':
        return `cp ${ca} ${shellQuote(fix.to)}`;
      case 'restart-daprd':
        return `export DAPR_TRUST_ANCHORS="$(cat ${ca})"  # then restart every daprd (it reads its trust anchors only at start)`;
      default:
        return '';
    }
  }

  async rotationInputs(opts: RotationSiteOptions, io: Io, renewOpts: Parameters<Site['rotationInputs']>[2], source: Parameters<Site['rotationInputs']>[3]): Promise<RotationInputs> {
    return {
      policy: await resolveRotationPolicy(opts, io),
      settings: resolveSettings(opts),
      buildMaterial: (current) => buildRenewBundle(renewOpts, source, current, io),
      json: {},
    };
  }

  resumeSettings(opts: RotationSiteOptions, base: RotationSettings): RotationSettings {
    return resolveSettings(opts, base);
  }

  createBackend(settings: RotationSettings, io: Io, runtime: RotationRuntime): SelfHostedBackend {
    const sentry = sentryTargetOf(settings);
    return new SelfHostedBackend({
      store: this.store,
      journal: this.journal,
      clock: io.clock,
      sleeper: this.sleeper,
      caPath: this.loc.caPath,
      commandLine: (sub, args) => this.commandLine(sub, args),
      ...(sentry ? { sentry } : {}),
      ...(runtime.probe ? { probe: runtime.probe } : {}),
      ...(runtime.pollIntervalMs !== undefined ? { pollIntervalMs: runtime.pollIntervalMs } : {}),
    });
  }

  async rollbackRestarts(): Promise<RollbackRestarts> {
    return {
      run: async (io, change) => {
        if (change.written && change.caChanged) {
          printStatus(io, 'info', `A running sentry reloads it by itself. ca.crt changed: restart every daprd with: export DAPR_TRUST_ANCHORS="$(cat ${shellQuote(this.loc.caPath)})"`);
        } else if (change.written) {
          printStatus(io, 'info', 'A running sentry reloads it by itself; ca.crt is unchanged, so daprd keeps working without a restart');
        }
      },
    };
  }

  async doctorExtras(opts: DoctorSiteOptions, io: Io, facts: DoctorFacts, runtime: RotationRuntime): Promise<DoctorExtras> {
    if (opts.sentryAddress !== undefined && facts.bundle.state === 'complete') {
      const target = sentryTargetOf({ ...opts }) as SentryProbeTarget;
      const probe = runtime.probe ?? this.runtime.probe ?? (await import('../../rotation-engine/sentry-probe.js')).probeSentry;
      facts.sentry = { address: target.address, result: await probe(target, anchorsPemOf(facts.bundle.bundle)) };
    }
    if (opts.healthzUrl !== undefined) facts.health = await healthFact(opts.healthzUrl);
    for (const path of opts.trustAnchors ?? []) facts.anchorsFiles.push(await anchorsFileFact(resolve(io.cwd, path)));
    return { diagnoses: [] };
  }

  describeBundleProblem(problem: 'absent' | 'partial' | 'invalid', detail: string): WardenError {
    const loc = this.loc;
    if (problem === 'absent') {
      return new WardenError('ERR_BUNDLE_NOT_FOUND',
        `no trust bundle in ${loc.dir} (${loc.caFile}, ${loc.issuerCertFile} and ${loc.issuerKeyFile} are missing); ` +
          `point --issuer-credentials at the directory that holds it, or create one with \`${this.commandLine('renew-certificate')}\``);
    }
    if (problem === 'partial') {
      return new WardenError('ERR_BUNDLE_PARTIAL',
        `incomplete trust bundle in ${loc.dir}: ${detail}; restore a backup with \`${this.commandLine('rollback')}\`, ` +
          `or replace the bundle with \`${this.commandLine('renew-certificate', ['--force'])}\``);
    }
    return new WardenError('ERR_BUNDLE_INVALID',
      `The current bundle in ${loc.dir} does not parse (${detail}), so there is no old issuer to keep while the new root ` +
        `spreads: replace it in one step with \`${this.commandLine('renew-certificate')}\`, or restore a backup with \`${this.commandLine('rollback')}\`.`);
  }
}

/** `--issuer-credentials DIR` plus any non-default file-name flags. */
export function credentialArgs(loc: BundleLocation, opts: Partial<CredentialOptions>): string[] {
  return ['--issuer-credentials', loc.dir, ...fileNameArgs(opts)];
}

async function healthFact(url: string): Promise<HealthFact> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { url, status: res.status, body: await res.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { url, error: cause ?? (error as Error).message };
  }
}

async function anchorsFileFact(path: string): Promise<AnchorsFileFact> {
  try {
    return { path, anchors: parseCertificatesPem(await readFile(path)) };
  } catch (error) {
    return { path, error: (error as Error).message };
  }
}
