import { runChecks, type Finding } from '../../core/checks/index.js';
import { rfc1123 } from '../../core/thresholds.js';
import { bundlePartial, openBundleStore, resolveBundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { countFindings, describeCounts, printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import { applyRenewPlan } from '../renew/apply-plan.js';
import { buildRenewPlan } from '../renew/build-plan.js';
import { inspectCurrentBundle, type CurrentBundle } from '../renew/current-bundle.js';
import { rejectKubernetesFlags, selectRenewSource, type RenewOptions } from '../renew/options.js';
import { printRenewPlan, printRestartAdvice } from '../renew/report.js';

export type { RenewOptions } from '../renew/options.js';

const SOURCE_MESSAGES = {
  // Dapr's texts, kept as they are (spec 6.4), including the misleading "password file".
  provided: 'Using provided certificates',
  'private-key': 'Using password file to generate root certificate',
  fresh: 'generating fresh certificates',
} as const;

/**
 * `warden mtls renew-certificate` (aliases `renew-cert`, `rnc`) for a self-hosted bundle
 * directory. Plan, then apply:
 *  1. pick Dapr's path (provided files / --private-key / fresh), read the current bundle;
 *  2. build the new bundle in memory and run the full check chain on it — any error finding
 *     prints the findings and exits 3 with nothing written;
 *  3. `--dry-run` prints the plan and stops; otherwise the root key (--root-key-out) and the
 *     bundle are written, the previous bundle backed up by the store, and restart advice printed.
 * An expired current bundle never blocks (renewing is the recovery path); a partial one is
 * refused (ERR_BUNDLE_PARTIAL) unless --force.
 */
export async function renewCertificateCommand(opts: RenewOptions, io: Io, deps: CliDeps): Promise<number> {
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
  const findings: Finding[] = plan.bundle ? runChecks(plan.bundle, now) : plan.parseFindings;
  const counts = countFindings(findings);
  printFindingsTable(io, findings);
  if (counts.errors > 0) {
    printStatus(io, 'failure', `The new trust bundle failed its checks (${describeCounts(counts)}); nothing was written`);
    return EXIT.checksFailed;
  }
  if (counts.warnings > 0) {
    printStatus(io, 'warning', `The new trust bundle passed its checks with ${describeCounts(counts)}`);
  }

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

/** Says plainly when the bundle being replaced has expired or could not be read; never blocks. */
function reportCurrentBundle(io: Io, current: CurrentBundle, now: Date): void {
  if (current.state === 'partial') {
    printStatus(io, 'warning', `Replacing a partial bundle (missing ${current.missing.join(', ')}): --force was given`);
    return;
  }
  if (current.state !== 'complete') return;
  if (current.unreadable !== undefined) {
    printStatus(io, 'warning', `The current bundle cannot be read (${current.unreadable}); it will be backed up and replaced`);
  }
  const root = current.anchors[0];
  if (root && root.notAfter < now) {
    printStatus(io, 'warning', `The current root certificate expired on ${rfc1123(root.notAfter)}; renewing replaces it`);
  }
  if (current.issuer && current.issuer.notAfter < now) {
    printStatus(io, 'warning', `The current issuer certificate expired on ${rfc1123(current.issuer.notAfter)}; renewing replaces it`);
  }
}
