/**
 * `warden fleet`'s text output: one row per target, then each target's finding with the command
 * that fixes it. On a terminal, statuses get a symbol and a colour; piped, the same text without
 * escape codes (what a script or `grep` wants). `wide` adds the dates, subjects and last read.
 * JWT KEY is the JWT signing key's time left (due with the issuer), `-` when the bundle has none.
 */
import type { FleetCertificate, FleetReport, FleetTarget, TargetStatus } from '../fleet/model.js';
import { DAY_MS } from '../core/thresholds.js';

export interface TableStyle {
  /** Colours and symbols (a terminal). */
  color: boolean;
  wide: boolean;
}

const SYMBOL: Record<TargetStatus, string> = { healthy: '✔', warning: '⚠', unreachable: '?', critical: '✖' };
const COLOR: Record<TargetStatus, string> = { healthy: '32', warning: '33', unreachable: '35', critical: '31' };

const paint = (style: TableStyle, status: TargetStatus, text: string): string =>
  style.color ? `\u001b[${COLOR[status]}m${text}\u001b[0m` : text;

/** A certificate's status as a target status (for its colour). */
const certTone = (c: FleetCertificate): TargetStatus =>
  c.status === 'expired' || c.status === 'critical' ? 'critical' : c.status === 'warning' ? 'warning' : 'healthy';

interface Cell {
  text: string;
  tone?: TargetStatus;
}

export function formatFleetTable(report: FleetReport, style: TableStyle): string {
  const now = new Date(report.generatedAt);
  const headers = ['STATUS', 'TARGET', 'NAMESPACE', 'DAPR', 'ROOT', 'ISSUER', 'JWT KEY', 'ROTATION', 'CONFIGMAP', 'SENTRY', 'APPS NOT CONVERGED'];
  if (style.wide) headers.push('ROOT EXPIRES', 'ISSUER EXPIRES', 'JWT KEY DUE', 'KIND', 'ERROR');
  const rows = report.targets.map((t) => rowOf(t, now, style));
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]?.text ?? ''))));
  const line = (cells: readonly Cell[]): string =>
    cells.map((cell, i) => {
      const pad = i === cells.length - 1 ? '' : ' '.repeat((widths[i] ?? 0) - width(cell.text));
      return (cell.tone ? paint(style, cell.tone, cell.text) : cell.text) + pad;
    }).join('  ').trimEnd();
  const out = [line(headers.map((text) => ({ text }))), ...rows.map(line)];
  const notes = report.targets.filter((t) => t.error !== null || t.finding !== null).map((t) => noteOf(t, style));
  if (notes.length > 0) out.push('', ...notes);
  return `${out.join('\n')}\n`;
}

function rowOf(t: FleetTarget, now: Date, style: TableStyle): Cell[] {
  const status = style.color ? `${SYMBOL[t.status]} ${t.status}` : t.status;
  const cert = (role: string): Cell => {
    const c = t.certificates.find((x) => x.role === role);
    return c === undefined ? { text: '-' } : { text: daysLeft(c, now), tone: certTone(c) };
  };
  const yesNo = (v: boolean | null, yes: string, no: string): Cell => (v === null ? { text: '-' } : v ? { text: yes } : { text: no, tone: 'warning' });
  const cells: Cell[] = [
    { text: status, tone: t.status },
    { text: t.name },
    { text: t.daprNamespace ?? '-' },
    { text: t.daprVersion ?? '-' },
    cert('root'),
    cert('issuer'),
    cert('jwt-key'),
    { text: t.rotation ? t.rotation.phase : '-' },
    yesNo(t.configMapInSync, 'in sync', 'DRIFT'),
    yesNo(t.sentryReady, 'ready', 'NOT READY'),
    t.appsNotConverged === null ? { text: '-' } : t.appsNotConverged > 0 ? { text: String(t.appsNotConverged), tone: 'warning' } : { text: '0' },
  ];
  if (style.wide) {
    const date = (role: string) => t.certificates.find((x) => x.role === role)?.notAfter ?? '-';
    cells.push({ text: date('root') }, { text: date('issuer') }, { text: date('jwt-key') }, { text: t.kind }, { text: t.error?.code ?? '-' });
  }
  return cells;
}

/** `312d`, `5d 3h`, `4h`, `expired 2d ago`. */
function daysLeft(c: FleetCertificate, now: Date): string {
  if (c.notAfter === null) return 'unknown';
  const ms = Date.parse(c.notAfter) - now.getTime();
  const abs = Math.abs(ms);
  const days = Math.floor(abs / DAY_MS);
  const hours = Math.floor((abs % DAY_MS) / 3_600_000);
  const span = days >= 7 ? `${days}d` : days >= 1 ? `${days}d ${hours}h` : `${hours}h`;
  return ms < 0 ? `expired ${span} ago` : span;
}

function noteOf(t: FleetTarget, style: TableStyle): string {
  if (t.error !== null) return `${paint(style, t.status, `${style.color ? `${SYMBOL[t.status]} ` : ''}${t.name}`)}: ${t.error.message} (${t.error.code})`;
  const f = t.finding!;
  const head = `${paint(style, t.status, `${style.color ? `${SYMBOL[t.status]} ` : ''}${t.name}`)}: ${f.message} (${f.code})`;
  return f.fix === null ? head : `${head}\n    fix: ${f.fix}`;
}

function width(s: string): number {
  return [...s].length;
}
