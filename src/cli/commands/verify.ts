import { runChecks, type Finding } from '../../core/checks/index.js';
import { readBundleSource } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import { countFindings, describeCounts, parseBundleForChecks, printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import type { KubeCliOptions } from '../kube-options.js';
import type { CredentialOptions } from '../options.js';
import { printJson, printStatus, type OutputFormat } from '../output.js';

export interface VerifyOptions extends CredentialOptions, KubeCliOptions {
  output: OutputFormat;
  /** `--warn-within`, in ms: warn when less than this is left (default: the checks' 30 days). */
  warnWithin?: number;
  /** `--workload-ttl`, in ms: the workload certificate TTL the issuer must outlive (default: the checks' 24 h). */
  workloadTtl?: number;
}

/**
 * `warden mtls verify`: runs the check chain (the same one the sentry runs at start and on
 * reload) on the stored bundle and prints the findings. Exit 3 when any finding is an error,
 * 0 otherwise (warnings are printed with ⚠ but do not fail). A missing or partial bundle is an
 * operation failure (exit 1), a file that does not parse is an error finding (exit 3).
 *
 * With `-k` the bundle is the cluster's, and a ConfigMap `ca.crt` that differs from the Secret's is
 * an ERR_TRUST_ANCHORS_MISMATCH error finding (Dapr's Sentry would replace the CA on restart).
 *
 * Text output: the findings table (if any), then one status line. JSON output:
 * `{ directory | namespace, secret, configMap, ok, errors, warnings, findings: [{ severity, code, subject, message }] }`.
 */
export async function verifyCommand(opts: VerifyOptions, io: Io, deps: CliDeps): Promise<number> {
  const source = await readBundleSource(opts, io, deps);
  const parsed = parseBundleForChecks(source.texts, source.labels);
  const findings: Finding[] = [
    ...source.storageFindings,
    ...(parsed.bundle ? runChecks(parsed.bundle, io.clock.now(), policyFrom(opts)) : parsed.findings),
  ];
  const counts = countFindings(findings);
  const exitCode = counts.errors > 0 ? EXIT.checksFailed : EXIT.ok;

  if (opts.output === 'json') {
    printJson(io, {
      ...source.json,
      ok: exitCode === EXIT.ok,
      errors: counts.errors,
      warnings: counts.warnings,
      findings: findings.map(({ severity, code, subject, message }) => ({ severity, code, subject, message })),
    });
    return exitCode;
  }

  printFindingsTable(io, findings);
  if (counts.errors > 0) {
    printStatus(io, 'failure', `Trust bundle in ${source.where} failed verification: ${describeCounts(counts)}`);
  } else if (counts.warnings > 0) {
    printStatus(io, 'warning', `Trust bundle in ${source.where} is valid, with ${describeCounts(counts)}`);
  } else {
    printStatus(io, 'success', `Trust bundle in ${source.where} passed all checks`);
  }
  return exitCode;
}

function policyFrom(opts: VerifyOptions): { warnWithinMs?: number; workloadTtlMs?: number } {
  const policy: { warnWithinMs?: number; workloadTtlMs?: number } = {};
  if (opts.warnWithin !== undefined) policy.warnWithinMs = opts.warnWithin;
  if (opts.workloadTtl !== undefined) policy.workloadTtlMs = opts.workloadTtl;
  return policy;
}
