/**
 * `warden mtls doctor -k`: the cluster's mTLS state, diagnosed with the same reasoning as
 * self-hosted (rotation/diagnose.ts: missing, partial or unreadable bundle, expired or expiring
 * root or issuer, check errors, unfinished or diverged rotation) plus what only the cluster shows:
 *  - the ConfigMap's `ca.crt` differs from the Secret's (Dapr's Sentry regenerates the whole CA
 *    when it sees that on start);
 *  - `dapr-sentry` missing, or not rolled out and ready;
 *  - Dapr apps still on an old chain: workloads whose pods were last (re)created before the last
 *    change of `ca.crt` (daprd reads its anchors only at injection). The change time is the
 *    rotation journal's last anchor write, else the newest backup whose `ca.crt` differs.
 * Prints the exact commands that fix it, in order; exit 0 healthy, 1 action needed.
 */
import { describeTime } from '../../core/checks/labels.js';
import type { RotationRecord } from '../../core/rotation/record.js';
import { findDaprApps, type DaprApp } from '../../kube/restarts.js';
import { RESTARTED_AT_ANNOTATION } from '../../kube/rollouts.js';
import { waitForRollout } from '../../kube/rollouts.js';
import { bundleFactOf, rotationFactOf } from '../../rotation/doctor-facts.js';
import { diagnose, type BackupFact, type Diagnosis, type DoctorFacts, type FixStep } from '../../rotation/diagnose.js';
import { inspectBackup } from '../../rotation/rollback.js';
import type { KubeBundleReadResult } from '../../stores/kube-store.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { printJson, printStatus, type OutputFormat } from '../output.js';
import { kubeCommandLine, openKubeRotation, type KubeRotationOptions, type KubeRotationSetup } from './kube-setup.js';
import { shellQuote } from './command-line.js';
import type { RotationRuntime } from './rotate-setup.js';

export interface KubeDoctorOptions extends KubeRotationOptions {
  output: OutputFormat;
  workloadTtl?: number;
  appNamespaces?: string[];
}

export interface KubeDoctorReport {
  healthy: boolean;
  diagnoses: Diagnosis[];
  commands: string[];
}

const ONE_STEP_FIXES = new Set<FixStep['kind']>(['resume', 'rollback', 'renew', 'wait-rotation']);

export async function doctorKubernetes(opts: KubeDoctorOptions, io: Io, runtime: RotationRuntime = {}): Promise<number> {
  const setup = await openKubeRotation(opts, io, runtime);
  const report = await examineCluster(opts, io, setup);
  if (opts.output === 'json') {
    printJson(io, { namespace: setup.namespace, healthy: report.healthy, diagnoses: report.diagnoses, commands: report.commands });
  } else {
    for (const d of report.diagnoses) {
      if (d.severity === 'error') io.stdout(`❌  ${d.id}: ${d.message}\n`);
      else printStatus(io, d.severity === 'warning' ? 'warning' : 'info', `${d.id}: ${d.message}`);
    }
    if (report.healthy) printStatus(io, 'success', `mTLS in ${setup.store.description} is healthy: nothing to do`);
    else if (report.commands.length === 0) printStatus(io, 'info', 'No command fixes this by itself; see the messages above');
    else {
      printStatus(io, 'info', 'To fix it, run in order:');
      report.commands.forEach((c, i) => io.stdout(`  ${i + 1}. ${c}\n`));
    }
  }
  return report.healthy ? EXIT.ok : EXIT.failed;
}

/** The diagnoses and the ordered fix commands for the cluster. */
export async function examineCluster(opts: KubeDoctorOptions, io: Io, setup: KubeRotationSetup): Promise<KubeDoctorReport> {
  const now = io.clock.now();
  const read = await setup.store.read();
  const bundle = bundleFactOf(read, now, opts.workloadTtl === undefined ? {} : { workloadTtlMs: opts.workloadTtl });
  const backups: BackupFact[] = [];
  const backupCas: { createdAt: Date; ca: string | undefined }[] = [];
  for (const ref of await setup.store.listBackups()) {
    const c = await inspectBackup(setup.store, ref, now).catch(() => undefined);
    backups.push({ name: ref.name, restorable: c === undefined || c.bundle === undefined ? 'unreadable' : c.broken ? 'broken' : c.expired ? 'expired' : 'ok' });
    backupCas.push({ createdAt: ref.createdAt, ca: c?.texts.ca });
  }
  const rotation = await rotationFactOf(setup.journal, bundle);
  const facts: DoctorFacts = { now, bundle, backups, rotation, anchorsFiles: [] };
  const base = diagnose(facts);
  const diagnoses = [...base.diagnoses];
  const fixes = base.fixes.filter((f) => f.kind !== 'restart-daprd' && f.kind !== 'copy-anchors');
  const commands = fixes.map((f) => renderKubeFix(f, opts, setup.namespace));
  const covered = fixes.some((f) => ONE_STEP_FIXES.has(f.kind));
  const ns = setup.namespace;

  if ('anchorsMismatch' in read) {
    diagnoses.push({ id: 'configmap-mismatch', severity: 'error', message: read.anchorsMismatch.message });
    if (!covered) commands.push(copyCaCommand(setup));
  }
  const sentry = await sentryState(setup);
  if (sentry !== undefined) {
    diagnoses.push({ id: sentry.id, severity: 'error', message: sentry.message });
    if (!covered && sentry.id !== 'sentry-missing') commands.push(`kubectl rollout restart deployment/dapr-sentry -n ${ns} && kubectl rollout status deployment/dapr-sentry -n ${ns}`);
  }
  if (bundle.state === 'complete' && !covered) {
    const changedAt = lastAnchorChange(rotation.record, read, backupCas);
    if (changedAt !== undefined) {
      const apps = await findDaprApps(setup.clients, { ...(opts.appNamespaces ? { namespaces: opts.appNamespaces } : {}), controlPlaneNamespace: ns });
      const stale = apps.filter((a) => lastStart(a) < changedAt.getTime());
      if (stale.length > 0) {
        diagnoses.push({
          id: 'apps-on-old-anchors', severity: 'error',
          message: `${stale.length} Dapr app(s) have not been restarted since ca.crt last changed (${describeTime(changedAt)}): their sidecars still trust only the anchors they were injected with ` +
            `(${stale.slice(0, 5).map((a) => `${a.ref.namespace}/${a.ref.kind.toLowerCase()}/${a.ref.name}`).join(', ')}${stale.length > 5 ? ', …' : ''}).`,
        });
        commands.push(...restartAppCommands(stale));
      }
    }
  }
  const healthy = !diagnoses.some((d) => d.severity !== 'info');
  return { healthy, diagnoses, commands };
}

/** dapr-sentry missing, or not rolled out and ready; undefined when fine. */
async function sentryState(setup: KubeRotationSetup): Promise<{ id: string; message: string } | undefined> {
  const ref = { kind: 'Deployment' as const, namespace: setup.namespace, name: 'dapr-sentry' };
  try {
    await waitForRollout(setup.clients, ref, { timeoutMs: 1500 });
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    if (/not found/i.test(message)) {
      return { id: 'sentry-missing', message: `There is no Deployment dapr-sentry in ${setup.namespace}: nothing signs workload certificates. Reinstall the Dapr control plane (helm upgrade --install dapr dapr/dapr -n ${setup.namespace}).` };
    }
    return { id: 'sentry-unhealthy', message: `Deployment dapr-sentry in ${setup.namespace} is not rolled out and ready: ${message}. Its log says why (kubectl logs -n ${setup.namespace} deploy/dapr-sentry); it refuses a bundle that fails its checks.` };
  }
}

/** When ca.crt last changed: the journal's last anchor write, else the newest backup with another ca.crt. */
function lastAnchorChange(record: RotationRecord | undefined, read: KubeBundleReadResult, backups: { createdAt: Date; ca: string | undefined }[]): Date | undefined {
  if (read.state !== 'complete') return undefined;
  const times: number[] = [];
  if (record !== undefined && record.status !== 'rolled-back') {
    for (const phase of ['add-anchor', 'retire-old-root'] as const) {
      const at = record.phases[phase].writtenAt;
      if (at !== undefined) times.push(Date.parse(at));
    }
  }
  const changed = backups.find((b) => b.ca !== undefined && b.ca !== read.texts.ca);
  if (changed !== undefined) times.push(changed.createdAt.getTime());
  return times.length === 0 ? undefined : new Date(Math.max(...times));
}

/** When the workload's pods were last (re)created by a restart or its creation, at the latest. */
function lastStart(app: DaprApp): number {
  const restarted = Date.parse(app.current.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] ?? '');
  const created = app.current.metadata?.creationTimestamp;
  const createdMs = created === undefined ? NaN : new Date(created).getTime();
  return Math.max(Number.isFinite(restarted) ? restarted : -Infinity, Number.isFinite(createdMs) ? createdMs : -Infinity);
}

function restartAppCommands(apps: DaprApp[]): string[] {
  const groups = new Map<string, string[]>();
  for (const a of apps) {
    const list = groups.get(a.ref.namespace) ?? [];
    list.push(`${a.ref.kind.toLowerCase()}/${a.ref.name}`);
    groups.set(a.ref.namespace, list);
  }
  return [...groups].map(([ns, names]) => `kubectl rollout restart -n ${shellQuote(ns)} ${names.map(shellQuote).join(' ')}`);
}

function copyCaCommand(setup: KubeRotationSetup): string {
  const { namespace: ns } = setup;
  const key = setup.store.keys.ca.replace(/\./g, '\\.');
  return `kubectl get secret ${setup.store.secretName} -n ${ns} -o jsonpath='{.data.${key}}' | base64 -d > ca.crt && ` +
    `kubectl create configmap ${setup.store.configMapName} -n ${ns} --from-file=${setup.store.keys.ca}=ca.crt --dry-run=client -o yaml | kubectl apply -f -`;
}

export function renderKubeFix(fix: FixStep, opts: KubeRotationOptions, namespace: string): string {
  switch (fix.kind) {
    case 'wait-rotation':
      return `wait for the running rotation (${fix.holder}) to finish; follow it with: ${kubeCommandLine('rotate', opts, ['--status'])}`;
    case 'resume':
      return kubeCommandLine('rotate', opts, ['--resume']);
    case 'rollback':
      return kubeCommandLine('rollback', opts, [...(fix.backup ? ['--backup', fix.backup] : []), ...(fix.force ? ['--force'] : [])]);
    case 'renew':
      return kubeCommandLine('renew-certificate', opts, [...(fix.force ? ['--force'] : []), '--restart', '--restart-apps']);
    case 'rotate':
      return kubeCommandLine('rotate', opts);
    case 'start-sentry':
    case 'restart-sentry':
      return `kubectl rollout restart deployment/dapr-sentry -n ${namespace}`;
    case 'copy-anchors':
    case 'restart-daprd':
      return '';
  }
}
