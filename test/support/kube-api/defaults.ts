/**
 * Defaulting as the API server applies it before storing (pkg/apis/{core,apps}/v1/defaults.go),
 * for the fields a round trip through a real cluster would show. Defaults are applied to every
 * write, so a client that PUTs back what it read (or leaves defaults out) does not look like a
 * spec change.
 */
import { ensureObject, isJsonObject, type JsonObject, type KubeObject } from './objects.js';
import type { ResourceType } from './resource-types.js';

function setDefault(obj: JsonObject, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

function imagePullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  const last = image.split('/').pop() ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const tag = last.includes(':') ? last.split(':').pop() : undefined;
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isJsonObject(c)) continue;
    setDefault(c, 'imagePullPolicy', imagePullPolicy(c.image));
    setDefault(c, 'terminationMessagePath', '/dev/termination-log');
    setDefault(c, 'terminationMessagePolicy', 'File');
    setDefault(c, 'resources', {});
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isJsonObject(p)) setDefault(p, 'protocol', 'TCP');
  }
}

export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  if (spec.serviceAccountName === undefined && typeof spec.serviceAccount === 'string') spec.serviceAccountName = spec.serviceAccount;
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
}

function defaultTemplate(spec: JsonObject): void {
  const template = ensureObject(spec, 'template');
  ensureObject(template, 'metadata');
  defaultPodSpec(ensureObject(template, 'spec'));
}

const WORKLOAD_DEFAULTS: Record<string, (spec: JsonObject) => void> = {
  deployments: (spec) => {
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'strategy', { type: 'RollingUpdate' });
    const strategy = spec.strategy as JsonObject;
    if (strategy.type === 'RollingUpdate') setDefault(strategy, 'rollingUpdate', { maxUnavailable: '25%', maxSurge: '25%' });
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
  },
  statefulsets: (spec) => {
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    setDefault(spec, 'updateStrategy', { type: 'RollingUpdate' });
    const strategy = spec.updateStrategy as JsonObject;
    if (strategy.type === 'RollingUpdate') setDefault(strategy, 'rollingUpdate', { partition: 0 });
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
  },
  daemonsets: (spec) => {
    setDefault(spec, 'updateStrategy', { type: 'RollingUpdate' });
    const strategy = spec.updateStrategy as JsonObject;
    if (strategy.type === 'RollingUpdate') setDefault(strategy, 'rollingUpdate', { maxUnavailable: 1, maxSurge: 0 });
    setDefault(spec, 'revisionHistoryLimit', 10);
  },
};

/** Applies the server's defaults to `obj` in place. */
export function applyDefaults(t: ResourceType, obj: KubeObject): void {
  if (t.plural === 'secrets') {
    setDefault(obj, 'type', 'Opaque');
  } else if (t.plural === 'namespaces') {
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name! };
    const spec = ensureObject(obj, 'spec');
    setDefault(spec, 'finalizers', ['kubernetes']);
  } else if (t.plural === 'pods') {
    const spec = ensureObject(obj, 'spec');
    defaultPodSpec(spec);
    setDefault(spec, 'serviceAccountName', 'default');
    setDefault(spec, 'serviceAccount', spec.serviceAccountName);
    setDefault(spec, 'enableServiceLinks', true);
    setDefault(spec, 'priority', 0);
  } else if (WORKLOAD_DEFAULTS[t.plural]) {
    const spec = ensureObject(obj, 'spec');
    WORKLOAD_DEFAULTS[t.plural]!(spec);
    defaultTemplate(spec);
  }
}

/** The status a newly created object starts with (the registry's PrepareForCreate). */
export function initialStatus(t: ResourceType): JsonObject | undefined {
  if (t.plural === 'namespaces') return { phase: 'Active' };
  if (t.plural === 'pods') return { phase: 'Pending', qosClass: 'BestEffort' };
  if (t.statusSubresource) return {};
  return undefined;
}
