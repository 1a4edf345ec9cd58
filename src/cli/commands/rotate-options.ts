/**
 * `warden mtls rotate` options: renew-certificate's source flags (fresh / --private-key / bring
 * your own), plus the rotation's own. Undefined means "not given", so defaults can come from the
 * journal (on --resume) or the --config Configuration.
 */
import { resolve } from 'node:path';
import { WardenError } from '../../core/errors.js';
import type { RotationPhase } from '../../core/rotation-phases/phases.js';
import type { TrustRestartPolicy } from '../../kube/trust-restart-policy.js';
import type { RotationPolicy, RotationSettings } from '../../core/rotation-phases/record.js';
import { SELF_HOSTED_PROPAGATION_DELAY_MS } from '../../rotation-engine/backends/self-hosted.js';
import { loadSentryConfig, DEFAULT_SENTRY_CONFIG } from '../../sentry/config.js';
import type { Io } from '../io.js';
import type { OutputFormat } from '../output.js';
import type { RenewOptions } from '../renew/options.js';

export interface RotateOptions extends Omit<RenewOptions, 'dryRun' | 'force' | 'restart' | 'timeout' | 'imageVariant'> {
  dryRun?: boolean;
  resume?: boolean;
  status?: boolean;
  /** Retire the old root at once instead of waiting TTL + skew. */
  force?: boolean;
  until?: RotationPhase;
  /** ms */
  propagationDelay?: number;
  /** ms; default from --config, else 24h. */
  workloadTtl?: number;
  /** ms; default from --config, else 15m. Also backdates the new certificates. */
  allowedClockSkew?: number;
  config?: string;
  sentryAddress?: string;
  controlPlaneTrustDomain?: string;
  controlPlaneNamespace?: string;
  /** ms per phase for convergence. */
  timeout?: number;
  /** -k: what may be restarted so every running Dapr pod trusts the new root (`--restarts`). */
  restarts?: TrustRestartPolicy;
  /** -k: keep the anchors in `dapr-root-ca.crt` in every namespace with Dapr apps (`--distribute-trust`). */
  distributeTrust?: boolean;
  output?: OutputFormat;
}

export const ROTATE_DEFAULTS = {
  timeoutMs: 5 * 60 * 1000,
  propagationDelayMs: SELF_HOSTED_PROPAGATION_DELAY_MS,
} as const;

/** One `--timeout` rule for every command (options.ts). */
export { parseTimeoutArg } from '../options.js';

const SOURCE_FLAGS: [string, keyof RotateOptions][] = [
  ['--valid-until', 'validUntil'], ['--private-key', 'privateKey'], ['--ca-root-certificate', 'caRootCertificate'],
  ['--issuer-private-key', 'issuerPrivateKey'], ['--issuer-public-certificate', 'issuerPublicCertificate'],
  ['--trust-domain', 'trustDomain'], ['--key-algorithm', 'keyAlgorithm'], ['--root-key-out', 'rootKeyOut'], ['--namespace', 'namespace'],
];

/** Refuses flag combinations that mean nothing: --status/--resume with a new rotation's flags, and so on. */
export function checkRotateModes(opts: RotateOptions): 'status' | 'resume' | 'new' {
  if (opts.status && opts.resume) throw new WardenError('ERR_USAGE', '--status and --resume cannot be combined: --status only reports');
  const given = SOURCE_FLAGS.filter(([, key]) => opts[key] !== undefined).map(([flag]) => flag);
  if (opts.status || opts.resume) {
    const what = opts.status ? '--status' : '--resume';
    if (given.length > 0) {
      throw new WardenError('ERR_USAGE', `${given.join(', ')} cannot be used with ${what}: the new root and issuer were chosen when the rotation started`);
    }
    if (opts.dryRun) throw new WardenError('ERR_USAGE', `--dry-run cannot be used with ${what}; \`warden mtls rotate --status\` shows what is left`);
    for (const [flag, v] of [['--workload-ttl', opts.workloadTtl], ['--allowed-clock-skew', opts.allowedClockSkew], ['--config', opts.config]] as const) {
      if (v !== undefined) throw new WardenError('ERR_USAGE', `${flag} cannot be used with ${what}: the retire time was fixed when the rotation started`);
    }
    return opts.status ? 'status' : 'resume';
  }
  if (opts.output === 'json' && !opts.dryRun) throw new WardenError('ERR_USAGE', '-o json is for --status and --dry-run');
  return 'new';
}

/** The workload policy: flags, else the --config Configuration, else Dapr's defaults (24h, 15m). */
export async function resolveRotationPolicy(opts: Pick<RotateOptions, 'config' | 'workloadTtl' | 'allowedClockSkew'>, io: Io): Promise<RotationPolicy> {
  const config = opts.config === undefined ? DEFAULT_SENTRY_CONFIG : await loadSentryConfig(resolve(io.cwd, opts.config));
  return {
    workloadTtlMs: opts.workloadTtl ?? config.workloadCertTtlMs,
    clockSkewMs: opts.allowedClockSkew ?? config.allowedClockSkewMs,
  };
}

/** Settings for a new rotation, or `base` (the journal's) with the flags given now on top. */
export function resolveSettings(
  opts: Pick<RotateOptions, 'propagationDelay' | 'timeout' | 'force' | 'sentryAddress' | 'controlPlaneTrustDomain' | 'controlPlaneNamespace'>, base?: RotationSettings,
): RotationSettings {
  const settings: RotationSettings = {
    ...(base ?? {}),
    propagationDelayMs: opts.propagationDelay ?? base?.propagationDelayMs ?? ROTATE_DEFAULTS.propagationDelayMs,
    timeoutMs: opts.timeout ?? base?.timeoutMs ?? ROTATE_DEFAULTS.timeoutMs,
    force: opts.force === true || base?.force === true,
  };
  if (opts.sentryAddress !== undefined) settings.sentryAddress = opts.sentryAddress;
  if (opts.controlPlaneTrustDomain !== undefined) settings.controlPlaneTrustDomain = opts.controlPlaneTrustDomain;
  if (opts.controlPlaneNamespace !== undefined) settings.controlPlaneNamespace = opts.controlPlaneNamespace;
  if (opts.propagationDelay !== undefined && opts.propagationDelay < 0) throw new WardenError('ERR_USAGE', '--propagation-delay must not be negative');
  return settings;
}

/** The subset of options renew-certificate's plan builder reads. */
export function toRenewOptions(opts: RotateOptions): RenewOptions {
  const renew: RenewOptions = {
    issuerCredentials: opts.issuerCredentials,
    issuerCaFilename: opts.issuerCaFilename,
    issuerCertificateFilename: opts.issuerCertificateFilename,
    issuerKeyFilename: opts.issuerKeyFilename,
  };
  for (const key of ['validUntil', 'privateKey', 'caRootCertificate', 'issuerPrivateKey', 'issuerPublicCertificate', 'trustDomain', 'keyAlgorithm', 'rootKeyOut', 'namespace'] as const) {
    if (opts[key] !== undefined) (renew as unknown as Record<string, unknown>)[key] = opts[key];
  }
  // For generated certificates the skew also backdates NotBefore (as renew-certificate's flag);
  // provided certificates are installed as they are.
  const provided = opts.caRootCertificate !== undefined || opts.issuerPrivateKey !== undefined || opts.issuerPublicCertificate !== undefined;
  if (!provided && opts.allowedClockSkew !== undefined) renew.allowedClockSkew = opts.allowedClockSkew;
  return renew;
}
