import { dispatchKube } from '../rotation/kube-dispatch.js';
import { describeTime } from '../../core/checks/labels.js';
import { expiryState } from '../../core/thresholds.js';
import { resolveBundleLocation } from '../bundle-source.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import type { CredentialOptions } from '../options.js';
import { formatTable, printJson, printStatus, type OutputFormat } from '../output.js';
import { inspectBackup } from '../../rotation/rollback.js';
import { openSelfHosted, type RotationRuntime } from '../rotation/rotate-setup.js';

export interface BackupsOptions extends CredentialOptions {
  output: OutputFormat;
}

interface CertSummary {
  subject: string;
  notAfter: string;
  state: string;
}

interface BackupRow {
  name: string;
  location: string;
  createdAt: string;
  root: CertSummary | null;
  issuer: CertSummary | null;
  anchors: number;
  /** 'ok' (restorable), 'expired' (needs --force), 'broken' (fails other checks) or 'unreadable'. */
  restorable: 'ok' | 'expired' | 'broken' | 'unreadable';
  error?: string;
}

/**
 * `warden mtls backups`: the backups `rollback` can restore, newest first, with their roots' and
 * issuers' expiry at now and whether each passes the checks. Text table or `-o json`.
 */
export async function backupsCommand(opts: BackupsOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}): Promise<number> {
  const kube = await dispatchKube('backups', opts, io, runtime);
  if (kube !== undefined) return kube;
  const loc = resolveBundleLocation(opts, io);
  const { store } = openSelfHosted(loc, io, runtime);
  const now = io.clock.now();
  const rows: BackupRow[] = [];
  for (const ref of await store.listBackups()) {
    const base = { name: ref.name, location: ref.location, createdAt: ref.createdAt.toISOString() };
    try {
      const c = await inspectBackup(store, ref, now);
      const summary = (cert: { subject: { text: string }; notBefore: Date; notAfter: Date }): CertSummary =>
        ({ subject: cert.subject.text, notAfter: cert.notAfter.toISOString(), state: expiryState(cert, now) });
      rows.push({
        ...base,
        root: c.bundle ? summary(c.bundle.root) : null,
        issuer: c.bundle ? summary(c.bundle.issuer) : null,
        anchors: c.bundle?.anchors.length ?? 0,
        restorable: c.bundle === undefined ? 'unreadable' : c.broken ? 'broken' : c.expired ? 'expired' : 'ok',
        ...(c.bundle === undefined ? { error: c.findings[0]?.message ?? 'does not parse' } : {}),
      });
    } catch (error) {
      rows.push({ ...base, root: null, issuer: null, anchors: 0, restorable: 'unreadable', error: (error as Error).message });
    }
  }
  if (opts.output === 'json') {
    printJson(io, { directory: loc.dir, backups: rows });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    printStatus(io, 'info', `No backups in ${loc.dir}/.backup (Warden backs a bundle up whenever it replaces it)`);
    return EXIT.ok;
  }
  const table = rows.map((r) => [
    r.name,
    r.root ? `${r.root.subject || '(empty subject)'}${r.anchors > 1 ? ` (+${r.anchors - 1} more)` : ''}` : '-',
    r.root ? `${describeTime(new Date(r.root.notAfter))} (${r.root.state})` : '-',
    r.issuer ? `${describeTime(new Date(r.issuer.notAfter))} (${r.issuer.state})` : '-',
    r.restorable === 'ok' ? 'yes' : r.restorable === 'expired' ? 'with --force' : `no (${r.restorable})`,
  ]);
  io.stdout(formatTable(['NAME', 'ROOT', 'ROOT EXPIRES', 'ISSUER EXPIRES', 'RESTORABLE'], table));
  printStatus(io, 'info', `Restore one with \`warden mtls rollback --backup NAME\` (default: the newest, ${rows[0]!.name})`);
  return EXIT.ok;
}
