import { rfc1123 } from '../../core/thresholds.js';
import { bundlePartial, openBundleStore, resolveBundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import { applyRenewPlan } from '../renew/apply-plan.js';
import { buildRenewPlan } from '../renew/build-plan.js';
import { checkNewBundle, SOURCE_MESSAGES } from '../renew/check-bundle.js';
import { inspectCurrentBundle } from '../renew/current-bundle.js';
import { rejectKubernetesFlags, selectRenewSource, type RenewOptions } from '../renew/options.js';
import { printRenewPlan, printRestartAdvice, reportCurrentBundle } from '../renew/report.js';
import { refuseDuringRotation } from '../site/rotation-guard.js';

export type { RenewOptions } from '../renew/options.js';

/**
 * `warden mtls renew-certificate` (aliases `renew-cert`, `rnc`) for a self-hosted bundle
 * directory. Plan, then apply:
 *  1. pick Dapr's path (provided files / --private-key / fresh), read the current bundle;
 *  2. build the new bundle in memory and run the full check chain on it — any error finding
 *     prints the findings and exits 3 with nothing written;
 *  3. `--dry-run` prints the plan and stops; otherwise the root key (--root-key-out) and the
 *     bundle are written, the previous bundle backed up by the store, and restart advice printed.
 * An expired current bundle never blocks (renewing is the recovery path); a partial one is
 * refused (ERR_BUNDLE_PARTIAL) unless --force. With -k the cluster's bundle is renewed instead
 * (renew/kube-renew.ts, loaded only then: it brings in the Kubernetes client).
 */
export async function renewCertificateCommand(opts: RenewOptions, io: Io, deps: CliDeps): Promise<number> {
  if (!opts.dryRun) await refuseDuringRotation(opts, io, 'renewing');
  if (opts.kubernetes) {
    const { renewCertificateKubernetes } = await import('../renew/kube-renew.js');
    return renewCertificateKubernetes(opts, io);
  }
  rejectKubernetesFlags(opts);
  printStatus(io, 'pending', 'Starting certificate rotation');
  const source = selectRenewSource(opts);
  printStatus(io, 'info', SOURCE_MESSAGES[source]);

  const location = resolveBundleLocation(opts, io);
  const store = openBundleStore(location, io, deps);
  const current = await inspectCurrentBundle(store);
  if (current.state === 'partial' && !opts.force) {
    throw bundlePartial(location, current.present, current.missing);
  }
  const now = io.clock.now();
  reportCurrentBundle(io, current, now);

  const plan = await buildRenewPlan(opts, source, location, current, io);
  if (!checkNewBundle(io, plan, now)) return EXIT.checksFailed;

  if (opts.dryRun) {
    printRenewPlan(io, plan);
    return EXIT.ok;
  }

  const result = await applyRenewPlan(plan, store, opts.force === true);
  if (result.rootKeyPath !== undefined) {
    printStatus(io, 'info', `Root private key written to ${result.rootKeyPath}`);
  }
  if (result.backupLocation !== undefined) {
    printStatus(io, 'info', `Backup of the previous bundle written to ${result.backupLocation}`);
  }
  // Dapr reports the first block of ca.crt (spec 6.4 PostRun); for a provided ca.crt with several
  // roots that is the file's first certificate.
  const firstAnchor = plan.bundle?.anchors[0];
  if (firstAnchor) {
    printStatus(
      io,
      'success',
      `Certificate rotation is successful! Your new certificate is valid through ${rfc1123(firstAnchor.notAfter)}`,
    );
  }
  printRestartAdvice(io, plan, now);
  return EXIT.ok;
}
