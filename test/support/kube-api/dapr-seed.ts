/**
 * A Dapr installation as the Helm chart renders it (charts/dapr, spec 3.2): the control-plane
 * namespace, the `daprsystem` Configuration, the sentry/operator/injector Deployments, the
 * placement/scheduler StatefulSets (labels, images, service accounts, annotations as Helm sets
 * them), the `dapr-trust-bundle` Secret and ConfigMap; and Dapr-enabled application workloads.
 */
import type { BundleTexts } from '../../../src/core/bundle-texts.js';
import { templateHash, type JsonObject, type KubeObject } from './objects.js';
import { createPod, ensureServiceAccount } from './pods.js';
import type { WorkloadRef } from './rollout-controller.js';
import type { KubeApiServer } from './server.js';

export interface DaprControlPlaneOptions {
  /** Default 'dapr-system'. */
  namespace?: string;
  /** Image tag and `app.kubernetes.io/version` (default '1.16.2'). */
  version?: string;
  /** Default true; false models Dapr < 1.14 (no scheduler). */
  withScheduler?: boolean;
  /** Secret keys ca.crt/issuer.crt/issuer.key and ConfigMap ca.crt; absent → the empty objects Helm renders without certificates. */
  trustBundle?: BundleTexts;
  /** `spec.mtls.enabled` of `daprsystem` (default true); null leaves the field out. */
  mtlsEnabled?: boolean | null;
  /** `spec.mtls.controlPlaneTrustDomain` (default 'cluster.local'). */
  trustDomain?: string;
  workloadCertTTL?: string;
  allowedClockSkew?: string;
  /** Default true; false skips the `daprsystem` Configuration. */
  withConfiguration?: boolean;
  /** HA mode: 3 replicas each (default false: 1). */
  ha?: boolean;
  /** One Running pod per workload, with Helm's service accounts and `dapr.io/control-plane` annotations (default true). */
  withPods?: boolean;
  /** Workloads start fully rolled out (default true); false leaves them to the rollout controller. */
  ready?: boolean;
}

export interface DaprControlPlane {
  namespace: string;
  version: string;
  trustDomain: string;
  /** Every seeded workload, sentry first. */
  workloads: WorkloadRef[];
  /** Pod name per control-plane service ('sentry', 'operator', 'injector', 'placement', 'scheduler'). */
  pods: Record<string, string>;
}

interface Component {
  resource: 'deployments' | 'statefulsets';
  name: string;
  /** `dapr.io/control-plane` value and image name. */
  service: string;
  image: string;
  serviceAccount: string;
  mounts: 'secret' | 'configmap';
}

const COMPONENTS: readonly Component[] = [
  { resource: 'deployments', name: 'dapr-sentry', service: 'sentry', image: 'sentry', serviceAccount: 'dapr-sentry', mounts: 'secret' },
  { resource: 'deployments', name: 'dapr-operator', service: 'operator', image: 'operator', serviceAccount: 'dapr-operator', mounts: 'configmap' },
  { resource: 'deployments', name: 'dapr-sidecar-injector', service: 'injector', image: 'injector', serviceAccount: 'dapr-injector', mounts: 'configmap' },
  { resource: 'statefulsets', name: 'dapr-placement-server', service: 'placement', image: 'placement', serviceAccount: 'dapr-placement', mounts: 'configmap' },
  { resource: 'statefulsets', name: 'dapr-scheduler-server', service: 'scheduler', image: 'scheduler', serviceAccount: 'dapr-scheduler', mounts: 'configmap' },
];

function helmLabels(component: string, version: string): Record<string, string> {
  return {
    'app.kubernetes.io/component': component, 'app.kubernetes.io/managed-by': 'helm', 'app.kubernetes.io/name': 'dapr',
    'app.kubernetes.io/part-of': 'dapr', 'app.kubernetes.io/version': version,
  };
}

function ensureNamespace(server: KubeApiServer, name: string): void {
  if (!server.api.find('namespaces', undefined, name)) server.api.create('namespaces', undefined, { metadata: { name } });
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function controlPlaneWorkload(c: Component, o: { version: string; trustDomain: string; namespace: string; replicas: number }): KubeObject {
  const labels = { app: c.name, ...helmLabels(c.service, o.version) };
  const volume = c.mounts === 'secret'
    ? { name: 'credentials', secret: { secretName: 'dapr-trust-bundle' } }
    : { name: 'dapr-trust-bundle', configMap: { name: 'dapr-trust-bundle' } };
  const mountPath = c.mounts === 'secret' ? '/var/run/secrets/dapr.io/credentials' : '/var/run/secrets/dapr.io/tls';
  const spec: Record<string, unknown> = {
    replicas: o.replicas,
    selector: { matchLabels: { app: c.name } },
    template: {
      metadata: {
        labels,
        annotations: { 'dapr.io/control-plane': c.service, 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/' },
      },
      spec: {
        serviceAccountName: c.serviceAccount,
        containers: [{
          name: c.name,
          image: `ghcr.io/dapr/${c.image}:${o.version}`,
          args: ['--log-level', 'info', '--trust-domain', o.trustDomain],
          env: [{ name: 'NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } }],
          volumeMounts: [{ name: volume.name, mountPath, readOnly: true }],
        }],
        volumes: [volume],
      },
    },
  };
  if (c.resource === 'statefulsets') Object.assign(spec, { serviceName: c.name, podManagementPolicy: 'Parallel' });
  return { metadata: { name: c.name, labels }, spec };
}

function podSpecOf(workload: KubeObject): { containers: JsonObject[]; volumes: JsonObject[] } {
  const spec = (workload.spec as { template: { spec: { containers: JsonObject[]; volumes: JsonObject[] } } }).template.spec;
  return structuredClone({ containers: spec.containers, volumes: spec.volumes });
}

/** Seeds a Dapr control plane; returns what was created. */
export function seedDaprControlPlane(server: KubeApiServer, opts: DaprControlPlaneOptions = {}): DaprControlPlane {
  const namespace = opts.namespace ?? 'dapr-system';
  const version = opts.version ?? '1.16.2';
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  ensureNamespace(server, namespace);
  if (opts.withConfiguration ?? true) {
    const mtls: Record<string, unknown> = {
      workloadCertTTL: opts.workloadCertTTL ?? '24h',
      allowedClockSkew: opts.allowedClockSkew ?? '15m',
      controlPlaneTrustDomain: trustDomain,
      sentryAddress: `dapr-sentry.${namespace}.svc.cluster.local:443`,
    };
    const enabled = opts.mtlsEnabled === undefined ? true : opts.mtlsEnabled;
    if (enabled !== null) mtls.enabled = enabled;
    server.api.create('configurations', namespace, {
      metadata: { name: 'daprsystem', labels: helmLabels('config', version) },
      spec: { mtls },
    });
  }
  const sentryLabels = { app: 'dapr-sentry', ...helmLabels('sentry', version) };
  const bundle = opts.trustBundle;
  server.api.create('secrets', namespace, {
    metadata: { name: 'dapr-trust-bundle', labels: sentryLabels },
    type: 'Opaque',
    ...(bundle ? { data: { 'ca.crt': b64(bundle.ca), 'issuer.crt': b64(bundle.issuerCert), 'issuer.key': b64(bundle.issuerKey) } } : {}),
  });
  server.api.create('configmaps', namespace, {
    metadata: { name: 'dapr-trust-bundle', labels: sentryLabels },
    ...(bundle ? { data: { 'ca.crt': bundle.ca } } : {}),
  });

  const replicas = opts.ha ? 3 : 1;
  const workloads: WorkloadRef[] = [];
  const pods: Record<string, string> = {};
  for (const c of COMPONENTS) {
    if (c.name === 'dapr-scheduler-server' && opts.withScheduler === false) continue;
    ensureServiceAccount(server, namespace, c.serviceAccount);
    const workload = controlPlaneWorkload(c, { version, trustDomain, namespace, replicas });
    server.api.create(c.resource, namespace, workload);
    const ref = { resource: c.resource, namespace, name: c.name };
    workloads.push(ref);
    if (opts.ready ?? true) server.rollout.completeNow(ref);
    if (opts.withPods ?? true) {
      // Stable, realistic names: `<sts>-0`, `<deploy>-<pod-template-hash>-<suffix>`.
      const podName = c.resource === 'statefulsets' ? `${c.name}-0` : `${c.name}-${templateHash(c.name)}-${templateHash(`${c.name}/pod`).slice(0, 5)}`;
      createPod(server, {
        namespace, name: podName, serviceAccount: c.serviceAccount, image: `ghcr.io/dapr/${c.image}:${version}`,
        labels: { app: c.name, ...helmLabels(c.service, version) }, annotations: { 'dapr.io/control-plane': c.service },
        // The template's containers and volumes, so the pod mounts the trust bundle as Helm's do.
        ...podSpecOf(workload),
      });
      pods[c.service] = podName;
    }
  }
  return { namespace, version, trustDomain, workloads, pods };
}

export interface DaprAppsOptions {
  /** Created when missing (default ['default']). */
  namespaces?: readonly string[];
  /** Dapr-enabled workloads in total, spread round-robin over namespaces and kinds (default 3). */
  count?: number;
  /** Default ['deployments']. */
  kinds?: readonly ('deployments' | 'statefulsets' | 'daemonsets')[];
  /** Also create this many workloads that are not Dapr-enabled (half without annotations, half `dapr.io/enabled: "false"`). */
  nonDaprCount?: number;
  /** Name prefix (default 'app'): names are `<prefix>-<i>`. */
  prefix?: string;
  /** Workloads start fully rolled out (default true). */
  ready?: boolean;
}

export interface DaprApp extends WorkloadRef {
  /** `dapr.io/app-id` (undefined for non-Dapr workloads). */
  appId?: string;
  daprEnabled: boolean;
}

/** Seeds application workloads; returns them (Dapr-enabled first). */
export function seedDaprApps(server: KubeApiServer, opts: DaprAppsOptions = {}): DaprApp[] {
  const namespaces = opts.namespaces ?? ['default'];
  const kinds = opts.kinds ?? ['deployments'];
  const prefix = opts.prefix ?? 'app';
  for (const ns of namespaces) ensureNamespace(server, ns);
  const apps: DaprApp[] = [];
  const total = (opts.count ?? 3) + (opts.nonDaprCount ?? 0);
  for (let i = 0; i < total; i += 1) {
    const dapr = i < (opts.count ?? 3);
    const namespace = namespaces[i % namespaces.length]!;
    const resource = kinds[Math.floor(i / namespaces.length) % kinds.length]!;
    const name = `${prefix}-${i}`;
    const annotations: Record<string, string> | undefined = dapr
      ? { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name, 'dapr.io/app-port': '8080' }
      : i % 2 === 0 ? undefined : { 'dapr.io/enabled': 'false' };
    const spec: Record<string, unknown> = {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(annotations ? { annotations } : {}) },
        spec: { containers: [{ name: 'app', image: 'ghcr.io/example/app:1.0', ports: [{ containerPort: 8080 }] }] },
      },
    };
    if (resource !== 'daemonsets') spec.replicas = 1;
    if (resource === 'statefulsets') spec.serviceName = name;
    server.api.create(resource, namespace, { metadata: { name, labels: { app: name } }, spec });
    const ref = { resource, namespace, name };
    if (opts.ready ?? true) server.rollout.completeNow(ref);
    apps.push({ ...ref, daprEnabled: dapr, ...(dapr ? { appId: name } : {}) });
  }
  return apps;
}
