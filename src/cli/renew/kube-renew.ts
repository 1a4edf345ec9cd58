/**
 * `warden mtls renew-certificate -k`: Dapr's flags, paths and texts (spec 6.4), with Warden's
 * order of work — everything is read and checked before the first write:
 *  1. the cluster: Dapr's namespace and version, the `daprsystem` Configuration, the current
 *     bundle (Secret + ConfigMap `dapr-trust-bundle`);
 *  2. the new bundle, with the cluster's trust domain, clock skew and namespace; the full check
 *     chain (errors → exit 3, the cluster untouched);
 *  3. what `--restart`/`--restart-apps` will restart (so a missing right fails before writing);
 *  4. `--dry-run` prints all of it and stops; otherwise the store backs up the Secret, writes
 *     the Secret and the ConfigMap directly (no Helm; resourceVersion-guarded), and the restarts
 *     run in order, each waited for; any failure exits 1 naming it.
 */
import { WardenError } from '../../core/errors.js';
import { DEFAULT_MAX_CONCURRENT_RESTARTS, findControlPlane } from '../../kube/restarts.js';
import { formatKubeBackupStamp } from '../../stores/kube-backup.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import { applyRenewPlan, type RenewResult } from './apply-plan.js';
import { buildRenewBundle } from './build-plan.js';
import { checkNewBundle, SOURCE_MESSAGES } from './check-bundle.js';
import { inspectCurrentBundle } from './current-bundle.js';
import { clusterGenerationDefaults, connectToCluster, type KubeRenewContext } from './kube-context.js';
import { printKubeRenewPlan, printKubeRestartAdvice, type KubeRestartPlan } from './kube-report.js';
import { findAppsToRestart, runKubeRestarts } from './kube-restart-run.js';
import { selectRenewSource, type RenewOptions } from './options.js';
import { renewOutcome, type RenewOutcome } from './outcome.js';
import { keyAlgorithmChange, renewSuccessLine, reportCurrentBundle } from './report.js';

/** Dapr's `--timeout` default (seconds). */
export const DEFAULT_TIMEOUT_SECONDS = 300;

/** Receives what `-o json` prints (renew/outcome.ts); called once, whatever the ending. */
export type OutcomeSink = (outcome: RenewOutcome) => void;

export async function renewCertificateKubernetes(opts: RenewOptions, io: Io, onOutcome?: OutcomeSink): Promise<number> {
  checkKubeFlags(opts);
  printStatus(io, 'pending', 'Starting certificate rotation');
  const source = selectRenewSource(opts);
  printStatus(io, 'info', SOURCE_MESSAGES[source]);
  if (opts.imageVariant !== undefined) {
    printStatus(io, 'info', `--image-variant ${opts.imageVariant} is ignored: Warden writes the Secret and ConfigMap directly and runs no Helm chart, so no image is involved`);
  }

  const ctx = await connectToCluster(opts, io);
  // Dapr's text is "Updating certifcates in your Kubernetes cluster"; Warden keeps it, minus the typo.
  printStatus(io, 'info', 'Updating certificates in your Kubernetes cluster');
  if (ctx.daprVersion) printStatus(io, 'info', `Dapr control plane version ${ctx.daprVersion} detected in namespace ${ctx.namespace}`);

  const { store } = ctx;
  const read = await store.read();
  if ('anchorsMismatch' in read) printStatus(io, 'warning', `${read.anchorsMismatch.message.split(':')[0]}; renewing writes both byte-identical`);
  const current = await inspectCurrentBundle({ read: () => Promise.resolve(read), write: (t, o) => store.write(t, o) });
  if (current.state === 'partial' && !opts.force) {
    throw new WardenError(
      'ERR_BUNDLE_PARTIAL',
      `incomplete trust bundle in ${store.secretRef}: ${current.missing.join(', ')} missing (${current.present.join(', ')} present); ` +
        `restore the missing key from a backup Secret (${store.secretName}-backup-*), or replace the whole bundle with --force; nothing was written`,
    );
  }
  const now = io.clock.now();
  reportCurrentBundle(io, current, now);

  const plan = await buildRenewBundle(opts, source, current, io, clusterGenerationDefaults(ctx, current, opts, source, io));
  const check = checkNewBundle(io, plan, now);
  const report = (result?: RenewResult): void => onOutcome?.(renewOutcome(plan, {
    location: { namespace: store.namespace, secret: store.secretName, configMap: store.configMapName },
    files: [`Secret ${store.namespace}/${store.secretName}`, `ConfigMap ${store.namespace}/${store.configMapName}`],
    dryRun: opts.dryRun === true,
    findings: check.findings,
    ...(result ? { result } : {}),
  }));
  if (!check.ok) {
    report();
    return EXIT.checksFailed;
  }
  const algorithmChange = keyAlgorithmChange(plan);
  if (algorithmChange !== undefined) printStatus(io, 'warning', algorithmChange);

  const restarts = await planRestarts(opts, ctx);
  if (opts.dryRun) {
    printKubeRenewPlan(io, {
      ctx, store, plan, restarts, backupDir: opts.backupDir,
      backupName: current.state === 'absent' ? undefined : `${store.secretName}-backup-${formatKubeBackupStamp(now)}`,
    });
    report();
    return EXIT.ok;
  }

  const result = await applyRenewPlan(plan, store, opts.force === true);
  if (result.rootKeyPath !== undefined) printStatus(io, 'info', `Root private key written to ${result.rootKeyPath}`);
  if (result.backupLocation !== undefined) printStatus(io, 'info', `Backup of the previous bundle written to ${result.backupLocation}`);
  if (plan.bundle) printStatus(io, 'success', renewSuccessLine(plan.bundle));
  if (!restarts.controlPlane) {
    printKubeRestartAdvice(io, plan, ctx.namespace, now);
    report(result);
    return EXIT.ok;
  }
  await runKubeRestarts(io, ctx.clients, ctx.namespace, restarts, liveProgress(io));
  report(result);
  return EXIT.ok;
}

/** A redrawn progress line only on a real terminal (Io has no TTY flag; tests and pipes get lines). */
function liveProgress(io: Io): boolean {
  return process.stdout.isTTY === true && io.env.CI === undefined && io.env.TERM !== 'dumb';
}

async function planRestarts(opts: RenewOptions, ctx: KubeRenewContext): Promise<KubeRestartPlan> {
  const restart = opts.restart === true || opts.restartApps === true;
  return {
    controlPlane: restart ? await findControlPlane(ctx.clients, ctx.namespace) : undefined,
    apps: opts.restartApps ? await findAppsToRestart(ctx.clients, ctx.namespace, opts.appNamespaces) : undefined,
    appNamespaces: opts.appNamespaces,
    maxConcurrent: opts.maxConcurrentRestarts ?? DEFAULT_MAX_CONCURRENT_RESTARTS,
    timeoutMs: (opts.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  };
}

/** Usage errors of -k mode, before any work. */
function checkKubeFlags(opts: RenewOptions): void {
  if (opts.issuerCredentials !== undefined) {
    throw new WardenError('ERR_USAGE', '--issuer-credentials names a self-hosted bundle directory; with -k the bundle is the Secret and ConfigMap dapr-trust-bundle in Dapr\'s namespace (--namespace)');
  }
  if (!opts.restartApps) {
    const appOnly = [['--app-namespaces', opts.appNamespaces], ['--max-concurrent-restarts', opts.maxConcurrentRestarts]].filter(([, v]) => v !== undefined).map(([f]) => f);
    if (appOnly.length > 0) throw new WardenError('ERR_USAGE', `${appOnly.join(', ')} only applies with --restart-apps`);
  }
}
