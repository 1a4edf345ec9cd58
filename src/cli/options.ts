import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { parseGoDuration } from '../core/duration.js';
import { isWardenError } from '../core/errors.js';
import type { Io } from './io.js';

/** The credential-location flags shared by the bundle commands (names as Dapr's sentry, spec 3.1). */
export interface CredentialOptions {
  /** Directory; relative paths are taken from io.cwd. Undefined → `$HOME/.dapr/certs`. */
  issuerCredentials?: string;
  /** File names; absolute names are used as they are, others are joined with the directory. */
  issuerCaFilename: string;
  issuerCertificateFilename: string;
  issuerKeyFilename: string;
}

export const DEFAULT_FILE_NAMES = {
  issuerCaFilename: 'ca.crt',
  issuerCertificateFilename: 'issuer.crt',
  issuerKeyFilename: 'issuer.key',
} as const;

/**
 * Warden's default credentials directory, `$HOME/.dapr/certs` (where `dapr init` keeps
 * self-hosted files). Dapr's sentry defaults to `/var/run/secrets/dapr.io/credentials`, a
 * Kubernetes mount path that rarely exists on a workstation. HOME is read from `io.env` so tests
 * can redirect it.
 */
export function defaultCredentialsDirFor(io: Pick<Io, 'env'>): string {
  return join(io.env.HOME ?? homedir(), '.dapr', 'certs');
}

/** Adds `--issuer-credentials` and the three file-name flags to `cmd`. */
export function addCredentialOptions(cmd: Command): Command {
  return cmd
    .option(
      '--issuer-credentials <dir>',
      'directory holding the trust bundle (default: "$HOME/.dapr/certs")',
    )
    .option('--issuer-ca-filename <name>', 'root (trust anchors) file name', DEFAULT_FILE_NAMES.issuerCaFilename)
    .option(
      '--issuer-certificate-filename <name>',
      'issuer certificate file name',
      DEFAULT_FILE_NAMES.issuerCertificateFilename,
    )
    .option('--issuer-key-filename <name>', 'issuer private key file name', DEFAULT_FILE_NAMES.issuerKeyFilename);
}

/** Commander argument parser for Go-style durations (`24h`, `15m`, `1h30m`); returns milliseconds. */
export function parseDurationArg(value: string): number {
  try {
    return parseGoDuration(value);
  } catch (error) {
    if (isWardenError(error)) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/**
 * Commander parser for every `--timeout`: a bare number is seconds (as Dapr's `--timeout`), else a
 * Go duration (`90s`, `5m`); positive. Returns milliseconds.
 */
export function parseTimeoutArg(value: string): number {
  const text = value.trim();
  const usage = 'expected a whole number of seconds (as Dapr\'s --timeout) or a Go duration such as 90s or 5m.';
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    try {
      ms = parseGoDuration(text);
    } catch {
      throw new InvalidArgumentError(usage);
    }
  }
  if (!(ms > 0)) throw new InvalidArgumentError(usage);
  return ms;
}

const MAX_DAYS = 36500;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Commander argument parser for `--valid-until`: a positive whole number of days (Dapr's form,
 * `365`) or a Go duration (`720h`, `30m`, `1h30m`) for short-lived test bundles. Returns days,
 * fractional for a duration that is not whole days.
 */
export function parseDaysArg(value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const days = Number(text);
    if (days < 1 || days > MAX_DAYS) throw new InvalidArgumentError(`expected between 1 and ${MAX_DAYS} days.`);
    return days;
  }
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch {
    throw new InvalidArgumentError('expected a whole number of days (365) or a Go duration (720h, 30m).');
  }
  if (ms < 60_000 || ms > MAX_DAYS * DAY_MS) throw new InvalidArgumentError(`expected a duration from 1m to ${MAX_DAYS * 24}h.`);
  return ms / DAY_MS;
}

/** Commander argument parser for a TCP port (0–65535). */
export function parsePortArg(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) {
    throw new InvalidArgumentError('expected a port number between 0 and 65535.');
  }
  return Number(value);
}

/** Commander argument parser for a boolean given as a value (`--enable-metrics=false`). */
export function parseBooleanArg(value: string): boolean {
  const v = value.trim().toLowerCase();
  // The spellings Go's strconv.ParseBool accepts (Dapr's flags are parsed by it).
  if (['true', '1', 't'].includes(v)) return true;
  if (['false', '0', 'f'].includes(v)) return false;
  throw new InvalidArgumentError('expected true or false.');
}

/**
 * Commander argument parser for a pflag string slice: each value is one CSV record (quotes allowed,
 * spaces kept), and repeating the flag appends.
 */
export function parseStringSliceArg(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...parseCsvRecord(value)];
}

/** One CSV record as Go's encoding/csv reads it (pflag's `readAsCSV`); empty text → no fields. */
function parseCsvRecord(text: string): string[] {
  if (text === '') return [];
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  if (quoted) throw new InvalidArgumentError(`unterminated quote in ${JSON.stringify(text)}`);
  fields.push(field);
  return fields;
}
