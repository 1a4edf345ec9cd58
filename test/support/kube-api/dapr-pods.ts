/**
 * The pods of Dapr workloads, as the ReplicaSet/StatefulSet/DaemonSet controllers, the kubelet and
 * Dapr's sidecar injector would leave them: whenever a workload's rollout completes, its pods are
 * replaced by new ones made from the pod template, owned as the real controllers own them
 * (Deployment → ReplicaSet `<name>-<pod-template-hash>`), Running, with container start times;
 * Dapr-enabled apps get a `daprd` container whose trust anchors are what the injector gives today
 * (`env`: the PEM of `dapr-trust-bundle`'s `ca.crt` copied into `DAPR_TRUST_ANCHORS` at injection)
 * or what Dapr PR 10290 gives (`file`: the namespace's `dapr-root-ca.crt` ConfigMap mounted, read
 * through `DAPR_TRUST_ANCHORS_FILE`).
 *
 *   seedDaprControlPlane(server, { trustBundle, withPods: false });
 *   const pods = simulateDaprPods(server);   // creates the pods of every workload now, then follows rollouts
 */
import { dig, kubeTime, randomSuffix, templateHash, type JsonObject, type KubeObject } from './objects.js';
import type { RolloutEvent } from './rollout-controller.js';
import type { KubeApiServer } from './server.js';

export const ROOT_CA_CONFIGMAP = 'dapr-root-ca.crt';
export const ROOT_CA_MOUNT = '/var/run/secrets/dapr.io/root-ca';

export type AnchorInjection = 'env' | 'file';

export interface DaprPodsOptions {
  /** Default 'dapr-system'. */
  controlPlaneNamespace?: string;
  /** How daprd gets its anchors, for all apps or per workload (default 'env'). */
  anchors?: AnchorInjection | ((workload: { namespace: string; name: string }) => AnchorInjection);
}

export interface DaprPodSimulator {
  /** (Re)creates the pods of one workload now, as a completed rollout does. */
  replacePods(resource: string, namespace: string, name: string): KubeObject[];
  /** The pods it created for a workload and that still exist. */
  podsOf(namespace: string, name: string): KubeObject[];
  stop(): void;
}

const WORKLOADS = ['deployments', 'statefulsets', 'daemonsets'] as const;
const KIND = { deployments: 'Deployment', statefulsets: 'StatefulSet', daemonsets: 'DaemonSet' } as const;

export function simulateDaprPods(server: KubeApiServer, opts: DaprPodsOptions = {}): DaprPodSimulator {
  const cpNamespace = opts.controlPlaneNamespace ?? 'dapr-system';
  const injection = (namespace: string, name: string): AnchorInjection =>
    typeof opts.anchors === 'function' ? opts.anchors({ namespace, name }) : opts.anchors ?? 'env';

  const isDaprWorkload = (obj: KubeObject): boolean => {
    const annotations = dig(obj, 'spec', 'template', 'metadata', 'annotations') as Record<string, string> | undefined;
    return annotations?.['dapr.io/enabled'] === 'true' || (obj.metadata.namespace === cpNamespace && annotations?.['dapr.io/control-plane'] !== undefined);
  };

  const owned = (resource: string, namespace: string, name: string): KubeObject[] => server.api.select('pods', { namespace }).filter((p) => {
    const ref = (p.metadata.ownerReferences as { kind: string; name: string }[] | undefined)?.[0];
    if (!ref) return false;
    if (resource === 'deployments') return ref.kind === 'ReplicaSet' && ref.name === `${name}-${p.metadata.labels?.['pod-template-hash'] ?? ''}`;
    return ref.kind === KIND[resource as keyof typeof KIND] && ref.name === name;
  });

  const replacePods = (resource: string, namespace: string, name: string): KubeObject[] => {
    const workload = server.api.get(resource, namespace, name);
    for (const old of owned(resource, namespace, name)) server.api.delete('pods', namespace, old.metadata.name!);
    const template = dig(workload, 'spec', 'template') as JsonObject;
    const replicas = resource === 'daemonsets' ? 1 : Number(dig(workload, 'spec', 'replicas') ?? 1);
    const hash = templateHash(template);
    const created: KubeObject[] = [];
    for (let i = 0; i < replicas; i += 1) {
      const podName = resource === 'statefulsets' ? `${name}-${i}` : resource === 'deployments' ? `${name}-${hash}-${randomSuffix()}` : `${name}-${randomSuffix()}`;
      created.push(createWorkloadPod(server, { resource, namespace, name, podName, hash, template, cpNamespace, injection: injection(namespace, name) }));
    }
    return created;
  };

  const onEvent = (e: RolloutEvent): void => {
    if (e.type !== 'completed') return;
    const obj = server.api.find(e.resource, e.namespace, e.name);
    if (obj && isDaprWorkload(obj)) replacePods(e.resource, e.namespace, e.name);
  };
  for (const resource of WORKLOADS) {
    for (const obj of server.api.select(resource)) {
      if (isDaprWorkload(obj)) replacePods(resource, obj.metadata.namespace!, obj.metadata.name!);
    }
  }
  const unsubscribe = server.rollout.onEvent(onEvent);
  return {
    replacePods,
    podsOf: (namespace, name) => WORKLOADS.flatMap((r) => server.api.find(r, namespace, name) ? owned(r, namespace, name) : []),
    stop: unsubscribe,
  };
}

interface PodInput {
  resource: string;
  namespace: string;
  name: string;
  podName: string;
  hash: string;
  template: JsonObject;
  cpNamespace: string;
  injection: AnchorInjection;
}

function createWorkloadPod(server: KubeApiServer, p: PodInput): KubeObject {
  const meta = (p.template.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
  const spec = structuredClone((p.template.spec ?? {}) as { containers?: JsonObject[]; volumes?: JsonObject[]; serviceAccountName?: string });
  const labels = { ...meta.labels, ...(p.resource === 'deployments' ? { 'pod-template-hash': p.hash } : {}) };
  const ownerKind = p.resource === 'deployments' ? 'ReplicaSet' : KIND[p.resource as keyof typeof KIND];
  const ownerName = p.resource === 'deployments' ? `${p.name}-${p.hash}` : p.name;
  const containers = spec.containers ?? [];
  const volumes = spec.volumes ?? [];
  const app = meta.annotations?.['dapr.io/enabled'] === 'true' && meta.annotations['dapr.io/control-plane'] === undefined;
  if (app) {
    const daprd: JsonObject = { name: 'daprd', image: 'ghcr.io/dapr/daprd:1.16.2', args: ['/daprd', '--mode', 'kubernetes', '--app-id', meta.annotations?.['dapr.io/app-id'] ?? p.name] };
    if (p.injection === 'env') {
      const bundle = server.api.find('configmaps', p.cpNamespace, 'dapr-trust-bundle');
      daprd.env = [{ name: 'DAPR_TRUST_ANCHORS', value: String(dig(bundle, 'data', 'ca.crt') ?? '') }];
    } else {
      daprd.env = [{ name: 'DAPR_TRUST_ANCHORS_FILE', value: `${ROOT_CA_MOUNT}/ca.crt` }];
      daprd.volumeMounts = [{ name: 'dapr-root-ca', mountPath: ROOT_CA_MOUNT, readOnly: true }];
      volumes.push({ name: 'dapr-root-ca', configMap: { name: ROOT_CA_CONFIGMAP } });
    }
    containers.push(daprd);
  }
  const pod = server.api.create('pods', p.namespace, {
    metadata: {
      name: p.podName, labels, ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: ownerKind, name: ownerName, uid: `uid-${ownerName}`, controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...spec, containers, ...(volumes.length > 0 ? { volumes } : {}), nodeName: 'node-1' },
  });
  const now = kubeTime(server.clock.now());
  return server.api.mutate('pods', p.namespace, p.podName, (obj) => {
    obj.status = {
      phase: 'Running', podIP: '10.244.1.10', startTime: now,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
      containerStatuses: containers.map((c) => ({
        name: c.name, image: c.image, imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } },
      })),
    } satisfies JsonObject;
  }, { subresource: 'status' }) ?? pod;
}
