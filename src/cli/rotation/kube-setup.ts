/**
 * What the rotation commands work on with `-k`: the cluster session (clients, Dapr's namespace,
 * the Secret + ConfigMap store), the journal Secret, the backend, and the command lines that
 * repeat the operator's cluster flags. Loaded only by `-k` paths (it brings in the Kubernetes client).
 */
import { WardenError } from '../../core/errors.js';
import { systemTimers } from '../../identity/timers.js';
import type { WritePhase } from '../../core/rotation/phases.js';
import type { RotationSettings } from '../../core/rotation/record.js';
import type { Sleeper } from '../../rotation/backend.js';
import { KubeRotationBackend } from '../../rotation/backends/kube.js';
import { KubeJournalStore } from '../../rotation/kube-journal.js';
import { openKubeSession, type KubeSession } from '../kube-bundle.js';
import type { KubeCliOptions } from '../kube-options.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import { createProgressDisplay, type ProgressDisplay } from '../progress.js';
import type { CredentialOptions } from '../options.js';
import { shellQuote } from './command-line.js';
import type { RotationRuntime } from './rotate-setup.js';

export interface KubeRotationSetup extends KubeSession {
  journal: KubeJournalStore;
  sleeper: Sleeper;
}

export interface KubeRotationOptions extends KubeCliOptions, Partial<CredentialOptions> {
  backupDir?: string;
}

/** The cluster session plus the journal Secret in Dapr's namespace. */
export async function openKubeRotation(opts: KubeRotationOptions, io: Io, runtime: RotationRuntime): Promise<KubeRotationSetup> {
  if (opts.issuerCredentials !== undefined) {
    throw new WardenError('ERR_USAGE', '--issuer-credentials names a self-hosted bundle directory; with -k the bundle is the Secret and ConfigMap dapr-trust-bundle in Dapr\'s namespace (--namespace)');
  }
  const session = await openKubeSession({ ...opts, ...(opts.backupDir !== undefined ? { backupDir: opts.backupDir } : {}) }, io);
  return { ...session, journal: new KubeJournalStore({ clients: session.clients, namespace: session.namespace }), sleeper: runtime.sleeper ?? systemTimers };
}

/** The cluster flags the operator gave, to repeat in printed commands. */
export function kubeArgs(opts: KubeCliOptions): string[] {
  const args = ['-k'];
  if (opts.kubeconfig !== undefined) args.push('--kubeconfig', opts.kubeconfig);
  if (opts.context !== undefined) args.push('--context', opts.context);
  if (opts.namespace !== undefined) args.push('--namespace', opts.namespace);
  return args;
}

/** `warden mtls <sub> -k … <args…>` as one shell line. */
export function kubeCommandLine(sub: string, opts: KubeCliOptions, args: readonly string[] = []): string {
  return ['warden', 'mtls', sub, ...kubeArgs(opts), ...args].map(shellQuote).join(' ');
}

/** The backend, with the restart events printed as lines. */
export function createKubeBackend(
  setup: KubeRotationSetup, io: Io, runtime: RotationRuntime, estimate: { appCount?: number } = {},
): KubeRotationBackend {
  const displays = new Map<WritePhase, ProgressDisplay>();
  return new KubeRotationBackend({
    clients: setup.clients,
    namespace: setup.namespace,
    store: setup.store,
    journal: setup.journal,
    clock: io.clock,
    sleeper: setup.sleeper,
    ...(runtime.pollIntervalMs !== undefined ? { pollIntervalMs: runtime.pollIntervalMs } : {}),
    ...(estimate.appCount !== undefined ? { appCount: estimate.appCount } : {}),
    onRestartEvent: (phase, e) => {
      if (e.type === 'restarting') printStatus(io, 'info', `[${phase}] Restarting ${e.ref.name}..`);
      else if (e.type === 'restarted') printStatus(io, 'info', `[${phase}] ${e.ref.kind.toLowerCase()}/${e.ref.name} rolled out in ${(e.durationMs / 1000).toFixed(1)}s`);
      else if (e.type === 'skipped') printStatus(io, 'info', `[${phase}] ${e.name} is ${e.reason}; skipped`);
      else if (e.type === 'failed') printStatus(io, 'failure', `[${phase}] ${e.error.message}`);
      else if (e.type === 'status' && e.message.startsWith('already restarted')) printStatus(io, 'info', `[${phase}] ${e.ref.name}: ${e.message}`);
    },
    onApps: (phase, what) => {
      if (what.state === 'start') {
        const skipped = what.skipped > 0 ? ` (${what.skipped} already restarted after this phase's write)` : '';
        printStatus(io, 'pending', `[${phase}] Restarting ${what.total} Dapr app(s)${skipped}`);
        displays.set(phase, createProgressDisplay(io, false));
      } else {
        displays.get(phase)?.finish();
        printStatus(io, what.failed === 0 ? 'success' : 'failure',
          `[${phase}] ${what.restarted} Dapr app(s) restarted${what.failed > 0 ? `, ${what.failed} failed` : ''} (${(what.durationMs / 1000).toFixed(1)}s)`);
      }
    },
    onAppProgress: (phase, p) => displays.get(phase)?.update(p),
  });
}

/** Kubernetes settings added to a new rotation's (kept in the journal; --resume may override some). */
export function withKubeSettings(settings: RotationSettings, setup: KubeRotationSetup, opts: { maxConcurrentRestarts?: number; appNamespaces?: string[] }): RotationSettings {
  const out: RotationSettings = { ...settings, mode: 'kubernetes', namespace: setup.namespace };
  if (opts.maxConcurrentRestarts !== undefined) out.maxConcurrentRestarts = opts.maxConcurrentRestarts;
  else if (out.maxConcurrentRestarts === undefined) out.maxConcurrentRestarts = 5;
  if (opts.appNamespaces !== undefined) out.appNamespaces = opts.appNamespaces.join(',');
  return out;
}
