/** Shared bits of the `renew-certificate -k` tests: a seeded cluster, running the CLI (binary or in-process), reading the result. */
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { buildBundle, type BuiltBundle } from '../support/bundles.js';
import {
  seedDaprApps, seedDaprControlPlane, startKubeApiServer, type DaprAppsOptions, type DaprControlPlaneOptions, type KubeApiServer, type RolloutEvent,
} from '../support/kube-api/index.js';
import { runWarden, type RunResult } from '../cli/helpers.js';

export interface Cluster {
  server: KubeApiServer;
  namespace: string;
  old: BuiltBundle;
}

/** An API server with a Dapr control plane holding a valid bundle for `trustDomain`, plus apps. */
export async function startCluster(opts: {
  controlPlane?: DaprControlPlaneOptions; apps?: DaprAppsOptions; rolloutDelayMs?: number; trustDomain?: string; withBundle?: boolean;
} = {}): Promise<Cluster> {
  const server = await startKubeApiServer({ rolloutDelayMs: opts.rolloutDelayMs ?? 60 });
  const namespace = opts.controlPlane?.namespace ?? 'dapr-system';
  const trustDomain = opts.trustDomain ?? opts.controlPlane?.trustDomain ?? 'cluster.local';
  const old = await buildBundle({ now: new Date(), trustDomain, namespace });
  seedDaprControlPlane(server, { ...(opts.withBundle === false ? {} : { trustBundle: old.texts }), ...opts.controlPlane });
  if (opts.apps) seedDaprApps(server, opts.apps);
  return { server, namespace, old };
}

/** `warden mtls renew-certificate -k --kubeconfig <server's> …args` through the built binary. */
export function runRenewK(c: Cluster, home: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runWarden(['mtls', 'renew-certificate', '-k', '--kubeconfig', c.server.kubeconfigPath, ...args], { home, env });
}

/** The same, in-process (captured output). */
export async function runRenewKInProcess(c: Cluster, args: string[], home = '/nonexistent'): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo({ env: { HOME: home } });
  const code = await main(['mtls', 'renew-certificate', '-k', '--kubeconfig', c.server.kubeconfigPath, ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

const text = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('utf8');

/** The bundle in the cluster: the Secret's three keys and the ConfigMap's ca.crt. */
export function clusterBundle(c: Cluster, name = 'dapr-trust-bundle'): { secret: BundleTexts; configMapCa: string | undefined; secretRv: string | undefined } {
  const secret = c.server.api.get('secrets', c.namespace, name);
  const data = (secret.data ?? {}) as Record<string, string>;
  const configMap = c.server.api.get('configmaps', c.namespace, 'dapr-trust-bundle');
  return {
    secret: { ca: text(data['ca.crt']), issuerCert: text(data['issuer.crt']), issuerKey: text(data['issuer.key']) },
    configMapCa: (configMap.data as Record<string, string> | undefined)?.['ca.crt'],
    secretRv: secret.metadata.resourceVersion,
  };
}

/** Names of the backup Secrets in the Dapr namespace. */
export function backupSecrets(c: Cluster): string[] {
  return c.server.api.select('secrets', { namespace: c.namespace }).map((s) => s.metadata.name ?? '').filter((n) => n.includes('-backup-'));
}

/** Every request that changed something (the request log, not our own account). */
export function writeRequests(c: Cluster): string[] {
  return c.server.requests.filter({ verb: ['create', 'update', 'patch', 'delete', 'deletecollection'] }).map((r) => `${r.verb} ${r.resource}/${r.name ?? ''}`);
}

/** The most workloads rolling out at once in the server's log (restarted, not yet completed or failed). */
export function maxInFlight(events: readonly RolloutEvent[]): number {
  const open = new Set<string>();
  let max = 0;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const k = `${e.resource}/${e.namespace}/${e.name}`;
    if (e.type === 'restarted') open.add(k);
    if (e.type === 'completed' || e.type === 'failed') open.delete(k);
    max = Math.max(max, open.size);
  }
  return max;
}
