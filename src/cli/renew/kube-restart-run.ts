/**
 * Runs the restarts of `renew-certificate -k --restart [--restart-apps]` with their output:
 * Dapr's lines for the control plane (`Restarting <name>..`, `All control plane services have
 * restarted successfully!`), the progress display for apps, and a summary. Any failure ends in
 * ERR_RESTART_FAILED (exit 1), after every outcome has been printed (Dapr exits 0).
 */
import { WardenError } from '../../core/errors.js';
import { findDaprApps, restartControlPlane, restartDaprApps, type DaprApp, type RestartEvent } from '../../kube/restarts.js';
import type { KubeClients } from '../../kube/client.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import { createProgressDisplay, workloadText } from '../progress.js';
import type { KubeRestartPlan } from './kube-report.js';

const NOT_RENEWED_AGAIN = 'The new trust bundle is already in place: do not renew again, restart what is left with kubectl rollout restart';

export async function runKubeRestarts(io: Io, clients: KubeClients, namespace: string, plan: KubeRestartPlan, interactive: boolean): Promise<void> {
  if (!plan.controlPlane) return;
  try {
    await restartControlPlane(clients, namespace, {
      timeoutMs: plan.timeoutMs, waves: plan.controlPlane, clock: io.clock, onEvent: (e) => printControlPlaneEvent(io, e),
    });
  } catch (err) {
    if (err instanceof WardenError && err.code === 'ERR_RESTART_FAILED') {
      const apps = plan.apps ? ` The Dapr apps were not restarted (they need the new control plane first).` : '';
      throw new WardenError('ERR_RESTART_FAILED', `${err.message}.${apps} ${NOT_RENEWED_AGAIN}`, { cause: err });
    }
    throw err;
  }
  printStatus(io, 'success', 'All control plane services have restarted successfully!');
  if (plan.apps) await restartApps(io, clients, plan, plan.apps, interactive);
}

function printControlPlaneEvent(io: Io, e: RestartEvent): void {
  if (e.type === 'restarting') printStatus(io, 'info', `Restarting ${e.ref.name}..`);
  else if (e.type === 'restarted') printStatus(io, 'info', `${e.ref.kind.toLowerCase()}/${e.ref.name} rolled out in ${(e.durationMs / 1000).toFixed(1)}s`);
  else if (e.type === 'skipped') printStatus(io, 'info', `${e.name} is ${e.reason}; skipped`);
  else if (e.type === 'failed') printStatus(io, 'failure', e.error.message);
}

/** The apps found before anything was written (so a missing right to list them stops the command early). */
export function findAppsToRestart(clients: KubeClients, namespace: string, appNamespaces: readonly string[] | undefined): Promise<DaprApp[]> {
  return findDaprApps(clients, { ...(appNamespaces ? { namespaces: appNamespaces } : {}), controlPlaneNamespace: namespace });
}

async function restartApps(io: Io, clients: KubeClients, plan: KubeRestartPlan, apps: DaprApp[], interactive: boolean): Promise<void> {
  const scope = plan.appNamespaces ? `namespace${plan.appNamespaces.length === 1 ? '' : 's'} ${plan.appNamespaces.join(', ')}` : 'all namespaces';
  if (apps.length === 0) {
    printStatus(io, 'info', `No Dapr-enabled apps (dapr.io/enabled: "true") found in ${scope}; nothing else to restart`);
    return;
  }
  const namespaces = new Set(apps.map((a) => a.ref.namespace)).size;
  printStatus(io, 'info', `Restarting ${apps.length} Dapr app${apps.length === 1 ? '' : 's'} in ${namespaces} namespace${namespaces === 1 ? '' : 's'}, at most ${plan.maxConcurrent} at a time`);
  const display = createProgressDisplay(io, interactive);
  const summary = await restartDaprApps(clients, apps, {
    maxConcurrent: plan.maxConcurrent, timeoutMs: plan.timeoutMs, clock: io.clock, onProgress: (p) => display.update(p),
  });
  display.finish();
  const seconds = (summary.durationMs / 1000).toFixed(1);
  if (summary.failed.length === 0) {
    printStatus(io, 'success', `All ${summary.total} Dapr apps have restarted successfully (${seconds}s)`);
    return;
  }
  printStatus(io, 'failure', `${summary.failed.length} of ${summary.total} Dapr apps did not restart (${summary.restarted.length} did, in ${seconds}s):`);
  for (const f of summary.failed) io.stderr(`    ${workloadText(f.ref)}: ${f.error.message}\n`);
  throw new WardenError(
    'ERR_RESTART_FAILED',
    `${summary.failed.length} of ${summary.total} Dapr apps did not restart: ${summary.failed.map((f) => workloadText(f.ref)).join(', ')}. ` +
      `${NOT_RENEWED_AGAIN} -n <namespace> <kind>/<name> for each once the cause is fixed`,
  );
}
