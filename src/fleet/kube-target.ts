/**
 * A Kubernetes target: one kubeconfig context. Read with the existing readers: Dapr's namespace as
 * the Dapr CLI finds it (discovery.ts), the Secret + ConfigMap `dapr-trust-bundle` and their drift
 * (kube-store.ts reports `anchorsMismatch`), the rotation journal Secret (kube-journal.ts), and
 * the `dapr-sentry` Deployment: ready by `kubectl rollout status`'s rules (rollout-status.ts, as
 * `doctor -k` judges it) and Dapr's version from its `app.kubernetes.io/version` label or image tag;
 * the apps not converged on the current `ca.crt` pod by pod (trust-convergence.ts).
 *
 * Only get and list requests (docs/metrics.md lists them for the read-only Role). The clients are
 * made once and reused for every read (one connection per cluster); each request also aborts on
 * the current read's signal, so a hanging API server is let go of at the target's timeout.
 */
import { delimiter } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { isWardenError } from '../core/errors.js';
import type { RotationRecord } from '../core/rotation-phases/record.js';
import { readTrustConvergence } from '../kube/trust-convergence.js';
import { listKubeContexts, loadKubeClients, kubeFind, type KubeClients } from '../kube/client.js';
import { findDaprNamespace, SENTRY_DEPLOYMENT } from '../kube/discovery.js';
import { rolloutVerdict } from '../kube/rollout-status.js';
import { KubeJournalStore } from '../rotation-engine/kube-journal.js';
import { KubeTrustBundleStore } from '../stores/kube-store.js';
import type { FixCommand, TargetFacts } from './judge.js';
import { readJournal } from './journal-read.js';
import type { FleetTarget } from './model.js';
import { fixCommandWith, targetRow, type TargetReader } from './target-reader.js';

export interface KubeTargetOptions {
  /** The context to read. */
  context: string;
  /** Kubeconfig files merged as `$KUBECONFIG` is; empty: kubectl's default lookup. */
  kubeconfigs: readonly string[];
  /** Dapr's namespace; undefined: found as the Dapr CLI does (needs cluster-wide list rights). */
  namespace?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Computes `appsNotConverged` (default: appsNotConverged below; tests replace it). */
  appsNotConverged?: AppsNotConverged;
}

/** How many Dapr apps do not trust all of `anchorsPem` yet; null when that cannot be told. */
export type AppsNotConverged = (clients: KubeClients, namespace: string, anchorsPem: string, anchorsWrittenAt: Date | undefined) => Promise<number | null>;

/**
 * Dapr apps whose pods do not trust every root of the current `ca.crt` (trust-convergence.ts: what
 * each daprd was given). Without the right to list pods (a Role that leaves pods out) it is null,
 * not an error.
 */
export const appsNotConverged: AppsNotConverged = async (clients, namespace, anchorsPem, anchorsWrittenAt) => {
  try {
    const report = await readTrustConvergence(clients, {
      controlPlaneNamespace: namespace, requiredAnchors: anchorsPem, appsOnly: true, ...(anchorsWrittenAt ? { anchorsWrittenAt } : {}),
    });
    return report.notConverged;
  } catch (error) {
    if (isWardenError(error) && error.code === 'ERR_KUBE_FORBIDDEN') return null;
    throw error;
  }
};

export class KubeTargetReader implements TargetReader {
  readonly kind = 'kubernetes';
  readonly fallbackErrorCode = 'ERR_KUBE_API';
  readonly name: string;
  private clients: Promise<KubeClients> | undefined;
  private signal: AbortSignal | undefined;
  private readonly fix: FixCommand;

  constructor(private readonly opts: KubeTargetOptions) {
    this.name = opts.context;
    // `--kubeconfig` takes one file (as kubectl's); several files are merged through KUBECONFIG.
    const flags = ['-k'];
    if (opts.kubeconfigs.length === 1) flags.push('--kubeconfig', opts.kubeconfigs[0] as string);
    flags.push('--context', opts.context);
    if (opts.namespace !== undefined) flags.push('--namespace', opts.namespace);
    this.fix = fixCommandWith(flags, opts.kubeconfigs.length > 1 ? { KUBECONFIG: opts.kubeconfigs.join(delimiter) } : {});
  }

  async read(signal: AbortSignal, now: Date): Promise<FleetTarget> {
    this.signal = signal;
    const clients = await this.connect();
    const namespace = await findDaprNamespace(clients, this.opts.namespace);
    // `create: true` only so that missing objects read as an absent bundle (a finding) rather than
    // an error: the fleet never writes.
    const store = new KubeTrustBundleStore({ clients, namespace, create: true });
    const journal = new KubeJournalStore({ clients, namespace, commandLine: this.fix });
    const [read, record, sentry] = await Promise.all([store.read(), readJournal(journal), readSentry(clients, namespace)]);
    const apps = read.state === 'complete'
      ? await (this.opts.appsNotConverged ?? appsNotConverged)(clients, namespace, read.texts.ca, lastAnchorWrite(record))
      : null;
    return targetRow(this, {
      read, record, daprNamespace: namespace, daprVersion: sentry.version,
      configMapInSync: read.state === 'complete' ? !('anchorsMismatch' in read) : null,
      sentry: sentry.state, appsNotConverged: apps,
    }, this.fix, now);
  }

  private connect(): Promise<KubeClients> {
    this.clients ??= loadKubeClients({
      context: this.opts.context,
      ...(this.opts.kubeconfigs.length > 0 ? { kubeconfigs: this.opts.kubeconfigs } : {}),
      ...(this.opts.env ? { env: this.opts.env } : {}),
      requestSignal: () => this.signal,
    });
    // A failed load (bad kubeconfig) is tried again at the next read.
    this.clients.catch(() => (this.clients = undefined));
    return this.clients;
  }
}

/** Every context of the kubeconfig (`kubeconfigs` merged; empty: kubectl's default lookup). */
export function kubeContexts(kubeconfigs: readonly string[], env?: Readonly<Record<string, string | undefined>>): Promise<string[]> {
  return listKubeContexts({ ...(kubeconfigs.length > 0 ? { kubeconfigs } : {}), ...(env ? { env } : {}) });
}

/** When the journal last wrote ca.crt (add-anchor or retire-old-root), for pods that read their anchors at start. */
function lastAnchorWrite(record: RotationRecord | undefined): Date | undefined {
  if (record === undefined || record.status === 'rolled-back') return undefined;
  const times = [record.phases['add-anchor'].writtenAt, record.phases['retire-old-root'].writtenAt].filter((t) => t !== undefined).map((t) => Date.parse(t));
  return times.length === 0 ? undefined : new Date(Math.max(...times));
}

interface SentryRead {
  state: NonNullable<TargetFacts['sentry']>;
  version: string | null;
}

async function readSentry(clients: KubeClients, namespace: string): Promise<SentryRead> {
  const deployment = await kubeFind(`read Deployment ${namespace}/${SENTRY_DEPLOYMENT}`, () =>
    clients.apps.readNamespacedDeployment({ namespace, name: SENTRY_DEPLOYMENT }));
  if (deployment === undefined) {
    return { state: { ready: false, message: `There is no Deployment ${SENTRY_DEPLOYMENT} in ${namespace}: nothing signs workload certificates.` }, version: null };
  }
  const verdict = rolloutVerdict('Deployment', deployment);
  const version = daprVersionOf(deployment);
  if (verdict.done) return { state: { ready: true }, version };
  return { state: { ready: false, message: `Deployment ${SENTRY_DEPLOYMENT} in ${namespace} is not rolled out and ready: ${verdict.message}` }, version };
}

/** `app.kubernetes.io/version` (Helm sets it), else the tag of the sentry container's image. */
export function daprVersionOf(deployment: V1Deployment): string | null {
  const label = deployment.metadata?.labels?.['app.kubernetes.io/version'];
  if (label) return label;
  const image = deployment.spec?.template?.spec?.containers?.[0]?.image ?? '';
  const tag = /:([\w][\w.-]*)$/.exec(image.split('@')[0] ?? '')?.[1];
  return tag === undefined || tag === 'latest' ? null : tag;
}
