/**
 * Sentry's logger. Two families of output:
 * - `warden` (default of `warden sentry`): pino JSON lines on stdout, scoped like Dapr's (`dapr.sentry`),
 *   with Warden's structured fields.
 * - `dapr` (bin/sentry, or `--log-format dapr`): Dapr Sentry's own lines (dapr-log-format.ts), text or
 *   JSON (`--log-as-json`), so log pipelines and alerts written for Dapr's Sentry match.
 * `--log-file` sends the lines to that file (appended) instead of stdout.
 */
import { openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { daprLogDestination, type DaprLogIdentity } from './dapr-log-format.js';
import { wardenVersion } from './version.js';

export type SentryLogFormat = 'warden' | 'dapr';

/** Dapr's `--log-level` values; pino knows them all (`warn` is logrus's `warning`). */
export const DAPR_LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type DaprLogLevel = (typeof DAPR_LOG_LEVELS)[number];

export interface SentryLogSettings {
  level?: string | undefined;
  format?: SentryLogFormat | undefined;
  /** Dapr format only: JSON lines instead of logrus text. */
  json?: boolean | undefined;
  /** Write here (appending) instead of stdout. */
  file?: string | undefined;
  /** Tests: the `instance` and `ver` fields (default: host name, Warden's version). */
  identity?: DaprLogIdentity | undefined;
}

/**
 * Every line's `scope` is Dapr's `dapr.sentry` unless the call names its package's scope
 * (`{ scope: LOG_SCOPE.ca }`). A mixin, not pino's `base`: base bindings are written besides the
 * call's fields, so a per-call scope gave the JSON line two "scope" keys.
 */
const SCOPED = { base: null, mixin: () => ({ scope: 'dapr.sentry' }) };

export function createSentryLogger(settings: SentryLogSettings | string = {}): Logger {
  const s: SentryLogSettings = typeof settings === 'string' ? { level: settings } : settings;
  const level = s.level ?? process.env['WARDEN_LOG_LEVEL'] ?? 'info';
  const fd = s.file === undefined ? 1 : openSync(s.file, 'a', 0o600);
  if (s.format !== 'dapr') {
    return s.file === undefined ? pino({ level, ...SCOPED }) : pino({ level, ...SCOPED }, pino.destination({ fd, sync: true }));
  }
  const identity = s.identity ?? { instance: hostname(), ver: wardenVersion() };
  // Synchronous writes: a fatal line must be out before the process exits, and lines from the
  // workers of `--workers N` must not interleave mid-line.
  const destination = daprLogDestination(s.json ? 'json' : 'text', identity, (line) => writeSync(fd, line));
  return pino({ level, ...SCOPED, timestamp: pino.stdTimeFunctions.epochTime }, destination);
}
