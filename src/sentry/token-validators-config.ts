/**
 * `spec.mtls.tokenValidators` of the Sentry Configuration (spec 1.5; Dapr's
 * `pkg/sentry/config/config.go` `parseConfiguration` and `pkg/sentry/options.go` `decodeOptions`):
 * - names are matched case-insensitively against the request enum (`jwks`, `JWKS`, …);
 * - `kubernetes` and `insecure` are built in and cannot be configured; any other name but `jwks` is
 *   refused with Dapr's message; a later `jwks` entry replaces an earlier one (Dapr keeps a map);
 * - options are strings (numbers are taken as their text, as Dapr's `cast.ToStringMapString`);
 *   durations are Go durations or whole seconds; option names match case-insensitively and unknown
 *   ones are ignored, as mapstructure does.
 * Warden refuses a `jwks` entry without `source` here; Dapr starts and then exits when the cache
 * fails to initialise ("property 'location' must not be empty").
 */
import { parseGoDuration } from '../core/duration.js';

export interface JwksValidatorConfig {
  /** A `https://`/`http://` URL, a path to a local file, or the JWKS itself (JSON, optionally base64). */
  source: string;
  /** CA certificate to trust for an https source: PEM text or a path to a PEM file. */
  caCertificate?: string | undefined;
  /** Least time between two fetches of a URL source; Dapr uses it only above 1 s (default 10 min). */
  minRefreshIntervalMs?: number | undefined;
  /** Timeout of one fetch; Dapr uses it only above 1 ms (default 30 s). */
  requestTimeoutMs?: number | undefined;
}

const BUILT_IN = new Set(['KUBERNETES', 'INSECURE']);

/** Parses the list; undefined when no `jwks` validator is configured. Throws an Error with the reason. */
export function parseTokenValidators(value: unknown): JwksValidatorConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new Error('spec.mtls.tokenValidators must be a list of {name, options}');
  let jwks: JwksValidatorConfig | undefined;
  value.forEach((entry: unknown, index) => {
    const where = `spec.mtls.tokenValidators[${index}]`;
    if (!isRecord(entry)) throw new Error(`${where} must be a mapping with name and options`);
    const name = typeof entry['name'] === 'string' ? entry['name'] : '';
    const upper = name.toUpperCase();
    if (BUILT_IN.has(upper)) {
      throw new Error('invalid token validator: the built-in \'kubernetes\' and \'insecure\' validators cannot be configured manually');
    }
    if (upper !== 'JWKS') throw new Error(`invalid token validator name: '${name}'; supported values: 'jwks'`);
    jwks = parseJwksOptions(entry['options'], `${where}.options`);
  });
  return jwks;
}

function parseJwksOptions(value: unknown, where: string): JwksValidatorConfig {
  if (value !== undefined && value !== null && !isRecord(value)) throw new Error(`${where} must be a mapping`);
  const options = stringOptions(value ?? {});
  const source = options.get('source') ?? '';
  if (source === '') {
    throw new Error(`${where}.source is required: a https:// URL of the JWKS, a path to a JWKS file, or the JWKS JSON itself`);
  }
  return {
    source,
    caCertificate: emptyToUndefined(options.get('cacertificate')),
    minRefreshIntervalMs: optionDuration(options.get('minrefreshinterval'), `${where}.minRefreshInterval`),
    requestTimeoutMs: optionDuration(options.get('requesttimeout'), `${where}.requestTimeout`),
  };
}

/** Lower-cased option names → their values as text (mapstructure matches names case-insensitively). */
function stringOptions(options: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, raw] of Object.entries(options)) {
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') out.set(key.toLowerCase(), String(raw));
  }
  return out;
}

/** A Go duration, or whole seconds (Dapr's `toTimeDurationHookFunc`); empty means "not set". */
function optionDuration(text: string | undefined, field: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (/^-?\d+$/.test(text)) return Number(text) * 1000;
  try {
    return parseGoDuration(text);
  } catch (err) {
    throw new Error(`failed to decode validator options: ${field}: ${(err as Error).message}`);
  }
}

function emptyToUndefined(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
