import type { Io } from './io.js';

/**
 * Status prefixes exactly as Dapr's CLI prints them on non-Windows terminals
 * (`dapr/cli: pkg/print/print.go`; spec 6). Each is the symbol followed by two spaces.
 */
export const STATUS_PREFIX = {
  success: '✅  ',
  failure: '❌  ',
  warning: '⚠  ',
  pending: '⌛  ',
  info: 'ℹ️  ',
} as const;

export type StatusKind = keyof typeof STATUS_PREFIX;

/**
 * Prints one status line, `<prefix><message>\n`. Failures go to stderr, everything else to
 * stdout (as Dapr's CLI does).
 */
export function printStatus(io: Io, kind: StatusKind, message: string): void {
  const line = `${STATUS_PREFIX[kind]}${message}\n`;
  if (kind === 'failure') io.stderr(line);
  else io.stdout(line);
}

/** Prints `text` followed by a newline on stdout. */
export function printLine(io: Io, text: string): void {
  io.stdout(`${text}\n`);
}

/** Prints `value` as pretty JSON (2-space indent) followed by a newline on stdout. */
export function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Formats rows as a left-aligned, space-padded table with a header line (left out when
 * `showHeader` is false). Columns are separated by two spaces; the last column is not padded
 * (no trailing blanks). Width counts code points, which is right for the ASCII we put in tables.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  showHeader = true,
): string {
  const widths = headers.map((h, i) =>
    Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))),
  );
  const formatRow = (cells: readonly string[]): string =>
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        return i === headers.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell));
      })
      .join('  ')
      .trimEnd();
  const lines = rows.map(formatRow);
  return (showHeader ? [formatRow(headers), ...lines] : lines).map((l) => `${l}\n`).join('');
}

/** Prints a table (see `formatTable`) on stdout. */
export function printTable(io: Io, headers: readonly string[], rows: readonly (readonly string[])[]): void {
  io.stdout(formatTable(headers, rows));
}

function width(s: string): number {
  return [...s].length;
}

/** Output formats accepted by `-o/--output` on reporting commands. */
export const OUTPUT_FORMATS = ['text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
