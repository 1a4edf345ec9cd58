/**
 * Per-pod trust convergence as `warden mtls doctor -k` and `warden mtls rotate -k --status` show it
 * (the same reading, the same table): during a rotation, every running Dapr pod must trust the
 * rotation's new root(s) (what the trust gate before switch-issuer waits for); otherwise, every
 * root of the current `ca.crt`.
 */
import type { RotationRecord } from '../../core/rotation-phases/record.js';
import type { KubeClients } from '../../kube/client.js';
import { readTrustConvergence, type PodTrust, type TrustConvergenceReport } from '../../kube/trust-convergence.js';
import { restartCommands } from '../../rotation-engine/backends/kube-trust-gate.js';
import { formatTable } from '../output.js';

export interface SiteTrust {
  /** What every pod must trust. */
  required: 'rotation-new-root' | 'ca.crt';
  report: TrustConvergenceReport;
  json: Record<string, unknown>;
  /** The table of pods not converged, then the fix; '' when every pod trusts the anchors. */
  text: string;
}

export interface SiteTrustInput {
  clients: KubeClients;
  namespace: string;
  appNamespaces: string[] | undefined;
  /** The bundle's current ca.crt (undefined when it cannot be read). */
  ca: string | undefined;
  record: RotationRecord | undefined;
  /** Appended to kubectl lines: ` --kubeconfig x --context y`. */
  kubectlFlags: string;
}

/** Undefined when there is nothing to compare against (no readable bundle and no rotation). */
export async function readSiteTrust(input: SiteTrustInput): Promise<SiteTrust | undefined> {
  const rotating = input.record?.status === 'in-progress' && input.record.phases['add-anchor'].writtenAt !== undefined;
  const requiredAnchors = rotating ? input.record!.material.anchorsPem : input.ca;
  if (requiredAnchors === undefined || requiredAnchors.trim() === '') return undefined;
  const writtenAt = rotating ? input.record!.phases['add-anchor'].writtenAt : undefined;
  const report = await readTrustConvergence(input.clients, {
    controlPlaneNamespace: input.namespace,
    ...(input.appNamespaces ? { namespaces: input.appNamespaces } : {}),
    requiredAnchors,
    ...(writtenAt ? { anchorsWrittenAt: new Date(writtenAt) } : {}),
  });
  const required = rotating ? 'rotation-new-root' : 'ca.crt';
  const fix = restartCommands(report.pending, input.kubectlFlags);
  return {
    required,
    report,
    json: {
      required,
      checked: report.pods.length,
      converged: report.converged,
      notConverged: report.notConverged,
      unknown: report.unknown,
      pods: report.pending.map(podJson),
      fix,
    },
    text: report.pending.length === 0 ? '' : renderTrustTable(report.pending, fix),
  };
}

function podJson(p: PodTrust): Record<string, unknown> {
  return {
    namespace: p.namespace, name: p.name, role: p.role, state: p.state, reason: p.reason, source: p.source, missing: p.missing,
    owner: p.owner ? `${p.owner.kind}/${p.owner.name}` : null, appId: p.appId ?? null,
  };
}

export function renderTrustTable(pending: readonly PodTrust[], fix: readonly string[]): string {
  const rows = pending.map((p) => [p.namespace, p.name, p.owner ? `${p.owner.kind.toLowerCase()}/${p.owner.name}` : '-', p.state, p.reason]);
  const table = formatTable(['NAMESPACE', 'POD', 'OWNER', 'STATE', 'WHY'], rows).split('\n').filter((l) => l !== '').map((l) => `  ${l}\n`).join('');
  return `${table}${fix.length > 0 ? `  Fix: ${fix.join(' && ')}\n` : ''}`;
}

/** One line for a summary: `3 of 12 running Dapr pod(s) do not trust …`. */
export function trustHeadline(t: SiteTrust): string {
  const what = t.required === 'rotation-new-root' ? 'the rotation\'s new root' : 'every root in ca.crt';
  return t.report.pending.length === 0
    ? `All ${t.report.pods.length} running Dapr pod(s) trust ${what}`
    : `${t.report.pending.length} of ${t.report.pods.length} running Dapr pod(s) do not trust ${what} (${t.report.notConverged} not converged, ${t.report.unknown} unknown)`;
}
