/** Plain-text report helpers: aligned tables and number formats. */

/** Right-aligns every column except the ones listed in `left` (by index). */
export function formatTable(headers: string[], rows: string[][], left: ReadonlySet<number> = new Set([0])): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (left.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Integer with thousands separators. */
export function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/** Individual runs, compactly: "5706 5987 5620". */
export function runsText(values: readonly number[]): string {
  return values.map((v) => String(Math.round(v))).join(' ');
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}
