/**
 * `kubectl rollout status` in one pure function: the completion rules of
 * k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go for Deployments, StatefulSets and
 * DaemonSets, with kubectl's messages. Works on typed client-node objects and on raw watch JSON
 * alike (both use the API's field names).
 */

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** The fields of a workload the rules read (everything optional, as in the API). */
export interface WorkloadLike {
  metadata?: { name?: string; generation?: number; resourceVersion?: string };
  spec?: {
    replicas?: number;
    paused?: boolean;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number; maxUnavailable?: unknown } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentReplicas?: number;
    updateRevision?: string;
    currentRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

/**
 * `done`: rolled out. `failed`: will not finish by waiting (kubectl exits 1 at once).
 * Otherwise still in progress; `message` says what it waits for (kubectl's wording).
 */
export interface RolloutVerdict {
  done: boolean;
  failed: boolean;
  message: string;
}

const progress = (message: string): RolloutVerdict => ({ done: false, failed: false, message });
const failure = (message: string): RolloutVerdict => ({ done: false, failed: true, message });
const success = (message: string): RolloutVerdict => ({ done: true, failed: false, message });

// deploymentutil.TimedOutReason.
const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

/** Where the rollout of `obj` (of `kind`) stands, by kubectl's rules. */
export function rolloutVerdict(kind: WorkloadKind, obj: WorkloadLike): RolloutVerdict {
  if (kind === 'Deployment') return deploymentVerdict(obj);
  if (kind === 'StatefulSet') return statefulSetVerdict(obj);
  return daemonSetVerdict(obj);
}

function deploymentVerdict(d: WorkloadLike): RolloutVerdict {
  const name = d.metadata?.name ?? '';
  const generation = d.metadata?.generation ?? 0;
  const s = d.status ?? {};
  if (generation > (s.observedGeneration ?? 0)) return progress('Waiting for deployment spec update to be observed...');
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === PROGRESS_DEADLINE_EXCEEDED) {
    return failure(`deployment "${name}" exceeded its progress deadline`);
  }
  const updated = s.updatedReplicas ?? 0;
  const desired = d.spec?.replicas;
  if (desired !== undefined && updated < desired) {
    return progress(`Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`);
  }
  if ((s.replicas ?? 0) > updated) {
    return progress(`Waiting for deployment "${name}" rollout to finish: ${(s.replicas ?? 0) - updated} old replicas are pending termination...`);
  }
  if ((s.availableReplicas ?? 0) < updated) {
    return progress(`Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas ?? 0} of ${updated} updated replicas are available...`);
  }
  return success(`deployment "${name}" successfully rolled out`);
}

function statefulSetVerdict(sts: WorkloadLike): RolloutVerdict {
  const strategy = sts.spec?.updateStrategy;
  // The API defaults the strategy to RollingUpdate; only an explicit OnDelete opts out.
  if (strategy?.type !== undefined && strategy.type !== 'RollingUpdate') {
    return failure(`rollout status is only available for RollingUpdate strategy type (statefulset "${sts.metadata?.name ?? ''}" uses ${strategy.type}: delete its pods to restart them)`);
  }
  const s = sts.status ?? {};
  const observed = s.observedGeneration ?? 0;
  if (observed === 0 || (sts.metadata?.generation ?? 0) > observed) return progress('Waiting for statefulset spec update to be observed...');
  const desired = sts.spec?.replicas;
  const ready = s.readyReplicas ?? 0;
  if (desired !== undefined && ready < desired) return progress(`Waiting for ${desired - ready} pods to be ready...`);
  const partition = strategy?.rollingUpdate?.partition;
  if (strategy?.rollingUpdate !== undefined) {
    const updated = s.updatedReplicas ?? 0;
    if (desired !== undefined && partition !== undefined && updated < desired - partition) {
      return progress(`Waiting for partitioned roll out to finish: ${updated} out of ${desired - partition} new pods have been updated...`);
    }
    return success(`partitioned roll out complete: ${updated} new pods have been updated...`);
  }
  if (s.updateRevision !== s.currentRevision) {
    return progress(`waiting for statefulset rolling update to complete ${s.updatedReplicas ?? 0} pods at revision ${s.updateRevision ?? ''}...`);
  }
  return success(`statefulset rolling update complete ${s.currentReplicas ?? 0} pods at revision ${s.currentRevision ?? ''}...`);
}

function daemonSetVerdict(ds: WorkloadLike): RolloutVerdict {
  const name = ds.metadata?.name ?? '';
  const strategy = ds.spec?.updateStrategy?.type;
  if (strategy !== undefined && strategy !== 'RollingUpdate') {
    return failure(`rollout status is only available for RollingUpdate strategy type (daemon set "${name}" uses ${strategy}: delete its pods to restart them)`);
  }
  const s = ds.status ?? {};
  if ((ds.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return progress('Waiting for daemon set spec update to be observed...');
  const desired = s.desiredNumberScheduled ?? 0;
  const updated = s.updatedNumberScheduled ?? 0;
  if (updated < desired) return progress(`Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`);
  const available = s.numberAvailable ?? 0;
  if (available < desired) return progress(`Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`);
  return success(`daemon set "${name}" successfully rolled out`);
}
