/**
 * The cluster site: the bundle is the Secret + ConfigMap `dapr-trust-bundle` in Dapr's namespace
 * (KubeTrustBundleStore), the journal a Secret beside it with a lease lock, backups are Secrets.
 * Restarts are ordered waves: the control plane (dapr-sentry first), then every Dapr app, since
 * daprd reads its trust anchors only when it is injected. Printed commands repeat `-k` and the
 * cluster flags. Loaded only with `-k` (it brings in the Kubernetes client).
 */
import { basename } from 'node:path';
import { describeTime } from '../../core/checks/labels.js';
import type { Clock } from '../../core/clock.js';
import { parseGoDuration } from '../../core/duration.js';
import { WardenError } from '../../core/errors.js';
import type { WritePhase } from '../../core/rotation-phases/phases.js';
import type { RotationPolicy, RotationRecord, RotationSettings } from '../../core/rotation-phases/record.js';
import { systemTimers } from '../../sidecar-client/timers.js';
import type { KubeClients } from '../../kube/client.js';
import { findControlPlane, findDaprApps, type DaprApp } from '../../kube/restarts.js';
import { RESTARTED_AT_ANNOTATION, waitForRollout, waitPastSecondOf } from '../../kube/rollouts.js';
import { KUBE_PROPAGATION_DELAY_MS, kubeSettingsOf, KubeRotationBackend } from '../../rotation-engine/backends/kube.js';
import { DEFAULT_TRUST_RESTART_POLICY } from '../../kube/trust-restart-policy.js';
import { podNames, type PodTrust } from '../../kube/trust-convergence.js';
import { readSiteTrust, trustHeadline, type SiteTrust } from './cluster-trust.js';
import type { DoctorFacts, FixStep } from '../../rotation-engine/diagnose.js';
import { KubeJournalStore } from '../../rotation-engine/kube-journal.js';
import type { KubeTrustBundleStore } from '../../stores/kube-store.js';
import type { Io } from '../io.js';
import { openKubeSession } from '../kube-bundle.js';
import { printStatus } from '../output.js';
import { createProgressDisplay, type ProgressDisplay } from '../progress.js';
import { buildRenewBundle } from '../renew/build-plan.js';
import { clusterGenerationDefaults, connectToCluster, type KubeRenewContext } from '../renew/kube-context.js';
import type { KubeRestartPlan } from '../renew/kube-report.js';
import { runKubeRestarts } from '../renew/kube-restart-run.js';
import type { RenewOptions, RenewSource } from '../renew/options.js';
import { resolveRotationPolicy, resolveSettings } from '../commands/rotate-options.js';
import {
  fileNameArgs, renderSiteFix, shellLine, shellQuote, type DoctorExtras, type DoctorSiteOptions, type RollbackRestarts, type RotationInputs, type RotationRuntime,
  type RotationSiteOptions, type Site, type SiteOptions,
} from './site.js';

const DEFAULT_ROLLOUT_TIMEOUT_MS = 300_000;

/** The line shown with the plan: what each phase restarts under `--restarts`, and the trust gate. */
function restartsNote(settings: RotationSettings, apps: number): string {
  const { restarts, distributeTrust, maxConcurrent } = kubeSettingsOf(settings);
  const gate = `; before switch-issuer every running Dapr pod must trust the new root (--restarts ${restarts})${distributeTrust ? '; dapr-root-ca.crt is kept in sync in every namespace with Dapr apps' : ''}`;
  if (restarts === 'none') return `Restarts: none (--restarts none): every pod is waited for${gate}`;
  if (restarts === 'control-plane') return `Restarts: the control plane in order in add-anchor and switch-issuer; Dapr apps are waited for, not restarted${gate}`;
  return `Restarts: add-anchor: control plane in order, then ${apps} Dapr app(s) at most ${maxConcurrent} at a time (apps whose pods already trust the new root are left alone); ` +
    `switch-issuer: control plane in order; retire-old-root: the apps again${gate}`;
}
const DEFAULT_MAX_CONCURRENT = 5;

export async function openClusterSite(opts: SiteOptions, io: Io, runtime: RotationRuntime): Promise<ClusterSite> {
  if (opts.issuerCredentials !== undefined) {
    throw new WardenError('ERR_USAGE', '--issuer-credentials names a self-hosted bundle directory; with -k the bundle is the Secret and ConfigMap dapr-trust-bundle in Dapr\'s namespace (--namespace)');
  }
  const session = await openKubeSession({ ...opts, ...(opts.backupDir !== undefined ? { backupDir: opts.backupDir } : {}) }, io);
  return new ClusterSite(session.clients, session.namespace, session.store, opts, runtime, io.clock);
}

export class ClusterSite implements Site {
  readonly kind = 'cluster';
  readonly journal: KubeJournalStore;
  readonly sleeper;
  readonly journalWhere: string;
  readonly jsonWhere: Record<string, unknown>;
  readonly noBackups: string;
  private readonly flags: string[];

  constructor(readonly clients: KubeClients, readonly namespace: string, readonly store: KubeTrustBundleStore, private readonly opts: SiteOptions, runtime: RotationRuntime, clock?: Clock) {
    this.flags = clusterArgs(opts);
    this.journal = new KubeJournalStore({ clients, namespace, commandLine: (sub, args) => this.commandLine(sub, args), ...(clock ? { clock } : {}) });
    this.sleeper = runtime.sleeper ?? systemTimers;
    this.journalWhere = this.journal.description;
    this.jsonWhere = { namespace, secret: store.secretName };
    this.noBackups = `No backup Secrets (${store.secretName}-backup-*) in ${namespace} (Warden backs the bundle up whenever it replaces it)`;
  }

  commandLine(sub: string, args: readonly string[] = []): string {
    return shellLine(['warden', 'mtls', sub, ...this.flags, ...args]);
  }

  renderFix(fix: FixStep): string {
    const ns = shellQuote(this.namespace);
    const common = renderSiteFix(this, fix, ['--restart', '--restart-apps']);
    if (common !== undefined) return common;
    switch (fix.kind) {
      case 'start-sentry':
      case 'restart-sentry':
        return `kubectl rollout restart deployment/dapr-sentry -n ${ns}${this.kubectlFlags()} && kubectl rollout status deployment/dapr-sentry -n ${ns}${this.kubectlFlags()}`;
      case 'copy-configmap': {
        const key = this.store.keys.ca.replace(/\./g, '\\.');
        return `kubectl get secret ${this.store.secretName} -n ${ns}${this.kubectlFlags()} -o jsonpath='{.data.${key}}' | base64 -d > ca.crt && ` +
          `kubectl create configmap ${this.store.configMapName} -n ${ns} --from-file=${this.store.keys.ca}=ca.crt --dry-run=client -o yaml | kubectl apply${this.kubectlFlags()} -f -`;
      }
      case 'restart-apps':
        return `kubectl rollout restart -n ${shellQuote(fix.namespace)}${this.kubectlFlags()} ${fix.workloads.map(shellQuote).join(' ')}`;
      default:
        return '';
    }
  }

  /** kubectl's own spelling of --kubeconfig and --context. */
  private kubectlFlags(): string {
    const out: string[] = [];
    if (this.opts.kubeconfig !== undefined) out.push('--kubeconfig', this.opts.kubeconfig);
    if (this.opts.context !== undefined) out.push('--context', this.opts.context);
    return out.length === 0 ? '' : ` ${shellLine(out)}`;
  }

  async rotationInputs(opts: RotationSiteOptions, io: Io, renew: RenewOptions, source: RenewSource): Promise<RotationInputs> {
    const renewOpts: RenewOptions & SiteOptions = { ...renew, kubernetes: true, ...pick(opts, ['kubeconfig', 'context', 'namespace']) };
    const ctx = await connectToCluster(renewOpts, io);
    const settings = this.withClusterSettings(resolveSettings({ ...opts, propagationDelay: opts.propagationDelay ?? KUBE_PROPAGATION_DELAY_MS }), opts);
    const apps = await this.findApps(opts.appNamespaces);
    return {
      policy: await clusterPolicy(opts, io, ctx),
      settings,
      buildMaterial: (current) => buildRenewBundle(renewOpts, source, current, io, clusterGenerationDefaults(ctx, current, renewOpts, source, io)),
      restartsNote: restartsNote(settings, apps.length),
      json: { namespace: this.namespace, journal: this.journal.description, apps: apps.length },
      appCount: apps.length,
    };
  }

  resumeSettings(opts: RotationSiteOptions, base: RotationSettings): RotationSettings {
    return this.withClusterSettings(resolveSettings(opts, base), opts);
  }

  /** Kubernetes settings kept in the journal (--resume may override some). */
  private withClusterSettings(settings: RotationSettings, opts: SiteOptions): RotationSettings {
    const out: RotationSettings = { ...settings, mode: 'kubernetes', namespace: this.namespace };
    if (opts.maxConcurrentRestarts !== undefined) out.maxConcurrentRestarts = opts.maxConcurrentRestarts;
    else if (out.maxConcurrentRestarts === undefined) out.maxConcurrentRestarts = DEFAULT_MAX_CONCURRENT;
    if (opts.appNamespaces !== undefined) out.appNamespaces = opts.appNamespaces.join(',');
    if (opts.restarts !== undefined) out.restarts = opts.restarts;
    else if (out.restarts === undefined) out.restarts = DEFAULT_TRUST_RESTART_POLICY;
    if (opts.distributeTrust === true) out.distributeTrust = true;
    return out;
  }

  private findApps(namespaces: string[] | undefined): Promise<DaprApp[]> {
    return findDaprApps(this.clients, { ...(namespaces ? { namespaces } : {}), controlPlaneNamespace: this.namespace });
  }

  createBackend(_settings: RotationSettings, io: Io, runtime: RotationRuntime, estimate: { appCount?: number } = {}): KubeRotationBackend {
    const displays = new Map<WritePhase, ProgressDisplay>();
    return new KubeRotationBackend({
      clients: this.clients,
      namespace: this.namespace,
      store: this.store,
      journal: this.journal,
      clock: io.clock,
      sleeper: this.sleeper,
      commandLine: (sub, args) => this.commandLine(sub, args),
      ...(runtime.pollIntervalMs !== undefined ? { pollIntervalMs: runtime.pollIntervalMs } : {}),
      ...(estimate.appCount !== undefined ? { appCount: estimate.appCount } : {}),
      onRestartEvent: (phase, e) => {
        if (e.type === 'restarting') printStatus(io, 'info', `[${phase}] Restarting ${e.ref.name}..`);
        else if (e.type === 'restarted') printStatus(io, 'info', `[${phase}] ${e.ref.kind.toLowerCase()}/${e.ref.name} rolled out in ${(e.durationMs / 1000).toFixed(1)}s`);
        else if (e.type === 'skipped') printStatus(io, 'info', `[${phase}] ${e.name} is ${e.reason}; skipped`);
        else if (e.type === 'failed') printStatus(io, 'failure', `[${phase}] ${e.error.message}`);
        else if (e.type === 'status' && e.message.startsWith('already restarted')) printStatus(io, 'info', `[${phase}] ${e.ref.name}: ${e.message}`);
      },
      onApps: (phase, what) => {
        if (what.state === 'start') {
          const skipped = what.skipped > 0 ? ` (${what.skipped} already restarted after this phase's write)` : '';
          printStatus(io, 'pending', `[${phase}] Restarting ${what.total} Dapr app(s)${skipped}`);
          displays.set(phase, createProgressDisplay(io, false));
        } else {
          displays.get(phase)?.finish();
          printStatus(io, what.failed === 0 ? 'success' : 'failure',
            `[${phase}] ${what.restarted} Dapr app(s) restarted${what.failed > 0 ? `, ${what.failed} failed` : ''} (${(what.durationMs / 1000).toFixed(1)}s)`);
        }
      },
      onAppProgress: (phase, p) => displays.get(phase)?.update(p),
    });
  }

  async rollbackRestarts(opts: SiteOptions, _io: Io, runtime: RotationRuntime): Promise<RollbackRestarts> {
    // Found before writing, so a missing right to list or read workloads stops the rollback early.
    const plan: KubeRestartPlan = {
      controlPlane: opts.restart === false ? undefined : await findControlPlane(this.clients, this.namespace),
      apps: opts.restart === false || opts.restartApps === false ? undefined : await this.findApps(opts.appNamespaces),
      appNamespaces: opts.appNamespaces,
      maxConcurrent: opts.maxConcurrentRestarts ?? DEFAULT_MAX_CONCURRENT,
      timeoutMs: opts.timeout ?? DEFAULT_ROLLOUT_TIMEOUT_MS,
    };
    return {
      run: async (io, change) => {
        if (!change.written && !change.abandoned) return;
        if (plan.controlPlane === undefined) {
          printStatus(io, 'info', `Not restarted (--no-restart): restart dapr-sentry first, then the rest of the control plane${change.caChanged ? ', then every Dapr app' : ''}`);
          return;
        }
        if (!change.caChanged) plan.apps = undefined; // same trust anchors: the apps keep working
        await waitPastSecondOf(change.writtenAt, io.clock, runtime.sleeper ?? systemTimers);
        await runKubeRestarts(io, this.clients, this.namespace, plan, false);
      },
    };
  }

  async doctorExtras(opts: DoctorSiteOptions, _io: Io, facts: DoctorFacts): Promise<DoctorExtras> {
    const diagnoses: DoctorExtras['diagnoses'] = [];
    const read = await this.store.read();
    if ('anchorsMismatch' in read) diagnoses.push({ id: 'configmap-mismatch', severity: 'error', message: read.anchorsMismatch.message, fixes: [{ kind: 'copy-configmap' }] });
    const sentry = await this.sentryState();
    if (sentry !== undefined) diagnoses.push({ ...sentry, severity: 'error', fixes: sentry.id === 'sentry-missing' ? [] : [{ kind: 'restart-sentry' }] });
    const trust = await this.siteTrust(facts.rotation.record, facts.bundle.state === 'complete' ? facts.bundle.texts.ca : undefined, opts.appNamespaces)
      .catch((err: unknown) => {
        diagnoses.push({ id: 'pods-unreadable', severity: 'warning', message: `Cannot read the Dapr pods' trust anchors: ${(err as Error).message}`, fixes: [] });
        return undefined;
      });
    if (trust !== undefined && trust.report.pending.length > 0) {
      diagnoses.push({
        id: 'pods-not-converged', severity: 'error',
        message: `${trustHeadline(trust)}: ${podNames(trust.report.pending, 5)}. ` +
          (trust.required === 'rotation-new-root' ? 'The rotation does not switch the issuer until they do.' : 'Their sidecars reject peers whose certificates chain to the roots they lack.'),
        fixes: restartPodFixes(trust.report.pending),
      });
    }
    const perPod = trust !== undefined && trust.report.pods.some((p) => p.role === 'app');
    if (facts.bundle.state === 'complete' && !perPod) {
      const changedAt = await this.lastAnchorChange(facts.rotation.record, facts.bundle.texts.ca, facts.now);
      if (changedAt !== undefined) {
        const stale = (await this.findApps(opts.appNamespaces)).filter((a) => lastStart(a) < changedAt.getTime());
        if (stale.length > 0) {
          diagnoses.push({
            id: 'apps-on-old-anchors', severity: 'error',
            message: `${stale.length} Dapr app(s) have not been restarted since ca.crt last changed (${describeTime(changedAt)}): their sidecars still trust only the anchors they were injected with ` +
              `(${stale.slice(0, 5).map((a) => `${a.ref.namespace}/${a.ref.kind.toLowerCase()}/${a.ref.name}`).join(', ')}${stale.length > 5 ? ', …' : ''}).`,
            fixes: restartAppFixes(stale),
          });
        }
      }
    }
    return { diagnoses, ...(trust ? { json: { trustConvergence: trust.json }, text: trust.text } : {}) };
  }

  async rotationStatusExtras(record: RotationRecord | undefined): Promise<{ json: Record<string, unknown>; text: string } | undefined> {
    const read = await this.store.read();
    const appNamespaces = typeof record?.settings.appNamespaces === 'string' && record.settings.appNamespaces !== '' ? record.settings.appNamespaces.split(',') : this.opts.appNamespaces;
    let trust: SiteTrust | undefined;
    try {
      trust = await this.siteTrust(record, read.state === 'complete' ? read.texts.ca : undefined, appNamespaces);
    } catch (err) {
      const { code = 'ERR_KUBE_API', message } = err as { code?: string; message: string };
      return { json: { trustConvergence: { error: { code, message } } }, text: `⚠️  Cannot read the Dapr pods' trust anchors: ${message}\n` };
    }
    if (trust === undefined) return undefined;
    return { json: { trustConvergence: trust.json }, text: `${trustHeadline(trust)}\n${trust.text}` };
  }

  private siteTrust(record: RotationRecord | undefined, ca: string | undefined, appNamespaces: string[] | undefined): Promise<SiteTrust | undefined> {
    return readSiteTrust({ clients: this.clients, namespace: this.namespace, appNamespaces, ca, record, kubectlFlags: this.kubectlFlags() });
  }

  /** dapr-sentry missing, or not rolled out and ready; undefined when fine. */
  private async sentryState(): Promise<{ id: string; message: string } | undefined> {
    const ns = this.namespace;
    try {
      await waitForRollout(this.clients, { kind: 'Deployment', namespace: ns, name: 'dapr-sentry' }, { timeoutMs: 1500 });
      return undefined;
    } catch (error) {
      const message = (error as Error).message;
      if (/not found/i.test(message)) {
        return { id: 'sentry-missing', message: `There is no Deployment dapr-sentry in ${ns}: nothing signs workload certificates. Reinstall the Dapr control plane (helm upgrade --install dapr dapr/dapr -n ${ns}).` };
      }
      return { id: 'sentry-unhealthy', message: `Deployment dapr-sentry in ${ns} is not rolled out and ready: ${message}. Its log says why (kubectl logs -n ${ns} deploy/dapr-sentry); it refuses a bundle that fails its checks.` };
    }
  }

  /** When ca.crt last changed: the journal's last anchor write, else the newest backup with another ca.crt. */
  private async lastAnchorChange(record: RotationRecord | undefined, ca: string, _now: Date): Promise<Date | undefined> {
    const times: number[] = [];
    if (record !== undefined && record.status !== 'rolled-back') {
      for (const phase of ['add-anchor', 'retire-old-root'] as const) {
        const at = record.phases[phase].writtenAt;
        if (at !== undefined) times.push(Date.parse(at));
      }
    }
    for (const ref of await this.store.listBackups()) {
      const texts = await this.store.readBackup(ref.name).catch(() => undefined);
      if (texts === undefined) continue;
      if (texts.ca === ca) continue;
      times.push(ref.createdAt.getTime());
      break;
    }
    return times.length === 0 ? undefined : new Date(Math.max(...times));
  }

  describeBundleProblem(problem: 'absent' | 'partial' | 'invalid', detail: string): WardenError {
    const where = this.store.secretRef;
    const renew = this.commandLine('renew-certificate', ['--restart', '--restart-apps']);
    if (problem === 'absent') {
      return new WardenError('ERR_BUNDLE_NOT_FOUND', `${where} holds no trust bundle: there is nothing to rotate. Create one with \`${this.commandLine('renew-certificate')}\`.`);
    }
    if (problem === 'partial') {
      return new WardenError('ERR_BUNDLE_PARTIAL',
        `incomplete trust bundle in ${where}: ${detail}. Restore a backup with \`${this.commandLine('rollback')}\`, ` +
          `or replace the bundle in one step with \`${this.commandLine('renew-certificate', ['--force', '--restart', '--restart-apps'])}\`; nothing was written`);
    }
    return new WardenError('ERR_BUNDLE_INVALID',
      `The current bundle in ${where} does not parse (${detail}), so there is no old issuer to keep while the new root ` +
        `spreads: replace it in one step with \`${renew}\`, or restore a backup with \`${this.commandLine('rollback')}\`.`);
  }
}

/** The cluster flags the operator gave (and Secret key names), to repeat in printed commands. */
export function clusterArgs(opts: SiteOptions): string[] {
  const args = ['-k'];
  if (opts.kubeconfig !== undefined) args.push('--kubeconfig', opts.kubeconfig);
  if (opts.context !== undefined) args.push('--context', opts.context);
  if (opts.namespace !== undefined) args.push('--namespace', opts.namespace);
  // The Secret's keys are named after these (as Dapr's Sentry does).
  return [...args, ...fileNameArgs(opts, basename)];
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Workload TTL and clock skew: flags, else --config, else the daprsystem Configuration, else Dapr's defaults. */
async function clusterPolicy(opts: RotationSiteOptions, io: Io, ctx: KubeRenewContext): Promise<RotationPolicy> {
  const base = await resolveRotationPolicy(opts, io);
  if (opts.config !== undefined) return base;
  const fromCluster = (value: string | undefined, what: string): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseGoDuration(value);
    } catch {
      printStatus(io, 'warning', `The daprsystem Configuration's ${what} "${value}" is not a duration; using Dapr's default`);
      return undefined;
    }
  };
  return {
    workloadTtlMs: opts.workloadTtl ?? fromCluster(ctx.system?.workloadCertTTL, 'spec.mtls.workloadCertTTL') ?? base.workloadTtlMs,
    clockSkewMs: opts.allowedClockSkew ?? fromCluster(ctx.system?.allowedClockSkew, 'spec.mtls.allowedClockSkew') ?? base.clockSkewMs,
  };
}

/** When the workload's pods were last (re)created by a restart or its creation, at the latest. */
function lastStart(app: DaprApp): number {
  const restarted = Date.parse(app.current.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] ?? '');
  const created = app.current.metadata?.creationTimestamp;
  const createdMs = created === undefined ? NaN : new Date(created).getTime();
  return Math.max(Number.isFinite(restarted) ? restarted : -Infinity, Number.isFinite(createdMs) ? createdMs : -Infinity);
}

/** Restart the owners of pods behind (bare pods have no workload: the message names them). */
function restartPodFixes(pods: readonly PodTrust[]): FixStep[] {
  const groups = new Map<string, Set<string>>();
  for (const p of pods) {
    if (!p.owner || p.role !== 'app') continue;
    const set = groups.get(p.namespace) ?? new Set<string>();
    set.add(`${p.owner.kind.toLowerCase()}/${p.owner.name}`);
    groups.set(p.namespace, set);
  }
  return [...groups].map(([namespace, workloads]) => ({ kind: 'restart-apps', namespace, workloads: [...workloads].sort() }));
}

function restartAppFixes(apps: DaprApp[]): FixStep[] {
  const groups = new Map<string, string[]>();
  for (const a of apps) {
    const list = groups.get(a.ref.namespace) ?? [];
    list.push(`${a.ref.kind.toLowerCase()}/${a.ref.name}`);
    groups.set(a.ref.namespace, list);
  }
  return [...groups].map(([namespace, workloads]) => ({ kind: 'restart-apps', namespace, workloads }));
}
