/**
 * `warden mtls rollback -o json` (issue 13, rough edge 12): what was restored, as one JSON document
 * on stdout, while the status lines go to stderr. Kept apart from commands/rollback.ts, which only
 * calls `report` with what it did.
 */
import type { Certificate } from '../core/certificate.js';
import type { RestoreResult, RollbackCandidate } from '../rotation-engine/rollback.js';
import type { Io } from './io.js';
import { printJson } from './output.js';

export interface RollbackOutcome {
  /** True when the backup was restored (or already in place). */
  ok: boolean;
  backup: { name: string; location: string };
  /** False when the store already held this bundle, or the backup was refused. */
  written: boolean;
  /** Where the bundle the rollback replaced was backed up. */
  replacedBackup: string | null;
  /** The unfinished rotation this rollback abandoned. */
  abandonedRotation: string | null;
  root: { subject: string; notAfter: string } | null;
  issuer: { subject: string; notAfter: string } | null;
  findings: { severity: string; code: string; subject: string; message: string }[];
}

export type RollbackReport = (outcome: RollbackOutcome) => void;

export function rollbackOutcome(candidate: RollbackCandidate, result: RestoreResult | undefined): RollbackOutcome {
  const cert = (c: Certificate | undefined) => (c ? { subject: c.subject.text, notAfter: c.notAfter.toISOString() } : null);
  return {
    ok: result !== undefined,
    backup: { name: candidate.ref.name, location: candidate.ref.location },
    written: result?.written ?? false,
    replacedBackup: result?.write?.backup?.location ?? null,
    abandonedRotation: result?.abandoned?.id ?? null,
    root: cert(candidate.bundle?.root),
    issuer: cert(candidate.bundle?.issuer),
    findings: candidate.findings.map(({ severity, code, subject, message }) => ({ severity, code, subject, message })),
  };
}

/** Runs `command` with its status lines on stderr, then prints the outcome it reported (if any) as JSON on stdout. */
export async function withJsonOutcome(io: Io, command: (text: Io, report: RollbackReport) => Promise<number>): Promise<number> {
  let outcome: RollbackOutcome | undefined;
  const code = await command({ ...io, stdout: io.stderr }, (o) => {
    outcome = o;
  });
  if (outcome !== undefined) printJson(io, outcome);
  return code;
}
