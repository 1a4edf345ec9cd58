import { InvalidArgumentError } from 'commander';
import { WardenError } from '../../core/errors.js';
import { parseTimeoutArg, type CredentialOptions } from '../options.js';

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
  /** Kubernetes mode (`-k`): the flags below apply only there (see kube-renew.ts). */
  /** `--restart`: restart the control plane in order after writing, waiting for each rollout. */
  restart?: boolean;
  /** `--timeout`, in seconds: how long to wait for each rollout (Dapr: the Helm timeout; default 300). */
  timeout?: number;
  /** `--image-variant`: accepted for Dapr compatibility and ignored (Warden runs no Helm). */
  imageVariant?: string;
  /** `--restart-apps`: after the control plane, restart every Dapr-enabled app (implies --restart). */
  restartApps?: boolean;
  /** `--app-namespaces a,b`: only apps in these namespaces (default: all). */
  appNamespaces?: string[];
  /** `--max-concurrent-restarts`: apps restarting at once (default 5). */
  maxConcurrentRestarts?: number;
  kubeconfig?: string;
  context?: string;
  /** `--expiry-warning-days`: the banner after the command (src/cli/kube-expiry-banner.ts). */
  expiryWarningDays?: number;
  /** `--backup-dir`: also keep a local copy of the backup Secret here. */
  backupDir?: string;
  /** `--create`: create the Secret and ConfigMap if they are missing (Helm normally does). */
  create?: boolean;
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

/** Kubernetes-only flags, by flag name, for the options `opts` has set. */
export function kubernetesOnlyFlags(opts: RenewOptions): string[] {
  return (
    [
      ['--restart', opts.restart],
      ['--timeout', opts.timeout],
      ['--image-variant', opts.imageVariant],
      ['--restart-apps', opts.restartApps],
      ['--app-namespaces', opts.appNamespaces],
      ['--max-concurrent-restarts', opts.maxConcurrentRestarts],
      ['--kubeconfig', opts.kubeconfig],
      ['--context', opts.context],
      ['--expiry-warning-days', opts.expiryWarningDays],
      ['--backup-dir', opts.backupDir],
      ['--create', opts.create],
    ] as const
  ).filter(([, v]) => v !== undefined).map(([flag]) => flag);
}

/** Refuses Kubernetes-only flags without -k: the self-hosted renewal works on a bundle directory. */
export function rejectKubernetesFlags(opts: RenewOptions): void {
  const k8sOnly = kubernetesOnlyFlags(opts);
  if (k8sOnly.length > 0) {
    throw new WardenError(
      'ERR_USAGE',
      `${k8sOnly.join(', ')} ${k8sOnly.length === 1 ? 'needs' : 'need'} -k/--kubernetes (renewing the bundle in a cluster); ` +
        'without -k, renew-certificate renews the self-hosted bundle in --issuer-credentials (default $HOME/.dapr/certs)',
    );
  }
}

/** Commander parser for `--timeout`, in seconds: the one rule of every `--timeout` (seconds, or a Go duration). */
export function parseTimeoutSecondsArg(value: string): number {
  return parseTimeoutArg(value) / 1000;
}

/** Commander parser for `--max-concurrent-restarts`: 1 to 100. */
export function parseConcurrencyArg(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 1 && n <= 100)) throw new InvalidArgumentError('expected a whole number between 1 and 100.');
  return n;
}

// A Kubernetes namespace name (RFC 1123 label).
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Commander parser for `--app-namespaces a,b`: namespace names, comma separated. */
export function parseNamespaceListArg(value: string): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const bad = names.filter((n) => !NAMESPACE_NAME.test(n));
  if (names.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(`expected namespace names separated by commas${bad.length > 0 ? ` (not a namespace name: ${bad.join(', ')})` : ''}.`);
  }
  return [...new Set(names)];
}
