import { bundlePartial, openBundleStore, resolveBundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { printJson, printStatus, type OutputFormat } from '../output.js';
import { applyRenewPlan, type RenewResult } from '../renew/apply-plan.js';
import { buildRenewPlan, type RenewPlan } from '../renew/build-plan.js';
import { checkNewBundle, SOURCE_MESSAGES } from '../renew/check-bundle.js';
import { inspectCurrentBundle } from '../renew/current-bundle.js';
import { rejectKubernetesFlags, selectRenewSource, type RenewOptions as BaseRenewOptions } from '../renew/options.js';
import { renewOutcome } from '../renew/outcome.js';
import { keyAlgorithmChange, printRenewPlan, printRestartAdvice, renewSuccessLine, reportCurrentBundle } from '../renew/report.js';
import type { Finding } from '../../core/checks/index.js';
import { refuseDuringRotation } from '../site/rotation-guard.js';

export interface RenewOptions extends BaseRenewOptions {
  /** `-o json`: the status lines go to stderr and the outcome (renew/outcome.ts) to stdout. */
  output?: OutputFormat;
}

/**
 * `warden mtls renew-certificate` (aliases `renew-cert`, `rnc`) for a self-hosted bundle
 * directory. Plan, then apply:
 *  1. pick Dapr's path (provided files / --private-key / fresh), read the current bundle;
 *  2. build the new bundle in memory and run the full check chain on it — any error finding
 *     prints the findings and exits 3 with nothing written;
 *  3. `--dry-run` prints the plan and stops; otherwise the root key (--root-key-out) and the
 *     bundle are written, the previous bundle backed up by the store, and restart advice printed.
 * An expired current bundle never blocks (renewing is the recovery path); a partial one is
 * refused (ERR_BUNDLE_PARTIAL) unless --force. The current key algorithm is kept unless
 * --key-algorithm says otherwise. With -k the cluster's bundle is renewed instead
 * (renew/kube-renew.ts, loaded only then: it brings in the Kubernetes client).
 */
export async function renewCertificateCommand(opts: RenewOptions, io: Io, deps: CliDeps): Promise<number> {
  const json = opts.output === 'json';
  // With -o json the human lines go to stderr so stdout holds only the JSON document.
  const text: Io = json ? { ...io, stdout: io.stderr } : io;
  if (!opts.dryRun) await refuseDuringRotation(opts, io, 'renewing');
  if (opts.kubernetes) {
    const { renewCertificateKubernetes } = await import('../renew/kube-renew.js');
    return renewCertificateKubernetes(opts, text, json ? (outcome) => printJson(io, outcome) : undefined);
  }
  rejectKubernetesFlags(opts);
  printStatus(text, 'pending', 'Starting certificate rotation');
  const source = selectRenewSource(opts);
  printStatus(text, 'info', SOURCE_MESSAGES[source]);

  const location = resolveBundleLocation(opts, io);
  const store = openBundleStore(location, io, deps);
  const current = await inspectCurrentBundle(store);
  if (current.state === 'partial' && !opts.force) {
    throw bundlePartial(location, current.present, current.missing);
  }
  const now = io.clock.now();
  reportCurrentBundle(text, current, now);

  const plan = await buildRenewPlan(opts, source, location, current, io);
  const check = checkNewBundle(text, plan, now);
  const report = (result?: RenewResult): void => {
    if (json) printJson(io, outcomeOf(plan, opts.dryRun === true, check.findings, result));
  };
  if (!check.ok) {
    report();
    return EXIT.checksFailed;
  }
  const algorithmChange = keyAlgorithmChange(plan);
  if (algorithmChange !== undefined) printStatus(text, 'warning', algorithmChange);

  if (opts.dryRun) {
    printRenewPlan(text, plan);
    report();
    return EXIT.ok;
  }

  const result = await applyRenewPlan(plan, store, opts.force === true);
  if (result.rootKeyPath !== undefined) {
    printStatus(text, 'info', `Root private key written to ${result.rootKeyPath}`);
  }
  if (result.backupLocation !== undefined) {
    printStatus(text, 'info', `Backup of the previous bundle written to ${result.backupLocation}`);
  }
  if (plan.bundle) printStatus(text, 'success', renewSuccessLine(plan.bundle));
  printRestartAdvice(text, plan, now);
  report(result);
  return EXIT.ok;
}

function outcomeOf(plan: RenewPlan, dryRun: boolean, findings: Finding[], result: RenewResult | undefined) {
  const loc = plan.location;
  return renewOutcome(plan, {
    location: { directory: loc.dir },
    files: [loc.caPath, loc.issuerCertPath, loc.issuerKeyPath],
    dryRun,
    findings,
    ...(result ? { result } : {}),
  });
}
