/**
 * The `status` the real controllers write for Deployments, StatefulSets and DaemonSets at each
 * stage of a rollout, shaped so that `kubectl rollout status` (k8s.io/kubectl/pkg/polymorphichelpers
 * rollout_status.go) reads it exactly as it reads a real cluster's:
 * - 'progressing': generation observed, new pods not all ready yet;
 * - 'complete': every replica updated, ready and available;
 * - 'failed': Deployments get `Progressing=False, reason ProgressDeadlineExceeded` (kubectl exits 1);
 *   StatefulSets and DaemonSets have no such condition, so a failed rollout stays short of ready
 *   (as with a crash-looping pod) and kubectl waits until its `--timeout`.
 * Zero-valued counters are left out, as Go's `omitempty` does.
 */
import { dig, isJsonObject, kubeTime, templateHash, type JsonObject, type KubeObject } from './objects.js';

export type RolloutStage = 'progressing' | 'complete' | 'failed';

function withoutZeros(status: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0 && v !== undefined));
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** Conditions with update/transition times; the transition time is kept while the status stays the same. */
function conditions(old: unknown, wanted: Condition[], now: Date): JsonObject[] {
  const previous = Array.isArray(old) ? old.filter(isJsonObject) : [];
  return wanted.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const transition = before && before.status === c.status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : kubeTime(now);
    return { type: c.type, status: c.status, lastUpdateTime: kubeTime(now), lastTransitionTime: transition, reason: c.reason, message: c.message };
  });
}

function deploymentStatus(obj: KubeObject, stage: RolloutStage, now: Date): JsonObject {
  const replicas = Number(dig(obj, 'spec', 'replicas') ?? 1);
  const generation = obj.metadata.generation ?? 1;
  const old = (obj.status ?? {}) as JsonObject;
  const firstRollout = !old.observedGeneration;
  const rs = `${obj.metadata.name}-${templateHash(dig(obj, 'spec', 'template'))}`;
  const available: Condition = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' };
  const unavailable: Condition = { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
  if (stage === 'complete') {
    return withoutZeros({
      observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
      conditions: conditions(old.conditions, [available,
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs}" has successfully progressed.` }], now),
    });
  }
  // A new pod is up but not ready; the old ones (if any) still serve.
  const oldReady = firstRollout ? 0 : replicas;
  const progressing: Condition = stage === 'failed'
    ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rs}" has timed out progressing.` }
    : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rs}" is progressing.` };
  const updated = Math.min(1, replicas);
  return withoutZeros({
    observedGeneration: generation,
    replicas: firstRollout ? replicas : replicas + updated,
    updatedReplicas: updated,
    readyReplicas: oldReady,
    availableReplicas: oldReady,
    unavailableReplicas: firstRollout ? replicas : updated,
    conditions: conditions(old.conditions, [oldReady > 0 ? available : unavailable, progressing], now),
  });
}

function statefulSetStatus(obj: KubeObject, stage: RolloutStage): JsonObject {
  const replicas = Number(dig(obj, 'spec', 'replicas') ?? 1);
  const old = (obj.status ?? {}) as JsonObject;
  const updateRevision = `${obj.metadata.name}-${templateHash(dig(obj, 'spec', 'template'))}`;
  const base = { observedGeneration: obj.metadata.generation ?? 1, replicas, updateRevision, collisionCount: 0 };
  if (stage === 'complete') {
    return withoutZeros({
      ...base, readyReplicas: replicas, currentReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas,
      currentRevision: updateRevision,
    });
  }
  // StatefulSets replace pods from the highest ordinal down; the first replaced pod is not ready yet.
  const notReady = Math.min(1, replicas);
  return withoutZeros({
    ...base, readyReplicas: replicas - notReady, currentReplicas: replicas - notReady, updatedReplicas: notReady,
    availableReplicas: replicas - notReady, currentRevision: typeof old.currentRevision === 'string' ? old.currentRevision : updateRevision,
  });
}

function daemonSetStatus(obj: KubeObject, stage: RolloutStage, nodes: number): JsonObject {
  const base = { observedGeneration: obj.metadata.generation ?? 1, currentNumberScheduled: nodes, desiredNumberScheduled: nodes, numberMisscheduled: 0 };
  if (stage === 'complete') {
    return withoutZeros({ ...base, numberReady: nodes, updatedNumberScheduled: nodes, numberAvailable: nodes });
  }
  const notReady = Math.min(1, nodes);
  return withoutZeros({
    ...base, numberReady: nodes - notReady, updatedNumberScheduled: notReady, numberAvailable: nodes - notReady, numberUnavailable: notReady,
  });
}

/** The status a workload of `resource` (plural) has at `stage` of rolling out its current generation. */
export function workloadStatus(resource: string, obj: KubeObject, stage: RolloutStage, now: Date, daemonSetNodes: number): JsonObject {
  if (resource === 'deployments') return deploymentStatus(obj, stage, now);
  if (resource === 'statefulsets') return statefulSetStatus(obj, stage);
  return daemonSetStatus(obj, stage, daemonSetNodes);
}
