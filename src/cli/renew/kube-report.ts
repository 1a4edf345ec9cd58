/**
 * What `renew-certificate -k` prints about its plan: the `--dry-run` plan (what is written,
 * the backup's name, the restart waves with the apps), and the restart advice when `--restart`
 * is not given.
 */
import type { DaprApp, ControlPlaneWave } from '../../kube/restarts.js';
import { formatGoDuration } from '../../core/duration.js';
import { rfc1123 } from '../../core/thresholds.js';
import type { KubeTrustBundleStore } from '../../stores/kube-store.js';
import type { Io } from '../io.js';
import { formatTable, printStatus } from '../output.js';
import { workloadText } from '../progress.js';
import type { RenewBundle } from './build-plan.js';
import type { KubeRenewContext } from './kube-context.js';
import { classifyRootChange, describeCertificate, describeKeyAlgorithm, describeRootKey, describeSource, describeValidity, indent } from './report.js';

/** The restarts `--restart`/`--restart-apps` will do, as read before anything is written. */
export interface KubeRestartPlan {
  controlPlane: ControlPlaneWave[] | undefined;
  apps: DaprApp[] | undefined;
  appNamespaces: readonly string[] | undefined;
  maxConcurrent: number;
  timeoutMs: number;
}

export interface KubePlanView {
  ctx: KubeRenewContext;
  store: Pick<KubeTrustBundleStore, 'secretRef' | 'configMapRef' | 'keys'>;
  plan: RenewBundle;
  /** The name the backup Secret will get (unless one with that name already exists). */
  backupName: string | undefined;
  backupDir: string | undefined;
  restarts: KubeRestartPlan;
}

export function printKubeRenewPlan(io: Io, v: KubePlanView): void {
  const { ctx, plan, store } = v;
  const rows: [string, string][] = [
    ['cluster', ctx.clients.description],
    ['Dapr namespace', ctx.daprVersion ? `${ctx.namespace} (Dapr ${ctx.daprVersion})` : ctx.namespace],
    ['source', describeSource(plan)],
  ];
  const g = plan.generated;
  if (g) {
    const origin = (o: string | undefined) => (o === undefined || o === 'flag' ? '' : ` (${o === 'default' ? 'default' : `from the ${o}`})`);
    rows.push(['trust domain', `${g.trustDomain}${origin(g.trustDomainOrigin)}`], ['issuer namespace', g.namespace]);
    rows.push(['key algorithm', describeKeyAlgorithm(g)]);
    rows.push(['validity', `${describeValidity(g.validUntilDays)}, backdated ${formatGoDuration(g.allowedClockSkewMs)} for clock skew${origin(g.allowedClockSkewOrigin)}`]);
  }
  if (plan.bundle) rows.push(['root', describeCertificate(plan.bundle.root)], ['issuer', describeCertificate(plan.bundle.issuer)]);
  const k = store.keys;
  rows.push(['will write', `${store.secretRef} keys ${k.ca}, ${k.issuerCert}, ${k.issuerKey} (other keys kept), then ${store.configMapRef} key ${k.ca} (byte-identical); both guarded by their resourceVersion, no Helm`]);
  rows.push(['backup', describeBackup(v)]);
  rows.push(['root key', describeRootKey(plan)]);
  rows.push(...restartRows(v.restarts));
  printStatus(io, 'info', 'Dry run: nothing was written. The plan:');
  io.stdout(indent(formatTable(['', ''], rows, false)));
  for (const app of v.restarts.apps ?? []) io.stdout(`    ${workloadText(app.ref)}${app.appId && app.appId !== app.ref.name ? ` (app-id ${app.appId})` : ''}\n`);
}

function describeBackup(v: KubePlanView): string {
  const state = v.plan.current.state;
  if (state === 'absent') return 'none (the Secret holds no bundle yet)';
  const local = v.backupDir ? `, and a local copy in ${v.backupDir}/${v.backupName ?? '<name>'}/` : '';
  return `Secret ${v.ctx.namespace}/${v.backupName ?? 'dapr-trust-bundle-backup-<UTC timestamp>'} with the ${state === 'partial' ? 'keys present now (--force)' : 'current bundle'}${local}`;
}

function restartRows(r: KubeRestartPlan): [string, string][] {
  if (!r.controlPlane) return [['restarts', 'none (--restart not given; see the advice printed after writing)']];
  const rows: [string, string][] = [];
  const timeout = `each waited for, up to ${formatGoDuration(r.timeoutMs)}`;
  let wave = 0;
  for (const w of r.controlPlane) {
    if (w.targets.length > 0) {
      wave += 1;
      const names = w.targets.map((t) => `${t.ref.kind.toLowerCase()}/${t.ref.name}`).join(', ');
      rows.push([`restart wave ${wave}`, `${names}${w.targets.length > 1 ? ' (concurrently)' : ''}, ${timeout}`]);
    }
    if (w.missing.length > 0) rows.push(['skipped', `${w.missing.join(', ')} (not installed in this Dapr version)`]);
  }
  if (r.apps) {
    const namespaces = new Set(r.apps.map((a) => a.ref.namespace)).size;
    const scope = r.appNamespaces ? `namespaces ${r.appNamespaces.join(', ')}` : 'all namespaces';
    rows.push([`restart wave ${wave + 1}`, `${r.apps.length} Dapr app${r.apps.length === 1 ? '' : 's'} in ${namespaces} namespace${namespaces === 1 ? '' : 's'} (searched ${scope}), at most ${r.maxConcurrent} at a time, ${timeout}:`]);
  }
  return rows;
}

/**
 * After a write without --restart: who needs a restart (spec 3.5, 4.2, 4.3) and how. The control
 * plane always does (its certificates come from the old issuer until renewed at 50 % of their
 * life); apps only when the anchors changed — and with a same-key root not before the old root expires.
 */
export function printKubeRestartAdvice(io: Io, plan: RenewBundle, namespace: string, now: Date): void {
  const change = classifyRootChange(plan, now);
  const controlPlane = `restart the control plane in ${namespace}, dapr-sentry first, then dapr-operator, dapr-placement-server, ` +
    'dapr-scheduler-server and dapr-sidecar-injector, so their certificates come from the new issuer';
  const command = 'warden mtls renew-certificate -k --restart --restart-apps does all of it in order next time, waiting for each rollout';
  if (change.kind === 'unchanged') {
    printStatus(io, 'info', `The trust anchors are unchanged: ${controlPlane}; Dapr apps need no restart (--restart does this next time)`);
  } else if (change.kind === 'same-key') {
    printStatus(io, 'info', `The root kept its key and subject: ${controlPlane}; restart every Dapr-enabled app before ${rfc1123(change.oldNotAfter)} (when the old root expires). ${command}`);
  } else {
    printStatus(io, 'info', `The root certificate changed: ${controlPlane}; then restart every Dapr-enabled app (daprd reads its trust anchors only when injected). ${command}`);
  }
}
