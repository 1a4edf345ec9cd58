import { parseCertificatesPem, type Certificate } from '../../core/certificate.js';
import { WardenError } from '../../core/errors.js';
import { goTimeString } from '../../core/thresholds.js';
import { inFile, printStorageWarnings, readBundleSource } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import type { KubeCliOptions } from '../kube-options.js';
import type { CredentialOptions } from '../options.js';
import { printJson, printLine, type OutputFormat } from '../output.js';

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
 */
export async function expiryCommand(opts: ExpiryOptions, io: Io, deps: CliDeps): Promise<number> {
  const { texts, labels, storageFindings } = await readBundleSource(opts, io, deps);
  const root = firstCertificate(texts.ca, labels.ca);
  const issuer = firstCertificate(texts.issuerCert, labels.issuerCert);
  const now = io.clock.now();

  if (opts.output === 'json') {
    printJson(io, { root: expiryEntry(root, now), issuer: expiryEntry(issuer, now) });
  } else {
    printLine(io, expiryLine('Root', root.notAfter, now));
    printLine(io, expiryLine('Issuer', issuer.notAfter, now));
  }
  printStorageWarnings(io, storageFindings, opts.output);
  return EXIT.ok;
}

/** `<what> certificate expires in <H> hours. Expiry date: <t>`, H truncated toward zero like Go's int(). */
export function expiryLine(what: 'Root' | 'Issuer', notAfter: Date, now: Date): string {
  const hours = Math.trunc((notAfter.getTime() - now.getTime()) / 3_600_000);
  return `${what} certificate expires in ${hours} hours. Expiry date: ${goTimeString(notAfter)}`;
}

function expiryEntry(cert: Certificate, now: Date): ExpiryEntry {
  return {
    subject: cert.subject.text,
    notAfter: cert.notAfter.toISOString(),
    secondsLeft: Math.trunc((cert.notAfter.getTime() - now.getTime()) / 1000),
  };
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
