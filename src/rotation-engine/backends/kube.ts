/**
 * The Kubernetes rotation backend: the bundle is the Secret + ConfigMap `dapr-trust-bundle`
 * (KubeTrustBundleStore), the journal a Secret beside it (kube-journal.ts). Per phase (issue 5):
 *  - add-anchor: wait for the kubelet to sync the ConfigMap/Secret volumes (`--propagation-delay`,
 *    default 90 s), restart the control plane in order (dapr-sentry, then the rest), then every
 *    Dapr app (daprd reads its trust anchors only when it is injected);
 *  - switch-issuer: restart the control plane in order, so its serving certificates come from the
 *    new issuer (and the apps too when add-anchor was skipped: they have never seen the new root);
 *  - retire-old-root: restart the apps again, so they drop the old root.
 * Each phase converges when the Secret and ConfigMap hold the phase's target byte-identically and
 * the control plane (dapr-sentry above all) is rolled out and ready. A workload restarted after the
 * phase's write (kubectl.kubernetes.io/restartedAt later than the write's second) is not restarted
 * again on resume: its rollout is only waited for.
 */
import type { TrustBundle } from '../../core/bundle.js';
import type { Clock } from '../../core/clock.js';
import { formatGoDuration } from '../../core/duration.js';
import { isWardenError, WardenError } from '../../core/errors.js';
import type { WritePhase } from '../../core/rotation-phases/phases.js';
import type { RotationSettings } from '../../core/rotation-phases/record.js';
import type { PhaseEstimate } from '../../core/rotation-phases/schedule.js';
import type { KubeClients } from '../../kube/client.js';
import {
  DEFAULT_MAX_CONCURRENT_RESTARTS, findControlPlane, findDaprApps, restartControlPlane, restartDaprApps,
  type AppRestartProgress, type ControlPlaneWave, type RestartEvent, type RestartTarget, type WorkloadRef,
} from '../../kube/restarts.js';
import { RESTARTED_AT_ANNOTATION, refName, waitForRollout, waitPastSecondOf } from '../../kube/rollouts.js';
import { rolloutVerdict, type WorkloadLike } from '../../kube/rollout-status.js';
import { distributeTrustAnchors } from '../../kube/trust-distribution.js';
import { allowedRestarts, DEFAULT_TRUST_RESTART_POLICY, isTrustRestartPolicy, type TrustRestartPolicy } from '../../kube/trust-restart-policy.js';
import type { KubeTrustBundleStore } from '../../stores/kube-store.js';
import { awaitTrustConvergence, convergedWorkloads, readRotationTrust, reloadingWorkloads } from './kube-trust-gate.js';
import { commandOf, type ConvergenceResult, type PhaseContext, type RotationBackend, type Sleeper } from '../backend.js';
import type { JournalStore } from '../journal.js';

/** Default `--propagation-delay` in Kubernetes: the kubelet's volume sync period plus its cache TTL. */
export const KUBE_PROPAGATION_DELAY_MS = 90_000;
/** What a rollout is assumed to take in the dry-run timeline. */
export const ESTIMATED_ROLLOUT_MS = 30_000;

/** Settings keys a Kubernetes rotation keeps in its journal (RotationSettings is open). */
export interface KubeRotationSettings {
  mode: 'kubernetes';
  namespace: string;
  maxConcurrentRestarts: number;
  /** Comma-separated; absent: all namespaces. */
  appNamespaces?: string;
  /** What may be restarted for trust to converge (`--restarts`); absent (older journals): the default. */
  restarts?: TrustRestartPolicy;
  /** Write the anchors to `dapr-root-ca.crt` in every namespace with Dapr apps (`--distribute-trust`). */
  distributeTrust?: boolean;
}

export interface KubeSettings {
  maxConcurrent: number;
  appNamespaces: string[] | undefined;
  restarts: TrustRestartPolicy;
  distributeTrust: boolean;
}

export function kubeSettingsOf(settings: RotationSettings): KubeSettings {
  const max = typeof settings.maxConcurrentRestarts === 'number' ? settings.maxConcurrentRestarts : DEFAULT_MAX_CONCURRENT_RESTARTS;
  const list = typeof settings.appNamespaces === 'string' && settings.appNamespaces !== '' ? settings.appNamespaces.split(',') : undefined;
  const restarts = isTrustRestartPolicy(settings.restarts) ? settings.restarts : DEFAULT_TRUST_RESTART_POLICY;
  return { maxConcurrent: max, appNamespaces: list, restarts, distributeTrust: settings.distributeTrust === true };
}

export interface KubeBackendOptions {
  clients: KubeClients;
  namespace: string;
  store: KubeTrustBundleStore;
  journal: JournalStore;
  clock: Clock;
  sleeper: Sleeper;
  /** Control-plane restart events (for the CLI's lines). */
  onRestartEvent?: (phase: WritePhase, event: RestartEvent) => void;
  /** App restart progress (for the CLI's progress display). */
  onAppProgress?: (phase: WritePhase, progress: AppRestartProgress) => void;
  /** Before and after the apps of a phase are restarted. */
  onApps?: (phase: WritePhase, what: { state: 'start'; total: number; skipped: number } | { state: 'end'; restarted: number; failed: number; durationMs: number }) => void;
  /** Poll interval while the bundle has not converged (default 1000 ms). */
  pollIntervalMs?: number;
  /** Printed commands with the operator's cluster flags (default: bare `warden mtls <sub> -k`). */
  commandLine?: (sub: string, args?: readonly string[]) => string;
  /** For the dry-run estimate: how many apps a phase restarts (found before planning). */
  appCount?: number;
  controlPlaneWaves?: number;
}

/** Which phases restart what (issue 5). */
export function restartsOf(phase: WritePhase, addAnchorSkipped: boolean): { controlPlane: boolean; apps: boolean } {
  switch (phase) {
    case 'add-anchor':
      return { controlPlane: true, apps: true };
    case 'switch-issuer':
      return { controlPlane: true, apps: addAnchorSkipped };
    case 'retire-old-root':
      return { controlPlane: false, apps: true };
  }
}

/**
 * True when `workload` was restarted (kubectl's annotation) in the second of `since` or later.
 * Sound because a phase's write never shares a second with an earlier restart: convergence ends
 * with a wait into the next second after restarts (`confirmConverged`).
 */
export function restartedSince(workload: RestartTarget['current'], since: Date): boolean {
  const value = workload?.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
  const at = value === undefined ? NaN : Date.parse(value);
  return Number.isFinite(at) && at >= Math.floor(since.getTime() / 1000) * 1000;
}

export class KubeRotationBackend implements RotationBackend {
  readonly mode = 'kubernetes';
  readonly store: KubeTrustBundleStore;
  readonly journal: JournalStore;
  /** What this process restarted (or found restarted) per phase, for the convergence note. */
  private readonly restarted = new Map<WritePhase, { controlPlane: WorkloadRef[]; apps: number }>();

  constructor(private readonly opts: KubeBackendOptions) {
    this.store = opts.store;
    this.journal = opts.journal;
  }

  commandLine(sub: string, args: readonly string[] = []): string {
    return this.opts.commandLine?.(sub, args) ?? ['warden', 'mtls', sub, '-k', ...args].join(' ');
  }

  private tally(phase: WritePhase): { controlPlane: WorkloadRef[]; apps: number } {
    let t = this.restarted.get(phase);
    if (!t) {
      t = { controlPlane: [], apps: 0 };
      this.restarted.set(phase, t);
    }
    return t;
  }

  /** The store writes the Secret, then the ConfigMap: a run killed in between left the ConfigMap behind. */
  async completeInterruptedWrite(): Promise<void> {
    await this.store.resyncConfigMap();
  }

  async waitForPropagation(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    const { distributeTrust, appNamespaces } = kubeSettingsOf(ctx.record.settings);
    if (distributeTrust) {
      // Before the propagation wait: the kubelet syncs dapr-root-ca.crt in the same window.
      const read = await this.store.read();
      if (read.state === 'complete') {
        const d = await distributeTrustAnchors(this.opts.clients, {
          controlPlaneNamespace: this.opts.namespace, anchorsPem: read.texts.ca, ...(appNamespaces ? { namespaces: appNamespaces } : {}),
        }).catch((err: unknown) => {
          throw stoppedIn(phase, err, this.journal.description, this);
        });
        if (d.created.length + d.updated.length > 0) ctx.report({ kind: 'trust-distributed', phase, created: d.created, updated: d.updated, namespaces: d.namespaces.length });
      }
    }
    const until = ctx.writtenAt.getTime() + ctx.record.settings.propagationDelayMs;
    const remaining = until - this.opts.clock.now().getTime();
    if (remaining <= 0) return;
    ctx.report({ kind: 'propagating', phase, untilMs: remaining, what: `the kubelet to sync ${this.store.configMapRef} and ${this.store.secretRef} into the pods' volumes` });
    await this.opts.sleeper.sleep(remaining, ctx.signal);
  }

  async restartControlPlane(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    if (!policyRestarts(phase, ctx).controlPlane) return;
    const { clients, namespace } = this.opts;
    const waves = await findControlPlane(clients, namespace);
    const timeoutMs = ctx.record.settings.timeoutMs;
    const emit = (e: RestartEvent): void => this.opts.onRestartEvent?.(phase, e);
    const toRestart: ControlPlaneWave[] = [];
    for (const wave of waves) {
      const done = wave.targets.filter((t) => restartedSince(t.current, ctx.writtenAt));
      // Restarted by an earlier (interrupted) run of this phase: only wait for it.
      for (const t of done) {
        emit({ type: 'status', ref: t.ref, message: 'already restarted after this phase\'s write; waiting for its rollout' });
        await this.waitRolledOut(phase, t.ref, timeoutMs, ctx.signal);
        this.tally(phase).controlPlane.push(t.ref);
      }
      toRestart.push({ targets: wave.targets.filter((t) => !done.includes(t)), missing: wave.missing });
    }
    ctx.report({ kind: 'converging', phase, what: `the control plane in ${namespace} restarts in order (dapr-sentry first)` });
    try {
      const result = await restartControlPlane(clients, namespace, { timeoutMs, waves: toRestart, clock: this.opts.clock, onEvent: emit, signal: ctx.signal });
      this.tally(phase).controlPlane.push(...result.restarted);
    } catch (err) {
      if (ctx.signal.aborted) return;
      throw stoppedIn(phase, err, this.journal.description, this);
    }
  }

  async restartApps(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    if (!policyRestarts(phase, ctx).apps) return;
    const { clients, namespace } = this.opts;
    const { maxConcurrent, appNamespaces } = kubeSettingsOf(ctx.record.settings);
    const found = await findDaprApps(clients, { ...(appNamespaces ? { namespaces: appNamespaces } : {}), controlPlaneNamespace: namespace });
    // Before the trust gate: an app whose every pod already trusts the new root (it mounts the
    // distributed dapr-root-ca.crt, or was injected after the write) needs no restart.
    // retire-old-root: an app whose pods all watch a mounted anchors file (the distributed
    // dapr-root-ca.crt) drops the old root with the file; a restart would change nothing.
    const read = phase === 'switch-issuer' ? undefined : await readRotationTrust({ clients, namespace, appNamespaces }, ctx).catch((err: unknown) => {
      // Transient: restart every app (as before the gate existed); the gate reads again.
      if (isWardenError(err, 'ERR_KUBE_API') || isWardenError(err, 'ERR_KUBE_UNREACHABLE')) return undefined;
      throw stoppedIn(phase, err, this.journal.description, this);
    });
    const trusted = read === undefined ? new Set<string>() : phase === 'add-anchor' ? convergedWorkloads(read) : reloadingWorkloads(read);
    // Restarted after the write and rolled out: done. Restarted but not rolled out (it failed, or
    // the run stopped): restarted again, so its rollout is driven and waited for like the others.
    const pending = found.filter((a) => !trusted.has(`${a.ref.kind}/${a.ref.namespace}/${a.ref.name}`))
      .filter((a) => !restartedSince(a.current, ctx.writtenAt) || !rolloutVerdict(a.ref.kind, a.current as WorkloadLike).done);
    this.opts.onApps?.(phase, { state: 'start', total: pending.length, skipped: found.length - pending.length });
    const summary = await restartDaprApps(clients, pending, {
      maxConcurrent, timeoutMs: ctx.record.settings.timeoutMs, clock: this.opts.clock, signal: ctx.signal,
      onProgress: (p) => this.opts.onAppProgress?.(phase, p),
    }).catch((err: unknown) => {
      if (ctx.signal.aborted) return undefined;
      throw err;
    });
    if (summary === undefined) return;
    this.opts.onApps?.(phase, { state: 'end', restarted: summary.restarted.length, failed: summary.failed.length, durationMs: summary.durationMs });
    this.tally(phase).apps += summary.restarted.length + (found.length - pending.length);
    if (summary.failed.length > 0) {
      const names = summary.failed.map((f) => `${f.ref.namespace}/${refName(f.ref)}`).join(', ');
      const first = summary.failed[0]?.error.message ?? '';
      throw stoppedIn(phase, new WardenError('ERR_RESTART_FAILED', `${summary.failed.length} of ${summary.total} Dapr apps did not restart: ${names} (${first})`), this.journal.description, this);
    }
  }

  async confirmConverged(phase: WritePhase, expected: TrustBundle, ctx: PhaseContext): Promise<ConvergenceResult> {
    const started = this.opts.clock.now().getTime();
    const deadline = started + ctx.record.settings.timeoutMs;
    const want = expected.toTexts();
    ctx.report({ kind: 'converging', phase, what: `${this.store.secretRef} and ${this.store.configMapRef} hold this phase's bundle and the control plane is rolled out` });
    let last = '';
    for (;;) {
      const read = await this.store.read();
      if (read.state !== 'complete') last = `the Secret holds a ${read.state} bundle`;
      else if ('anchorsMismatch' in read) last = read.anchorsMismatch.message.split(':')[0] ?? 'the ConfigMap differs';
      else if (read.texts.ca !== want.ca || read.texts.issuerCert !== want.issuerCert || read.texts.issuerKey !== want.issuerKey) last = 'the Secret holds another bundle';
      else break;
      if (this.opts.clock.now().getTime() >= deadline) throw notConverged(phase, last, ctx.record.settings.timeoutMs, this);
      await this.opts.sleeper.sleep(this.opts.pollIntervalMs ?? 1000, ctx.signal);
      if (ctx.signal.aborted) return { confirmed: false, note: 'interrupted' };
    }
    const restarts = policyRestarts(phase, ctx);
    const sentry = (await findControlPlane(this.opts.clients, this.opts.namespace))[0]?.targets[0];
    if (sentry !== undefined) {
      const remaining = Math.max(1000, deadline - this.opts.clock.now().getTime());
      await this.waitRolledOut(phase, sentry.ref, remaining, ctx.signal).catch((err: unknown) => {
        throw notConverged(phase, `dapr-sentry is not rolled out and ready: ${(err as Error).message}`, ctx.record.settings.timeoutMs, this);
      });
    }
    let trust: string | undefined;
    if (phase === 'add-anchor') {
      // The trust gate: switch-issuer never starts while a running pod does not trust the new root.
      const settings = kubeSettingsOf(ctx.record.settings);
      const read = settings.distributeTrust ? await this.store.read() : undefined;
      const gate = await awaitTrustConvergence(phase, ctx, {
        clients: this.opts.clients, namespace: this.opts.namespace, appNamespaces: settings.appNamespaces, policy: settings.restarts,
        maxConcurrent: settings.maxConcurrent, clock: this.opts.clock, sleeper: this.opts.sleeper, pollIntervalMs: this.opts.pollIntervalMs ?? 1000,
        ...(read?.state === 'complete' ? { distributeAnchorsPem: read.texts.ca } : {}),
      }, deadline, this).catch((err: unknown) => {
        // ERR_TRUST_NOT_CONVERGED says how to continue; an API failure gets where it stopped.
        throw isWardenError(err, 'ERR_TRUST_NOT_CONVERGED') ? err : stoppedIn(phase, err, this.journal.description, this);
      });
      if (ctx.signal.aborted) return { confirmed: false, note: 'interrupted' };
      this.tally(phase).apps += gate.restarted.length;
      trust = `${gate.checked} running Dapr pod(s) trust the new root${gate.restarted.length > 0 ? ` (${gate.restarted.length} restarted by the trust gate)` : ''}`;
    }
    const t = this.tally(phase);
    if (t.controlPlane.length > 0 || t.apps > 0) {
      // The next phase's write must fall in a later second than these restarts (see restartedSince).
      await waitPastSecondOf(this.opts.clock.now(), this.opts.clock, this.opts.sleeper, ctx.signal);
    }
    const parts = ['Secret and ConfigMap hold the target byte-identically'];
    if (restarts.controlPlane) parts.push(`${t.controlPlane.length} control-plane workload(s) rolled out (${t.controlPlane.map((r) => r.name).join(', ') || 'none'})`);
    if (restarts.apps) parts.push(`${t.apps} Dapr app(s) restarted after the write`);
    if (sentry !== undefined) parts.push('dapr-sentry ready');
    if (trust !== undefined) parts.push(trust);
    return { confirmed: true, note: `confirmed: ${parts.join('; ')}` };
  }

  estimate(phase: WritePhase, settings: RotationSettings): PhaseEstimate {
    const { maxConcurrent } = kubeSettingsOf(settings);
    const r = restartsOf(phase, false);
    const cp = r.controlPlane ? (this.opts.controlPlaneWaves ?? 2) * ESTIMATED_ROLLOUT_MS : 0;
    const apps = r.apps ? Math.ceil((this.opts.appCount ?? 0) / Math.max(1, maxConcurrent)) * ESTIMATED_ROLLOUT_MS : 0;
    return { propagationMs: settings.propagationDelayMs, restartMs: cp + apps, convergenceMs: 1000 };
  }

  private async waitRolledOut(phase: WritePhase, ref: WorkloadRef, timeoutMs: number, signal: AbortSignal): Promise<void> {
    try {
      await waitForRollout(this.opts.clients, ref, { timeoutMs, signal });
    } catch (err) {
      if (signal.aborted) return;
      throw stoppedIn(phase, err, this.journal.description, this);
    }
  }
}

function addAnchorSkipped(ctx: PhaseContext): boolean {
  return ctx.record.phases['add-anchor'].skipped !== undefined;
}

/** What the phase restarts under the rotation's restart policy (`--restarts`). */
function policyRestarts(phase: WritePhase, ctx: PhaseContext): { controlPlane: boolean; apps: boolean } {
  return allowedRestarts(kubeSettingsOf(ctx.record.settings).restarts, restartsOf(phase, addAnchorSkipped(ctx)));
}

/** A restart failure, with where the rotation stopped and how to continue. */
function stoppedIn(phase: WritePhase, err: unknown, journal: string, backend: RotationBackend): WardenError {
  const base = isWardenError(err) ? err : new WardenError('ERR_RESTART_FAILED', (err as Error).message, { cause: err });
  return new WardenError(
    base.code,
    `${base.message.replace(/[.;\s]+$/, '')}. The rotation stopped in phase ${phase} (its bundle is written; the journal in ${journal} says so). ` +
      `Fix the cause, then continue with \`${commandOf(backend, 'rotate', ['--resume'])}\` (workloads already restarted after the write are not restarted again).`,
    { cause: err },
  );
}

function notConverged(phase: WritePhase, why: string, timeoutMs: number, backend: RotationBackend): WardenError {
  return new WardenError(
    'ERR_ROTATION_NOT_CONVERGED',
    `${phase} was written, but the cluster did not converge within ${formatGoDuration(timeoutMs)}: ${why}. ` +
      `Check with \`${commandOf(backend, 'doctor')}\`, then continue with \`${commandOf(backend, 'rotate', ['--resume'])}\`.`,
  );
}
