/**
 * Copy-pasteable `warden` command lines for advice: the fix commands of doctor, the "continue
 * with" hints of rotate. They repeat the credential flags the operator used, so the printed
 * command acts on the same bundle.
 */
import { DEFAULT_FILE_NAMES, type CredentialOptions } from '../options.js';
import type { BundleLocation } from '../bundle-source.js';

/** Quotes `arg` for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `--issuer-credentials DIR` plus any non-default file-name flags. */
export function credentialArgs(loc: BundleLocation, opts: Pick<CredentialOptions, 'issuerCaFilename' | 'issuerCertificateFilename' | 'issuerKeyFilename'>): string[] {
  const args = ['--issuer-credentials', loc.dir];
  if (opts.issuerCaFilename !== DEFAULT_FILE_NAMES.issuerCaFilename) args.push('--issuer-ca-filename', opts.issuerCaFilename);
  if (opts.issuerCertificateFilename !== DEFAULT_FILE_NAMES.issuerCertificateFilename) {
    args.push('--issuer-certificate-filename', opts.issuerCertificateFilename);
  }
  if (opts.issuerKeyFilename !== DEFAULT_FILE_NAMES.issuerKeyFilename) args.push('--issuer-key-filename', opts.issuerKeyFilename);
  return args;
}

/** `warden mtls <sub> <args…> <credential flags>` as one shell line. */
export function mtlsCommandLine(sub: string, args: readonly string[], credentials: readonly string[]): string {
  return ['warden', 'mtls', sub, ...args, ...credentials].map(shellQuote).join(' ');
}
