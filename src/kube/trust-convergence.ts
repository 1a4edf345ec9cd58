/**
 * Trust convergence, pod by pod (issue 10): which running Dapr pods trust a set of required root
 * certificates, read from what each pod was actually given, not from what the bundle now says.
 *
 *  - An app's `daprd` container reads `DAPR_TRUST_ANCHORS` once, at start (spec 3.5): a literal
 *    `value` is the injector's copy from injection time; a `valueFrom` ConfigMap/Secret key was read
 *    when the container started, so it counts only if the container started after the anchors were
 *    written (`anchorsWrittenAt`).
 *  - A sidecar that reads `DAPR_TRUST_ANCHORS_FILE` (Dapr PR 10290: the per-namespace
 *    `dapr-root-ca.crt` ConfigMap, mounted) hot-reloads the file: it counts once the mounted
 *    ConfigMap/Secret holds the anchors. The kubelet copies a changed ConfigMap into the volume
 *    within its sync period plus cache TTL (≈60–90 s); the caller accounts for that delay by
 *    reading only after its propagation wait (docs/operations.md). A `subPath` mount never
 *    updates, so it is treated like an env value read at start.
 *  - Control-plane pods (`dapr.io/control-plane` in the Dapr namespace) read their anchors file
 *    (`--trust-anchors-file`, default `/var/run/secrets/dapr.io/tls/ca.crt`; the sentry its
 *    credentials Secret) through the same volume rules.
 * Pods that finished, or are being deleted, are left out. The API allows no annotation selector,
 * so pods are listed (paged) and filtered here.
 */
import { createHash } from 'node:crypto';
import { WardenError } from '../core/errors.js';
import { parseCertificatesPem } from '../core/certificate.js';
import { isDaprEnabled } from './restart-apps.js';
import { kubeError, kubeFind, type KubeClients } from './client.js';

export type PodTrustState = 'converged' | 'not-converged' | 'unknown';

export interface PodTrust {
  namespace: string;
  name: string;
  /** 'app': a pod with a daprd sidecar; 'control-plane': a Dapr control-plane pod. */
  role: 'app' | 'control-plane';
  /** `dapr.io/app-id`, or the `dapr.io/control-plane` service. */
  appId?: string;
  /** The workload that owns the pod (what a restart restarts), when it is one. */
  owner?: { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; name: string };
  /** The container whose anchors were read. */
  container?: string;
  state: PodTrustState;
  /** Where the anchors come from: `env DAPR_TRUST_ANCHORS`, `ConfigMap team-a/dapr-root-ca.crt key ca.crt (file)`, … */
  source: string;
  /** Required anchors the pod lacks: `CN (sha256:abcdef012345)`. */
  missing: string[];
  /** Why it is not converged or unknown, or how convergence was established. */
  reason: string;
  /**
   * True when the pod reads its anchors from a mounted file it watches (no subPath): it follows
   * the ConfigMap/Secret without a restart, and a restart would not change what it reads.
   */
  reloads?: boolean;
}

export interface TrustConvergenceReport {
  pods: PodTrust[];
  converged: number;
  notConverged: number;
  unknown: number;
  /** The pods not converged or unknown, in `pods` order. */
  pending: PodTrust[];
}

export interface TrustConvergenceOptions {
  /** The Dapr control-plane namespace (its `dapr.io/control-plane` pods are checked too). */
  controlPlaneNamespace: string;
  /** App namespaces to check (default: all). */
  namespaces?: readonly string[];
  /** PEM: every certificate in it must be among a pod's anchors. */
  requiredAnchors: string;
  /**
   * When the required anchors were written to the ConfigMaps/Secrets pods read at start (env
   * `valueFrom`, `subPath` mounts): a container started before then holds the old copy. Absent:
   * such pods are 'unknown'.
   */
  anchorsWrittenAt?: Date;
  /** Leave out the control-plane pods. */
  appsOnly?: boolean;
}

/** What Warden reads of a pod (client-node's V1Pod, structurally). */
interface PodLike {
  metadata?: {
    name?: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string>;
    deletionTimestamp?: unknown; ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
  spec?: { containers?: ContainerLike[]; volumes?: VolumeLike[] };
  status?: { phase?: string; containerStatuses?: { name?: string; state?: { running?: { startedAt?: Date | string } } }[] };
}
interface ContainerLike {
  name?: string;
  args?: string[];
  command?: string[];
  env?: {
    name?: string; value?: string;
    valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
  }[];
  volumeMounts?: { name?: string; mountPath?: string; subPath?: string }[];
}
interface KeyRef { name?: string; key?: string; optional?: boolean }
interface KeyToPath { key?: string; path?: string }
interface VolumeLike {
  name?: string;
  configMap?: { name?: string; items?: KeyToPath[] };
  secret?: { secretName?: string; items?: KeyToPath[] };
  projected?: { sources?: { configMap?: { name?: string; items?: KeyToPath[] }; secret?: { name?: string; items?: KeyToPath[] } }[] };
}

export const DAPRD_CONTAINER = 'daprd';
export const TRUST_ANCHORS_ENV = 'DAPR_TRUST_ANCHORS';
export const TRUST_ANCHORS_FILE_ENV = 'DAPR_TRUST_ANCHORS_FILE';
/** The control plane's default `--trust-anchors-file` (spec 3.2), and the sentry's credentials mount. */
const CONTROL_PLANE_ANCHOR_PATHS = ['/var/run/secrets/dapr.io/tls/ca.crt', '/var/run/secrets/dapr.io/credentials/ca.crt'];
const PAGE = 500;

interface Anchor { fingerprint: string; label: string }

function anchorsOf(pem: string): Anchor[] {
  return parseCertificatesPem(pem).map((c) => {
    const fingerprint = createHash('sha256').update(c.der).digest('hex');
    return { fingerprint, label: `${c.subject.text || 'root'} (sha256:${fingerprint.slice(0, 12)})` };
  });
}

/** Per-pod trust of `opts.requiredAnchors`. API failures throw (kubeError); a pod's unreadable source is 'unknown'. */
export async function readTrustConvergence(clients: Pick<KubeClients, 'core'>, opts: TrustConvergenceOptions): Promise<TrustConvergenceReport> {
  let required: Anchor[];
  try {
    required = anchorsOf(opts.requiredAnchors);
  } catch (err) {
    throw new WardenError('ERR_USAGE', `the required trust anchors do not parse: ${(err as Error).message}`, { cause: err });
  }
  if (required.length === 0) throw new WardenError('ERR_USAGE', 'no required trust anchor given: pass the PEM of the root(s) every pod must trust');
  const pods = await listDaprPods(clients, opts);
  const sources = new SourceCache(clients);
  // Most pods carry the same PEM (the injector's copy): parse each distinct text once.
  const parsed = new Map<string, Set<string> | Error>();
  const fingerprintsOf = (text: string): Set<string> => {
    let hit = parsed.get(text);
    if (hit === undefined) {
      try {
        hit = new Set(anchorsOf(text).map((a) => a.fingerprint));
      } catch (err) {
        hit = err as Error;
      }
      parsed.set(text, hit);
    }
    if (hit instanceof Error) throw hit;
    return hit;
  };
  const results = await Promise.all(pods.map((p) => checkPod(p.pod, p.role, required, sources, opts, fingerprintsOf)));
  const compare = (a: PodTrust, b: PodTrust): number => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name, 'en', { numeric: true });
  const sorted = results.sort((a, b) => (a.role === b.role ? 0 : a.role === 'control-plane' ? -1 : 1) || compare(a, b));
  const pending = sorted.filter((p) => p.state !== 'converged');
  return {
    pods: sorted,
    converged: sorted.length - pending.length,
    notConverged: pending.filter((p) => p.state === 'not-converged').length,
    unknown: pending.filter((p) => p.state === 'unknown').length,
    pending,
  };
}

/** `ns/name`s of pods, for messages: at most `max`, then "and N more". */
export function podNames(pods: readonly Pick<PodTrust, 'namespace' | 'name'>[], max = 10): string {
  const names = pods.slice(0, max).map((p) => `${p.namespace}/${p.name}`);
  return pods.length > max ? `${names.join(', ')} and ${pods.length - max} more` : names.join(', ');
}

async function listDaprPods(clients: Pick<KubeClients, 'core'>, opts: TrustConvergenceOptions): Promise<{ pod: PodLike; role: PodTrust['role'] }[]> {
  const appScopes: (string | undefined)[] = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : [undefined];
  const scopes = new Set<string | undefined>(appScopes);
  if (!opts.appsOnly && appScopes[0] !== undefined) scopes.add(opts.controlPlaneNamespace);
  const lists = await Promise.all([...scopes].map((ns) => listPods(clients, ns)));
  const seen = new Set<string>();
  const out: { pod: PodLike; role: PodTrust['role'] }[] = [];
  for (const pod of lists.flat()) {
    const { namespace = '', name = '', annotations } = pod.metadata ?? {};
    const key = `${namespace}/${name}`;
    if (seen.has(key) || pod.metadata?.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    seen.add(key);
    const controlPlane = namespace === opts.controlPlaneNamespace && annotations?.['dapr.io/control-plane'] !== undefined;
    if (controlPlane) {
      if (!opts.appsOnly) out.push({ pod, role: 'control-plane' });
    } else if (isDaprEnabled(annotations) && (appScopes[0] === undefined || appScopes.includes(namespace))) {
      out.push({ pod, role: 'app' });
    }
  }
  return out;
}

async function listPods(clients: Pick<KubeClients, 'core'>, namespace: string | undefined): Promise<PodLike[]> {
  const what = `list pods in ${namespace === undefined ? 'all namespaces' : `namespace ${namespace}`}`;
  const pods: PodLike[] = [];
  let next: string | undefined;
  try {
    do {
      const page = namespace === undefined
        ? await clients.core.listPodForAllNamespaces({ limit: PAGE, ...(next ? { _continue: next } : {}) })
        : await clients.core.listNamespacedPod({ namespace, limit: PAGE, ...(next ? { _continue: next } : {}) });
      pods.push(...(page.items as PodLike[]));
      next = page.metadata?._continue || undefined;
    } while (next !== undefined);
  } catch (err) {
    throw kubeError(err, what);
  }
  return pods;
}

/** ConfigMaps and Secrets read once per check. */
class SourceCache {
  private readonly reads = new Map<string, Promise<Record<string, string> | undefined>>();
  constructor(private readonly clients: Pick<KubeClients, 'core'>) {}

  /** The object's data (Secret values decoded), undefined when it does not exist. */
  data(kind: 'ConfigMap' | 'Secret', namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const key = `${kind}/${namespace}/${name}`;
    let read = this.reads.get(key);
    if (!read) {
      read = kind === 'ConfigMap'
        ? kubeFind(`read ConfigMap ${namespace}/${name}`, () => this.clients.core.readNamespacedConfigMap({ namespace, name })).then((cm) => cm && (cm.data ?? {}))
        : kubeFind(`read Secret ${namespace}/${name}`, () => this.clients.core.readNamespacedSecret({ namespace, name })).then((s) => s && Object.fromEntries(
          Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])));
      this.reads.set(key, read);
    }
    return read;
  }
}

interface Located {
  /** What to say where the anchors came from. */
  source: string;
  kind: 'value' | 'ConfigMap' | 'Secret';
  text?: string;
  namespace?: string;
  name?: string;
  key?: string;
  /** Read once at container start (env valueFrom, subPath): needs a start after the write. */
  readAtStart: boolean;
}

async function checkPod(
  pod: PodLike, role: PodTrust['role'], required: Anchor[], sources: SourceCache, opts: TrustConvergenceOptions, fingerprintsOf: (text: string) => Set<string>,
): Promise<PodTrust> {
  const meta = pod.metadata ?? {};
  const namespace = meta.namespace ?? '';
  const base: Omit<PodTrust, 'state' | 'source' | 'missing' | 'reason'> = { namespace, name: meta.name ?? '', role };
  const appId = role === 'app' ? meta.annotations?.['dapr.io/app-id'] : meta.annotations?.['dapr.io/control-plane'];
  if (appId) base.appId = appId;
  const owner = ownerOf(pod);
  if (owner) base.owner = owner;
  const result = (state: PodTrustState, source: string, reason: string, missing: string[] = []): PodTrust => ({ ...base, state, source, missing, reason });

  const container = role === 'app'
    ? pod.spec?.containers?.find((c) => c.name === DAPRD_CONTAINER)
    : pod.spec?.containers?.[0];
  if (!container) {
    return result('unknown', 'none', 'no daprd container: the sidecar injector did not inject this pod (is dapr-sidecar-injector running?); restart it once the injector is up');
  }
  base.container = container.name ?? '';
  let located: Located | { unknown: string; source: string };
  try {
    located = role === 'app' ? locateAppAnchors(container, pod, namespace) : locateControlPlaneAnchors(container, pod, namespace);
  } catch (err) {
    return result('unknown', 'none', (err as Error).message);
  }
  if ('unknown' in located) return result('unknown', located.source, located.unknown);

  if (located.kind !== 'value' && !located.readAtStart) base.reloads = true;
  let text = located.text;
  if (located.kind !== 'value') {
    let data: Record<string, string> | undefined;
    try {
      data = await sources.data(located.kind, located.namespace!, located.name!);
    } catch (err) {
      return result('unknown', located.source, `cannot read it: ${(err as Error).message}`);
    }
    if (data === undefined) return result('not-converged', located.source, `${located.kind} ${located.namespace}/${located.name} does not exist`, required.map((a) => a.label));
    text = data[located.key!];
    if (text === undefined) return result('not-converged', located.source, `${located.kind} ${located.namespace}/${located.name} has no key ${located.key}`, required.map((a) => a.label));
  }
  let present: Set<string>;
  try {
    present = fingerprintsOf(text ?? '');
  } catch (err) {
    return result('not-converged', located.source, `its anchors do not parse: ${(err as Error).message}`, required.map((a) => a.label));
  }
  const missing = required.filter((a) => !present.has(a.fingerprint)).map((a) => a.label);
  if (missing.length > 0) {
    return result('not-converged', located.source, `lacks ${missing.join(', ')}${located.kind === 'value' ? ' (injected before the new root was added; a restart re-injects it)' : ''}`, missing);
  }
  if (located.readAtStart) {
    const started = startedAt(pod, container.name ?? '');
    if (opts.anchorsWrittenAt === undefined || started === undefined) {
      return result('unknown', located.source, `read once at container start, and ${started === undefined ? 'the container has not started' : 'when the anchors were written is not known'}; restart the pod to be sure`);
    }
    if (started.getTime() < Math.floor(opts.anchorsWrittenAt.getTime() / 1000) * 1000) {
      return result('not-converged', located.source, `read at container start (${started.toISOString()}), before the anchors were written (${opts.anchorsWrittenAt.toISOString()}); a restart re-reads it`, required.map((a) => a.label));
    }
  }
  const how = located.kind === 'value' ? 'injected' : located.readAtStart ? 'read at start, after the write' : 'mounted; the kubelet syncs changes into the volume';
  return result('converged', located.source, `holds every required anchor (${how})`);
}

function locateAppAnchors(container: ContainerLike, pod: PodLike, namespace: string): Located | { unknown: string; source: string } {
  const file = container.env?.find((e) => e.name === TRUST_ANCHORS_FILE_ENV);
  if (file?.value) return locateFile(container, pod, namespace, file.value);
  const env = container.env?.find((e) => e.name === TRUST_ANCHORS_ENV);
  if (!env) return { unknown: `the daprd container sets neither ${TRUST_ANCHORS_ENV} nor ${TRUST_ANCHORS_FILE_ENV}`, source: 'none' };
  if (env.value !== undefined) return { source: `env ${TRUST_ANCHORS_ENV}`, kind: 'value', text: env.value, readAtStart: false };
  const ref = env.valueFrom?.configMapKeyRef ?? env.valueFrom?.secretKeyRef;
  if (!ref?.name || !ref.key) return { unknown: `env ${TRUST_ANCHORS_ENV} comes from a source Warden cannot read (${Object.keys(env.valueFrom ?? {}).join(', ') || 'empty'})`, source: `env ${TRUST_ANCHORS_ENV}` };
  const kind = env.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret';
  return { source: `env ${TRUST_ANCHORS_ENV} from ${kind} ${namespace}/${ref.name} key ${ref.key}`, kind, namespace, name: ref.name, key: ref.key, readAtStart: true };
}

function locateControlPlaneAnchors(container: ContainerLike, pod: PodLike, namespace: string): Located | { unknown: string; source: string } {
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const candidates: string[] = [];
  const fromEnv = container.env?.find((e) => e.name === TRUST_ANCHORS_FILE_ENV)?.value;
  if (fromEnv) candidates.push(fromEnv);
  for (const [i, a] of args.entries()) {
    if (a === '--trust-anchors-file' && args[i + 1]) candidates.push(args[i + 1]!);
    else if (a.startsWith('--trust-anchors-file=')) candidates.push(a.slice('--trust-anchors-file='.length));
  }
  candidates.push(...CONTROL_PLANE_ANCHOR_PATHS);
  for (const path of candidates) {
    const found = locateFile(container, pod, namespace, path);
    if (!('unknown' in found)) return found;
  }
  return { unknown: `no volume mounts its trust anchors file (${candidates[0]})`, source: 'none' };
}

/** The ConfigMap/Secret key a file path inside the container comes from (the longest mount that holds it). */
function locateFile(container: ContainerLike, pod: PodLike, namespace: string, path: string): Located | { unknown: string; source: string } {
  const source = `file ${path}`;
  const mounts = (container.volumeMounts ?? [])
    .filter((m) => m.mountPath && (path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`)))
    .sort((a, b) => (b.mountPath?.length ?? 0) - (a.mountPath?.length ?? 0));
  const mount = mounts[0];
  if (!mount) return { unknown: `${TRUST_ANCHORS_FILE_ENV}=${path}, but no volume is mounted there`, source };
  const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
  if (!volume) return { unknown: `the volume ${mount.name ?? ''} mounted at ${mount.mountPath ?? ''} is not in the pod`, source };
  const relative = path === mount.mountPath ? '' : path.slice(mount.mountPath!.replace(/\/+$/, '').length + 1);
  const subPath = mount.subPath ?? '';
  const inVolume = subPath !== '' ? [subPath, relative].filter((s) => s !== '').join('/') : relative;
  const pick = (kind: 'ConfigMap' | 'Secret', name: string | undefined, items: KeyToPath[] | undefined): Located | undefined => {
    if (!name) return undefined;
    const key = items && items.length > 0 ? items.find((i) => i.path === inVolume)?.key : inVolume;
    if (!key) return undefined;
    return {
      source: `${kind} ${namespace}/${name} key ${key} (${subPath ? 'subPath mount, read at start' : 'mounted file'} ${path})`,
      kind, namespace, name, key, readAtStart: subPath !== '',
    };
  };
  const found = pick('ConfigMap', volume.configMap?.name, volume.configMap?.items)
    ?? pick('Secret', volume.secret?.secretName, volume.secret?.items)
    ?? (volume.projected?.sources ?? []).map((s) => pick('ConfigMap', s.configMap?.name, s.configMap?.items) ?? pick('Secret', s.secret?.name, s.secret?.items))
      .find((x) => x !== undefined);
  return found ?? { unknown: `the volume ${mount.name ?? ''} mounted at ${mount.mountPath ?? ''} is not a ConfigMap or Secret holding ${inVolume || path}`, source };
}

function startedAt(pod: PodLike, container: string): Date | undefined {
  const at = pod.status?.containerStatuses?.find((s) => s.name === container)?.state?.running?.startedAt;
  if (at === undefined) return undefined;
  const date = at instanceof Date ? at : new Date(at);
  return Number.isFinite(date.getTime()) ? date : undefined;
}

/**
 * The workload a restart of this pod restarts: a StatefulSet/DaemonSet owner, or the Deployment
 * owning its ReplicaSet (the ReplicaSet's name minus the pod's `pod-template-hash`).
 */
function ownerOf(pod: PodLike): PodTrust['owner'] {
  const ref = pod.metadata?.ownerReferences?.find((o) => o.controller !== false && o.name);
  if (!ref?.name) return undefined;
  if (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet') return { kind: ref.kind, name: ref.name };
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: ref.name.slice(0, -hash.length - 1) };
  return undefined;
}
