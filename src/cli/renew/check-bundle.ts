import { runChecks, type Finding } from '../../core/checks/index.js';
import { countFindings, describeCounts, printFindingsTable } from '../findings.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import type { RenewBundle } from './build-plan.js';

/** Dapr's texts for the three paths (spec 6.4), kept as they are, including the misleading "password file". */
export const SOURCE_MESSAGES = {
  provided: 'Using provided certificates',
  'private-key': 'Using password file to generate root certificate',
  fresh: 'generating fresh certificates',
} as const;

/**
 * Runs the full check chain on the new bundle (or reports why a provided file does not parse)
 * and prints the findings. `ok` is false when any finding is an error: the caller must then
 * write nothing and exit 3.
 */
export function checkNewBundle(io: Io, plan: RenewBundle, now: Date): { ok: boolean; findings: Finding[] } {
  const findings: Finding[] = plan.bundle ? runChecks(plan.bundle, now) : plan.parseFindings;
  const counts = countFindings(findings);
  printFindingsTable(io, findings);
  if (counts.errors > 0) {
    printStatus(io, 'failure', `The new trust bundle failed its checks (${describeCounts(counts)}); nothing was written`);
    return { ok: false, findings };
  }
  if (counts.warnings > 0) {
    printStatus(io, 'warning', `The new trust bundle passed its checks with ${describeCounts(counts)}`);
  }
  return { ok: true, findings };
}
