/**
 * Dapr's log line format (dapr/kit logger: logrus with RFC3339Nano timestamps), rendered from pino's
 * JSON records so every `logger.info(...)` in the sentry can come out as Dapr Sentry's lines.
 *
 * - text: logrus TextFormatter without colours: `time=… level=… msg=…` first, then every other field
 *   sorted by key (so Dapr's `instance scope type ver` with Warden's own fields sorted among them, as
 *   logrus does for WithFields). Values are quoted only when logrus quotes them.
 * - json: logrus JSONFormatter: one object with its keys sorted (Go's encoding of a map), HTML
 *   characters escaped as Go's encoder does.
 * Levels are logrus's names: `debug info warning error fatal`.
 */

export type DaprLogFormat = 'text' | 'json';

/** The fields dapr/kit adds to every line besides `scope`. */
export interface DaprLogIdentity {
  /** `instance`: the host name (the pod name in Kubernetes). */
  instance: string;
  /** `ver`: the version of the running binary. */
  ver: string;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/** Renders one pino record (already parsed) as a Dapr log line, newline included. */
export function formatDaprRecord(record: Readonly<Record<string, unknown>>, format: DaprLogFormat, identity: DaprLogIdentity): string {
  const time = rfc3339Nano(typeof record['time'] === 'number' ? record['time'] : 0);
  const level = LEVEL_NAMES[record['level'] as number] ?? 'info';
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  const data: Record<string, unknown> = { instance: identity.instance, type: 'log', ver: identity.ver };
  for (const [key, value] of Object.entries(record)) {
    if (key === 'time' || key === 'level' || key === 'msg' || value === undefined) continue;
    data[key] = value;
  }
  if (format === 'json') {
    const all: Record<string, unknown> = { ...data, level, msg, time };
    const sorted = Object.keys(all).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(all[k])}`);
    return `${escapeLikeGo(`{${sorted.join(',')}}`)}\n`;
  }
  let line = `time=${logfmtValue(time)} level=${level} msg=${logfmtValue(msg)}`;
  for (const key of Object.keys(data).sort()) line += ` ${key}=${logfmtValue(data[key])}`;
  return `${line}\n`;
}

/**
 * A pino destination that rewrites each record into Dapr's format and hands it to `write`.
 * Pino writes one JSON record per call.
 */
export function daprLogDestination(format: DaprLogFormat, identity: DaprLogIdentity, write: (line: string) => void): { write(chunk: string): void } {
  return {
    write(chunk: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(chunk) as Record<string, unknown>;
      } catch {
        write(chunk);
        return;
      }
      write(formatDaprRecord(record, format, identity));
    },
  };
}

/** Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros (and none at all when zero). */
export function rfc3339Nano(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-12-04T20:10:00.120Z
  return iso.replace(/\.(\d{3})Z$/, (_m, frac: string) => {
    const trimmed = frac.replace(/0+$/, '');
    return trimmed ? `.${trimmed}Z` : 'Z';
  });
}

/** logrus's needsQuoting: anything outside `[A-Za-z0-9-._/@^+]` (or empty text, unquoted by default) is quoted. */
const BARE = /^[A-Za-z0-9\-._/@^+]*$/;

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value instanceof Error ? value.message : stringifyValue(value);
  return BARE.test(text) ? text : goQuote(text);
}

/** fmt's %v for the values Warden logs: numbers and booleans as they are, arrays as `[a b]`, objects as JSON. */
function stringifyValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? v : stringifyValue(v))).join(' ')}]`;
  if (value === null) return '<nil>';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Go's strconv.Quote (what `%q` prints): JSON's escapes, but `\x..` for other control bytes and `\u007f`. */
export function goQuote(text: string): string {
  return JSON.stringify(text)
    .replace(/\\u00([01][0-9a-f])/g, (_m, hex: string) => (hex === '07' ? '\\a' : hex === '0b' ? '\\v' : `\\x${hex}`))
    .replace(/\u007f/g, '\\x7f')
    .replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** Go's json.Encoder (SetEscapeHTML true, logrus's default) escapes <, >, & and U+2028/2029. */
function escapeLikeGo(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
