import { WardenError } from '../../core/errors.js';
import type { CredentialOptions } from '../options.js';

/**
 * `warden mtls renew-certificate` options. Dapr's flags keep Dapr's names (spec 6.4); optional
 * fields are undefined when the flag was not given, so the command can tell "given" from
 * "defaulted" (defaults are in RENEW_DEFAULTS).
 */
export interface RenewOptions extends CredentialOptions {
  kubernetes?: boolean;
  /** `--valid-until`: days the generated root and issuer are valid (default 365). */
  validUntil?: number;
  /** `--private-key`: an existing root key (SEC1, PKCS#1 or PKCS#8; Ed25519, P-256, P-384, RSA). */
  privateKey?: string;
  caRootCertificate?: string;
  issuerPrivateKey?: string;
  issuerPublicCertificate?: string;
  /** Default: the current bundle's trust domain, else `localhost`. */
  trustDomain?: string;
  /** Key algorithm of generated keys (default ed25519, Dapr v1.18's). */
  keyAlgorithm?: 'ed25519' | 'ecdsa-p256';
  /** `--root-key-out`: save the new root key here (PKCS#8, 0600); never overwrites a file. */
  rootKeyOut?: string;
  dryRun?: boolean;
  /** Namespace in the issuer subject (default env NAMESPACE, else `default`). */
  namespace?: string;
  /** `--allowed-clock-skew`, in ms: NotBefore backdating (default 15m). */
  allowedClockSkew?: number;
  /** Replace a partial bundle (refused otherwise). Check errors are never overridden. */
  force?: boolean;
  /** Dapr's Kubernetes-only flags; accepted so the error can say so. */
  restart?: boolean;
  timeout?: number;
  imageVariant?: string;
}

export const RENEW_DEFAULTS = {
  validUntilDays: 365,
  keyAlgorithm: 'ed25519',
  allowedClockSkewMs: 15 * 60 * 1000,
  trustDomain: 'localhost',
  namespace: 'default',
} as const;

/** Which of Dapr's three paths renew-certificate takes (spec 6.4 "Path selection"). */
export type RenewSource = 'provided' | 'private-key' | 'fresh';

/** Dapr's message when only some of the three "provided" flags are set (dapr/cli renew_certificate.go). */
export const PROVIDED_FLAGS_MESSAGE =
  'certificate rotation failed: all required flags for this certificate rotation path, ' +
  '"ca-root-certificate", "issuer-private-key" and "issuer-public-certificate" are not present';

/**
 * Picks the path as Dapr does: any provided-certificate flag → all three are required;
 * else `--private-key` → generate with that root key; else fresh keys. Flags that make no sense
 * on the chosen path are usage errors (Dapr ignores them silently).
 */
export function selectRenewSource(opts: RenewOptions): RenewSource {
  const provided = [opts.caRootCertificate, opts.issuerPrivateKey, opts.issuerPublicCertificate];
  if (provided.some((p) => p !== undefined)) {
    if (provided.some((p) => p === undefined || p.trim() === '')) {
      throw new WardenError('ERR_USAGE', PROVIDED_FLAGS_MESSAGE);
    }
    const misplaced = (
      [
        ['--private-key', opts.privateKey],
        ['--root-key-out', opts.rootKeyOut],
        ['--valid-until', opts.validUntil],
        ['--key-algorithm', opts.keyAlgorithm],
        ['--trust-domain', opts.trustDomain],
        ['--namespace', opts.namespace],
        ['--allowed-clock-skew', opts.allowedClockSkew],
      ] as const
    ).filter(([, v]) => v !== undefined).map(([flag]) => flag);
    if (misplaced.length > 0) {
      throw new WardenError(
        'ERR_USAGE',
        `${misplaced.join(', ')} cannot be used with provided certificates (--ca-root-certificate, ` +
          `--issuer-private-key, --issuer-public-certificate): those files are installed as they are`,
      );
    }
    return 'provided';
  }
  if (opts.privateKey !== undefined) {
    if (opts.privateKey.trim() === '') {
      throw new WardenError('ERR_USAGE', '"privateKey" flag has incorrect value');
    }
    return 'private-key';
  }
  return 'fresh';
}

/** Refuses Dapr's Kubernetes-only flags: Warden's renew works on a bundle directory for now. */
export function rejectKubernetesFlags(opts: RenewOptions): void {
  const k8sOnly = (
    [
      ['--restart', opts.restart],
      ['--timeout', opts.timeout],
      ['--image-variant', opts.imageVariant],
    ] as const
  ).filter(([, v]) => v !== undefined).map(([flag]) => flag);
  if (opts.kubernetes || k8sOnly.length > 0) {
    const what = opts.kubernetes ? '-k/--kubernetes' : k8sOnly.join(', ');
    throw new WardenError(
      'ERR_USAGE',
      `${what}: Kubernetes mode comes in a later release of Warden; renew-certificate currently ` +
        `renews the self-hosted bundle in --issuer-credentials (default $HOME/.dapr/certs)`,
    );
  }
}
