/**
 * The few apps/v1 calls rollouts make, one switch per kind so the rest of the code is
 * kind-agnostic: read, strategic-merge patch, list (paged) and the watch path of one workload.
 */
import type { AppsV1Api, V1DaemonSet, V1Deployment, V1StatefulSet, Watch } from '@kubernetes/client-node';
import type { WorkloadKind } from './rollout-status.js';

/** The clients rollouts need (a subset of KubeClients from client.ts). */
export interface RolloutClients {
  apps: AppsV1Api;
  watch: Watch;
}

/** One workload, as `kubectl rollout restart <kind>/<name> -n <namespace>` names it. */
export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

const PLURAL: Record<WorkloadKind, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };

/** `deployment/dapr-sentry` (kubectl's resource/name form). */
export function refName(ref: Pick<WorkloadRef, 'kind' | 'name'>): string {
  return `${ref.kind.toLowerCase()}/${ref.name}`;
}

/** `deployment/app-1 in team-a`: for lists that span namespaces. */
export function refText(ref: WorkloadRef): string {
  return `${refName(ref)} in ${ref.namespace}`;
}

export function readWorkload(clients: RolloutClients, ref: WorkloadRef): Promise<Workload> {
  const params = { name: ref.name, namespace: ref.namespace };
  if (ref.kind === 'Deployment') return clients.apps.readNamespacedDeployment(params);
  if (ref.kind === 'StatefulSet') return clients.apps.readNamespacedStatefulSet(params);
  return clients.apps.readNamespacedDaemonSet(params);
}

/**
 * A strategic-merge patch (client-node 1.4 and 2.x need the Content-Type set per call). client-node is
 * imported here, not at module load (≈400 ms; already loaded by whoever made `clients`).
 */
export async function patchWorkload(clients: RolloutClients, ref: WorkloadRef, body: object): Promise<Workload> {
  const { setHeaderOptions } = await import('@kubernetes/client-node');
  const params = { name: ref.name, namespace: ref.namespace, body };
  const options = setHeaderOptions('Content-Type', 'application/strategic-merge-patch+json');
  if (ref.kind === 'Deployment') return clients.apps.patchNamespacedDeployment(params, options);
  if (ref.kind === 'StatefulSet') return clients.apps.patchNamespacedStatefulSet(params, options);
  return clients.apps.patchNamespacedDaemonSet(params, options);
}

const PAGE_SIZE = 500;

/** Every workload of `kind` in `namespace` (all namespaces when undefined), fetched in pages. */
export async function listWorkloads(clients: RolloutClients, kind: WorkloadKind, namespace?: string): Promise<Workload[]> {
  const items: Workload[] = [];
  let next: string | undefined;
  do {
    const page = await listPage(clients, kind, namespace, next);
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
  return items;
}

function listPage(clients: RolloutClients, kind: WorkloadKind, namespace: string | undefined, cont: string | undefined) {
  const paging = { limit: PAGE_SIZE, ...(cont !== undefined ? { _continue: cont } : {}) };
  const apps = clients.apps;
  if (namespace === undefined) {
    if (kind === 'Deployment') return apps.listDeploymentForAllNamespaces(paging);
    if (kind === 'StatefulSet') return apps.listStatefulSetForAllNamespaces(paging);
    return apps.listDaemonSetForAllNamespaces(paging);
  }
  const params = { namespace, ...paging };
  if (kind === 'Deployment') return apps.listNamespacedDeployment(params);
  if (kind === 'StatefulSet') return apps.listNamespacedStatefulSet(params);
  return apps.listNamespacedDaemonSet(params);
}

/** The collection path a watch of one workload uses (with `fieldSelector=metadata.name=<name>`). */
export function watchPath(ref: WorkloadRef): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/${PLURAL[ref.kind]}`;
}
