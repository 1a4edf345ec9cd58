/**
 * The trust gate (issue 10): add-anchor is complete — and switch-issuer may start — only when every
 * running Dapr pod trusts the new root, read pod by pod (src/kube/trust-convergence.ts). Pods still
 * behind are restarted (policy `apps`: their workload, once per run) or waited for, with an engine
 * event naming them whenever the set changes (the CLI prints it; the sentry turns it into a metric
 * and a Kubernetes Event). At the deadline it throws ERR_TRUST_NOT_CONVERGED naming the pods and
 * the command that resumes; the issuer is never switched past a pod that would reject it.
 * With trust distribution on, each poll also re-syncs `dapr-root-ca.crt` (a namespace that gained
 * Dapr apps gets it), and a write there restarts the kubelet's propagation wait before mounting
 * pods can count.
 */
import type { Clock } from '../../core/clock.js';
import { formatGoDuration } from '../../core/duration.js';
import { isWardenError, WardenError } from '../../core/errors.js';
import type { WritePhase } from '../../core/rotation-phases/phases.js';
import type { KubeClients } from '../../kube/client.js';
import { restartDaprApps, type AppRestartProgress } from '../../kube/restarts.js';
import { readWorkload, type WorkloadRef } from '../../kube/rollout-api.js';
import { distributeTrustAnchors } from '../../kube/trust-distribution.js';
import { podNames, readTrustConvergence, type PodTrust, type TrustConvergenceReport } from '../../kube/trust-convergence.js';
import type { TrustRestartPolicy } from '../../kube/trust-restart-policy.js';
import { commandOf, type PhaseContext, type RotationBackend, type Sleeper } from '../backend.js';
import type { UnconvergedPod } from '../events.js';

export interface TrustGateOptions {
  clients: KubeClients;
  /** Dapr's namespace. */
  namespace: string;
  appNamespaces: string[] | undefined;
  policy: TrustRestartPolicy;
  /** Trust distribution: the phase's ca.crt, written to `dapr-root-ca.crt` on every poll (absent: off). */
  distributeAnchorsPem?: string;
  maxConcurrent: number;
  clock: Clock;
  sleeper: Sleeper;
  pollIntervalMs: number;
  onAppProgress?: (progress: AppRestartProgress) => void;
}

export interface TrustGateResult {
  checked: number;
  /** Workloads the gate restarted. */
  restarted: WorkloadRef[];
}

const TRANSIENT = new Set(['ERR_KUBE_API', 'ERR_KUBE_UNREACHABLE']);

const ownerKey = (namespace: string, owner: NonNullable<PodTrust['owner']>): string => `${owner.kind}/${namespace}/${owner.name}`;

export function toUnconverged(p: PodTrust): UnconvergedPod {
  return {
    namespace: p.namespace, name: p.name, state: p.state === 'converged' ? 'unknown' : p.state, reason: p.reason,
    ...(p.owner ? { owner: `${p.owner.kind}/${p.owner.name}` } : {}),
  };
}

/**
 * Workloads all of whose running pods already trust the new root (`Kind/namespace/name`): the
 * `apps` policy does not restart them.
 */
export function convergedWorkloads(report: TrustConvergenceReport): Set<string> {
  const behind = new Set(report.pending.filter((p) => p.owner).map((p) => ownerKey(p.namespace, p.owner!)));
  return new Set(report.pods.filter((p) => p.owner && p.state === 'converged').map((p) => ownerKey(p.namespace, p.owner!)).filter((k) => !behind.has(k)));
}

/**
 * Workloads all of whose running pods read their anchors from a mounted file they watch (e.g. the
 * distributed `dapr-root-ca.crt`): restarting them would not change what they trust.
 */
export function reloadingWorkloads(report: TrustConvergenceReport): Set<string> {
  const fixed = new Set(report.pods.filter((p) => p.owner && !p.reloads).map((p) => ownerKey(p.namespace, p.owner!)));
  return new Set(report.pods.filter((p) => p.owner && p.reloads).map((p) => ownerKey(p.namespace, p.owner!)).filter((k) => !fixed.has(k)));
}

/** Reads the pods' trust of the rotation's new root(s). */
export function readRotationTrust(opts: Pick<TrustGateOptions, 'clients' | 'namespace' | 'appNamespaces'>, ctx: Pick<PhaseContext, 'record' | 'writtenAt'>): Promise<TrustConvergenceReport> {
  return readTrustConvergence(opts.clients, {
    controlPlaneNamespace: opts.namespace,
    ...(opts.appNamespaces ? { namespaces: opts.appNamespaces } : {}),
    requiredAnchors: ctx.record.material.anchorsPem,
    anchorsWrittenAt: ctx.writtenAt,
  });
}

/** Polls until every pod trusts the new root or `deadline` (epoch ms) passes (then throws). */
export async function awaitTrustConvergence(
  phase: WritePhase, ctx: PhaseContext, opts: TrustGateOptions, deadline: number, backend: Pick<RotationBackend, 'commandLine'>,
): Promise<TrustGateResult> {
  const restartedOwners = new Set<string>();
  const result: TrustGateResult = { checked: 0, restarted: [] };
  const propagationMs = ctx.record.settings.propagationDelayMs;
  let settledAt = 0;
  let lastSeen = '';
  for (;;) {
    if (opts.distributeAnchorsPem !== undefined) {
      const d = await distributeTrustAnchors(opts.clients, {
        controlPlaneNamespace: opts.namespace, anchorsPem: opts.distributeAnchorsPem,
        ...(opts.appNamespaces ? { namespaces: opts.appNamespaces } : {}),
      });
      if (d.created.length + d.updated.length > 0) {
        ctx.report({ kind: 'trust-distributed', phase, created: d.created, updated: d.updated, namespaces: d.namespaces.length });
        // Mounting pods see the new ConfigMap only after the kubelet's sync.
        settledAt = opts.clock.now().getTime() + propagationMs;
      }
    }
    let report: TrustConvergenceReport;
    try {
      report = await readRotationTrust(opts, ctx);
    } catch (err) {
      // A 5xx, 429 or dropped connection may pass: read again at the next poll, until the deadline.
      if (!isWardenError(err) || !TRANSIENT.has(err.code) || opts.clock.now().getTime() >= deadline) throw err;
      await opts.sleeper.sleep(opts.pollIntervalMs, ctx.signal);
      if (ctx.signal.aborted) return result;
      continue;
    }
    result.checked = report.pods.length;
    const settling = opts.clock.now().getTime() < settledAt;
    if (report.pending.length === 0 && !settling) {
      ctx.report({ kind: 'trust-converged', phase, checked: report.pods.length });
      return result;
    }
    const restartable = opts.policy === 'apps'
      ? uniqueOwners(report.pending.filter((p) => p.role === 'app' && p.owner && !restartedOwners.has(ownerKey(p.namespace, p.owner))))
      : [];
    const seen = report.pending.map((p) => `${p.namespace}/${p.name}:${p.state}`).join(',');
    // Only settling (every pod reads the new ConfigMap, the kubelet may not have synced it yet): nothing to name.
    if (report.pending.length > 0 && (seen !== lastSeen || restartable.length > 0)) {
      lastSeen = seen;
      ctx.report({
        kind: 'trust-not-converged', phase, pods: report.pending.map(toUnconverged), checked: report.pods.length, policy: opts.policy,
        restarting: restartable.map((r) => `${r.namespace}/${r.kind}/${r.name}`),
      });
    }
    if (restartable.length > 0) {
      for (const r of restartable) restartedOwners.add(`${r.kind}/${r.namespace}/${r.name}`);
      const targets = await Promise.all(restartable.map(async (ref) => ({ ref, current: await readWorkload(opts.clients, ref) })));
      const timeoutMs = Math.max(1000, deadline - opts.clock.now().getTime());
      const summary = await restartDaprApps(opts.clients, targets, {
        maxConcurrent: opts.maxConcurrent, timeoutMs, clock: opts.clock, signal: ctx.signal,
        ...(opts.onAppProgress ? { onProgress: opts.onAppProgress } : {}),
      });
      result.restarted.push(...summary.restarted);
      if (ctx.signal.aborted) return result;
      continue;
    }
    if (opts.clock.now().getTime() >= deadline) {
      throw trustNotConverged(phase, report.pending, ctx.record.settings.timeoutMs, opts.policy, backend, settling);
    }
    await opts.sleeper.sleep(opts.pollIntervalMs, ctx.signal);
    if (ctx.signal.aborted) return result;
  }
}

function uniqueOwners(pods: PodTrust[]): WorkloadRef[] {
  const refs = new Map<string, WorkloadRef>();
  for (const p of pods) refs.set(ownerKey(p.namespace, p.owner!), { kind: p.owner!.kind, namespace: p.namespace, name: p.owner!.name });
  return [...refs.values()];
}

/** kubectl lines that restart the owners of `pods` (bare pods: delete and recreate them). */
export function restartCommands(pods: readonly Pick<PodTrust, 'namespace' | 'name' | 'owner'>[], kubectlFlags = ''): string[] {
  const byNamespace = new Map<string, Set<string>>();
  const bare: string[] = [];
  for (const p of pods) {
    if (!p.owner) {
      bare.push(`${p.namespace}/${p.name}`);
      continue;
    }
    const set = byNamespace.get(p.namespace) ?? new Set<string>();
    set.add(`${p.owner.kind.toLowerCase()}/${p.owner.name}`);
    byNamespace.set(p.namespace, set);
  }
  const lines = [...byNamespace].map(([ns, set]) => `kubectl rollout restart -n ${ns}${kubectlFlags} ${[...set].sort().join(' ')}`);
  if (bare.length > 0) lines.push(`# not owned by a workload (recreate them so the injector re-injects the anchors): ${bare.join(', ')}`);
  return lines;
}

export function trustNotConverged(
  phase: WritePhase, pending: readonly PodTrust[], timeoutMs: number, policy: TrustRestartPolicy, backend: Pick<RotationBackend, 'commandLine'>, settling = false,
): WardenError {
  const details = pending.slice(0, 10).map((p) => `${p.namespace}/${p.name} (${p.state}: ${p.reason})`).join('; ');
  const more = pending.length > 10 ? `; and ${pending.length - 10} more` : '';
  const restart = restartCommands(pending).filter((l) => !l.startsWith('#'));
  const fix = restart.length > 0 ? `Restart them (${restart.join(' && ')}), or let --restarts apps do it, then` : 'Fix them, then';
  return new WardenError(
    'ERR_TRUST_NOT_CONVERGED',
    `${phase} is written, but after ${formatGoDuration(timeoutMs)} ${pending.length} running Dapr pod(s) do not trust the new root yet, so the issuer was not switched ` +
      `(restart policy: ${policy}${settling ? '; the distributed ConfigMap changed less than --propagation-delay ago' : ''}): ${details}${more}. ` +
      `${fix} continue with \`${commandOf(backend, 'rotate', ['--resume'])}\` (\`${commandOf(backend, 'doctor')}\` lists them). Pods: ${podNames(pending)}.`,
  );
}
