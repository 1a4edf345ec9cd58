import { createHash } from 'node:crypto';
import type { Certificate } from '../../core/certificate.js';
import type { Finding } from '../../core/checks/index.js';
import { keyAlgorithmOf } from '../../core/keys.js';
import type { RenewBundle } from './build-plan.js';
import type { RenewResult } from './apply-plan.js';

/** One certificate of the new bundle as `renew-certificate -o json` reports it. */
export interface CertificateSummary {
  subject: string;
  keyAlgorithm: string;
  /** SHA-256 of the DER, lowercase hex. */
  sha256: string;
  notBefore: string;
  notAfter: string;
}

/**
 * What `renew-certificate -o json` prints on stdout (the status lines go to stderr then): where
 * the bundle went, what was written, the backup, the new root and issuer, and the date the new
 * bundle lasts to (the earlier NotAfter). `written` is false for --dry-run and when checks failed.
 */
export interface RenewOutcome {
  ok: boolean;
  dryRun: boolean;
  written: boolean;
  /** `{ directory }`, or `{ namespace, secret, configMap }` with -k. */
  location: Record<string, string>;
  source: RenewBundle['source'];
  keyAlgorithm: { value: string; previous: string | null; changed: boolean; origin: string } | null;
  files: string[];
  backup: string | null;
  rootKey: string | null;
  root: CertificateSummary | null;
  issuer: CertificateSummary | null;
  validThrough: string | null;
  findings: Pick<Finding, 'severity' | 'code' | 'subject' | 'message'>[];
}

export function renewOutcome(
  plan: RenewBundle,
  v: { location: Record<string, string>; files: string[]; dryRun: boolean; result?: RenewResult; findings: readonly Finding[] },
): RenewOutcome {
  const g = plan.generated;
  const bundle = plan.bundle;
  const ok = !v.findings.some((f) => f.severity === 'error');
  const root = bundle?.anchors[0];
  const validThrough = bundle && root ? new Date(Math.min(root.notAfter.getTime(), bundle.issuer.notAfter.getTime())) : undefined;
  return {
    ok,
    dryRun: v.dryRun,
    written: v.result !== undefined,
    location: v.location,
    source: plan.source,
    keyAlgorithm: g
      ? {
          value: g.issuerKeyAlgorithm,
          previous: g.previousKeyAlgorithm ?? null,
          changed: g.previousKeyAlgorithm !== undefined && g.previousKeyAlgorithm !== g.issuerKeyAlgorithm,
          origin: g.keyAlgorithmOrigin ?? '--key-algorithm',
        }
      : null,
    files: v.files,
    backup: v.result?.backupLocation ?? null,
    rootKey: v.result?.rootKeyPath ?? null,
    root: root ? summary(root) : null,
    issuer: bundle ? summary(bundle.issuer) : null,
    validThrough: validThrough?.toISOString() ?? null,
    findings: v.findings.map(({ severity, code, subject, message }) => ({ severity, code, subject, message })),
  };
}

function summary(cert: Certificate): CertificateSummary {
  let keyAlgorithm: string;
  try {
    keyAlgorithm = keyAlgorithmOf(cert.publicKey);
  } catch {
    keyAlgorithm = 'unsupported';
  }
  return {
    subject: cert.subject.text,
    keyAlgorithm,
    sha256: createHash('sha256').update(cert.der).digest('hex'),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  };
}
