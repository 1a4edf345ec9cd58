import { parseCertificatesPem, type Certificate } from '../../core/certificate.js';
import { remedySentence } from '../../core/checks/remedies.js';
import { WardenError } from '../../core/errors.js';
import { goTimeString } from '../../core/thresholds.js';
import { hasJwtTexts, type BundleTexts } from '../../core/bundle-texts.js';
import { parseJwtMaterial } from '../../core/jwt-key.js';
import { jwtKeyDueAt, retiredUntil } from '../../core/jwt-rotation.js';
import { inFile, printStorageWarnings, readBundleSource } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import type { KubeCliOptions } from '../kube-options.js';
import type { CredentialOptions } from '../options.js';
import { printJson, printLine, printStatus, type OutputFormat } from '../output.js';

export interface ExpiryOptions extends CredentialOptions, KubeCliOptions {
  output: OutputFormat;
}

/** One certificate's expiry as `-o json` reports it. */
export interface ExpiryEntry {
  subject: string;
  /** ISO 8601, UTC. */
  notAfter: string;
  /** Whole seconds from now to NotAfter, truncated; negative once expired. */
  secondsLeft: number;
  expired: boolean;
}

/**
 * `warden mtls expiry`: prints when the root (first block of ca.crt, as Dapr reads it) and the
 * issuer (first block of issuer.crt) expire. The first line is Dapr's, byte for byte up to the
 * newline Warden adds: `Root certificate expires in <H> hours. Expiry date: <Go time.String()>`.
 * Only the certificates are read, so a bad issuer key does not hide the dates (`verify` judges it).
 *
 * Unlike Dapr (which exits 0), a missing or partial bundle is an error: ERR_BUNDLE_NOT_FOUND /
 * ERR_BUNDLE_PARTIAL, exit 1. With `-k` the bundle is the cluster's (Secret `dapr-trust-bundle`), and
 * a ConfigMap `ca.crt` that differs from the Secret's is warned about.
 *
 * An expired root or issuer is said so (`expired <H> hours ago`, not Dapr's `expires in -1 hours`),
 * with the command that fixes it (the same advice `verify` and `doctor` give, checks/remedies.ts),
 * and exits 3 like `verify` does for the same finding (Dapr exits 0).
 */
export async function expiryCommand(opts: ExpiryOptions, io: Io, deps: CliDeps): Promise<number> {
  const { texts, labels, storageFindings } = await readBundleSource(opts, io, deps);
  const root = firstCertificate(texts.ca, labels.ca);
  const issuer = firstCertificate(texts.issuerCert, labels.issuerCert);
  const now = io.clock.now();

  const jwt = jwtKeyEntry(texts, issuer, now);
  if (opts.output === 'json') {
    printJson(io, { root: expiryEntry(root, now), issuer: expiryEntry(issuer, now), ...(jwt ? { jwtSigningKey: jwt } : {}) });
  } else {
    printLine(io, expiryLine('Root', root.notAfter, now));
    printLine(io, expiryLine('Issuer', issuer.notAfter, now));
    // Warden addition, only when the bundle has a JWT pair (Dapr prints the two lines above).
    if (jwt) printLine(io, jwtKeyLine(jwt));
  }
  printStorageWarnings(io, storageFindings, opts.output);
  const expired = ([['root', root, 'ERR_ROOT_EXPIRED'], ['issuer', issuer, 'ERR_ISSUER_EXPIRED']] as const)
    .filter(([, cert]) => cert.notAfter.getTime() < now.getTime());
  for (const [what, , code] of expired) {
    printStatus(io, 'failure', `The ${what} certificate has expired. ${remedySentence(code)}.`);
  }
  return expired.length > 0 ? EXIT.checksFailed : EXIT.ok;
}

/**
 * Dapr's `<what> certificate expires in <H> hours. Expiry date: <t>` (H truncated toward zero like
 * Go's int()); once past, `<what> certificate expired <H> hours ago. Expiry date: <t>`.
 */
export function expiryLine(what: 'Root' | 'Issuer', notAfter: Date, now: Date): string {
  const leftMs = notAfter.getTime() - now.getTime();
  const hours = Math.trunc(Math.abs(leftMs) / 3_600_000);
  const when = leftMs < 0 ? `expired ${hours} ${hours === 1 ? 'hour' : 'hours'} ago` : `expires in ${hours} hours`;
  return `${what} certificate ${when}. Expiry date: ${goTimeString(notAfter)}`;
}

function expiryEntry(cert: Certificate, now: Date): ExpiryEntry {
  return {
    subject: cert.subject.text,
    notAfter: cert.notAfter.toISOString(),
    secondsLeft: Math.trunc((cert.notAfter.getTime() - now.getTime()) / 1000),
    expired: cert.notAfter.getTime() < now.getTime(),
  };
}

/** The JWT signing key as `-o json` reports it: due with the issuer (src/core/jwt-rotation.ts). */
export interface JwtKeyExpiryEntry {
  keyId?: string;
  algorithm?: string;
  /** The issuer's NotAfter: Warden renews the JWT key with the issuer. */
  dueAt: string;
  secondsLeft: number;
  /** Public keys jwks.json still publishes after a rotation, with the end of their last token. */
  retiredKeys?: { keyId: string; publishedUntil: string }[];
  /** Why jwt.key / jwks.json could not be read (`verify` says more). */
  unreadable?: string;
}

function jwtKeyEntry(texts: BundleTexts, issuer: Certificate, now: Date): JwtKeyExpiryEntry | undefined {
  if (!hasJwtTexts(texts)) return undefined;
  const dueAt = jwtKeyDueAt(issuer);
  const due = { dueAt: dueAt.toISOString(), secondsLeft: Math.trunc((dueAt.getTime() - now.getTime()) / 1000) };
  try {
    const jwt = parseJwtMaterial(texts);
    const retiredKeys = jwt.jwks.keys.flatMap((k) => {
      const until = retiredUntil(k);
      return until === undefined ? [] : [{ keyId: String(k.kid), publishedUntil: new Date(until * 1000).toISOString() }];
    });
    return { keyId: jwt.keyId, algorithm: jwt.algorithm, ...due, retiredKeys };
  } catch (error) {
    return { ...due, unreadable: error instanceof Error ? error.message : String(error) };
  }
}

function jwtKeyLine(jwt: JwtKeyExpiryEntry): string {
  if (jwt.unreadable !== undefined) return `JWT signing key cannot be read (${jwt.unreadable}); run "warden mtls verify"`;
  const retired = jwt.retiredKeys && jwt.retiredKeys.length > 0 ? `; ${jwt.retiredKeys.length} retired key(s) still published` : '';
  return `JWT signing key ${jwt.keyId ?? ''} (${jwt.algorithm ?? ''}) is renewed with the issuer: due ${goTimeString(new Date(jwt.dueAt))}${retired}`;
}

function firstCertificate(pem: string, path: string): Certificate {
  let first: Certificate | undefined;
  try {
    [first] = parseCertificatesPem(pem);
  } catch (error) {
    throw inFile(error, path);
  }
  if (!first) throw new WardenError('ERR_CERT_INVALID', `${path}: no certificate found`);
  return first;
}
