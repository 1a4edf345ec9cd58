import { parseCertificatesPem } from '../core/certificate.js';
import { TrustBundle } from '../core/bundle.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import type { Finding } from '../core/checks/index.js';
import { isWardenError } from '../core/errors.js';
import { parsePrivateKeyPem } from '../core/keys.js';
import type { Io } from './io.js';
import { formatTable } from './output.js';

/** Paths (or names) of the three files, used as the subject of a parse finding. */
export interface BundleFileNames {
  ca: string;
  issuerCert: string;
  issuerKey: string;
}

/**
 * Parses bundle texts for checking. A file that does not parse is itself a check failure, so it
 * comes back as an error finding naming the file (with the parser's error code) instead of an
 * exception: `verify` and `renew-certificate` then report it like any other bad bundle (exit 3).
 */
export function parseBundleForChecks(
  texts: BundleTexts,
  names: BundleFileNames,
): { bundle: TrustBundle; findings: [] } | { bundle: undefined; findings: Finding[] } {
  const findings: Finding[] = [];
  const attempt = (subject: string, parse: () => unknown): void => {
    try {
      parse();
    } catch (error) {
      findings.push(parseFinding(error, subject));
    }
  };
  attempt(names.ca, () => parseCertificatesPem(texts.ca));
  attempt(names.issuerCert, () => parseCertificatesPem(texts.issuerCert));
  attempt(names.issuerKey, () => parsePrivateKeyPem(texts.issuerKey));
  if (findings.length > 0) return { bundle: undefined, findings };
  try {
    return { bundle: TrustBundle.fromTexts(texts), findings: [] };
  } catch (error) {
    return { bundle: undefined, findings: [parseFinding(error, names.ca)] };
  }
}

function parseFinding(error: unknown, subject: string): Finding {
  if (!isWardenError(error)) throw error;
  return { code: error.code, severity: 'error', subject, message: error.message };
}

export interface FindingCounts {
  errors: number;
  warnings: number;
  infos: number;
}

export function countFindings(findings: readonly Finding[]): FindingCounts {
  return {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  };
}

/** The findings table: SEVERITY, CODE, SUBJECT, MESSAGE; errors first, then warnings, then infos. */
export function formatFindingsTable(findings: readonly Finding[]): string {
  const rank = { error: 0, warning: 1, info: 2 } as const;
  const sorted = [...findings].sort((a, b) => rank[a.severity] - rank[b.severity]);
  return formatTable(
    ['SEVERITY', 'CODE', 'SUBJECT', 'MESSAGE'],
    sorted.map((f) => [f.severity, f.code, f.subject, f.message]),
  );
}

export function printFindingsTable(io: Io, findings: readonly Finding[]): void {
  if (findings.length > 0) io.stdout(formatFindingsTable(findings));
}

/** `2 errors, 1 warning` — counts that are zero are left out; '' when there are none. */
export function describeCounts(c: FindingCounts): string {
  const part = (n: number, word: string): string | undefined => (n === 0 ? undefined : `${n} ${word}${n === 1 ? '' : 's'}`);
  return [part(c.errors, 'error'), part(c.warnings, 'warning')].filter(Boolean).join(', ');
}
