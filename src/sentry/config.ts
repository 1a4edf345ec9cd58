/**
 * The Sentry `Configuration` (spec 2.3): workload certificate TTL, allowed clock skew and the token
 * validators (`spec.mtls.tokenValidators`, spec 1.5), read from a Dapr `Configuration` YAML file in
 * self-hosted mode (`--config`). Without a file, Dapr's Helm defaults apply (Dapr itself refuses to
 * start; Warden does not need the file).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parseGoDuration } from '../core/duration.js';
import { WardenError } from '../core/errors.js';
import { parseTokenValidators, type JwksValidatorConfig } from './token-validators-config.js';

export interface SentryConfig {
  workloadCertTtlMs: number;
  allowedClockSkewMs: number;
  /** `spec.mtls.tokenValidators: [{name: jwks, …}]`: the JWKS validator's options, when configured. */
  jwksValidator?: JwksValidatorConfig | undefined;
}

export const DEFAULT_SENTRY_CONFIG: Readonly<SentryConfig> = Object.freeze({
  workloadCertTtlMs: 24 * 60 * 60 * 1000,
  allowedClockSkewMs: 15 * 60 * 1000,
});

/** Reads and validates the config file; `undefined` path gives the defaults. `ERR_CONFIG_INVALID`. */
export async function loadSentryConfig(path: string | undefined): Promise<SentryConfig> {
  if (path === undefined || path === '') return { ...DEFAULT_SENTRY_CONFIG };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `cannot read Sentry configuration ${path}: ${(err as Error).message}; ` +
      'pass an existing Dapr Configuration YAML with --config, or omit --config to use the defaults', { cause: err });
  }
  return parseSentryConfig(text, path);
}

/** Parses Configuration YAML text (`source` names it in errors). */
export function parseSentryConfig(text: string, source: string): SentryConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw invalid(source, `not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return { ...DEFAULT_SENTRY_CONFIG };
  if (!isRecord(doc)) throw invalid(source, 'the document is not a mapping');
  if (doc['kind'] !== undefined && doc['kind'] !== 'Configuration') {
    throw invalid(source, `kind is ${JSON.stringify(doc['kind'])}, expected "Configuration"`);
  }
  const spec = optionalRecord(doc['spec'], 'spec', source);
  const mtls = optionalRecord(spec?.['mtls'], 'spec.mtls', source);
  const ttl = duration(mtls?.['workloadCertTTL'], 'spec.mtls.workloadCertTTL', source);
  const skew = duration(mtls?.['allowedClockSkew'], 'spec.mtls.allowedClockSkew', source);
  let jwksValidator: JwksValidatorConfig | undefined;
  try {
    jwksValidator = parseTokenValidators(mtls?.['tokenValidators']);
  } catch (err) {
    throw invalid(source, (err as Error).message);
  }
  const config: SentryConfig = {
    workloadCertTtlMs: ttl ?? DEFAULT_SENTRY_CONFIG.workloadCertTtlMs,
    allowedClockSkewMs: skew ?? DEFAULT_SENTRY_CONFIG.allowedClockSkewMs,
    ...(jwksValidator !== undefined ? { jwksValidator } : {}),
  };
  if (config.workloadCertTtlMs <= 0) throw invalid(source, 'spec.mtls.workloadCertTTL must be positive');
  if (config.allowedClockSkewMs < 0) throw invalid(source, 'spec.mtls.allowedClockSkew must not be negative');
  return config;
}

function duration(value: unknown, field: string, source: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(source, `${field} must be a Go duration string such as "24h"`);
  try {
    return parseGoDuration(value);
  } catch (err) {
    throw invalid(source, `${field}: ${(err as Error).message}`);
  }
}

function optionalRecord(value: unknown, field: string, source: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw invalid(source, `${field} must be a mapping`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, why: string): WardenError {
  return new WardenError('ERR_CONFIG_INVALID', `invalid Sentry configuration ${source}: ${why}`);
}
