import { createHash } from 'node:crypto';
import type { Certificate } from '../../core/certificate.js';
import { describeTime } from '../../core/checks/labels.js';
import { expiryState } from '../../core/thresholds.js';
import { inspectBackups } from '../../rotation-engine/rollback.js';
import type { CliDeps } from '../deps.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { formatTable, printJson, printStatus, type OutputFormat } from '../output.js';
import { openSite } from '../site/open-site.js';
import type { RotationRuntime, SiteOptions } from '../site/site.js';

export interface BackupsOptions extends SiteOptions {
  output: OutputFormat;
}

interface CertSummary {
  subject: string;
  /** SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it: tells apart roots that share a subject. */
  sha256: string;
  serial: string;
  notAfter: string;
  state: string;
}

/** `AB:CD:…` (openssl's format). */
export function sha256Fingerprint(cert: Certificate): string {
  return createHash('sha256').update(cert.der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/**
 * `warden mtls backups`: the backups `rollback` can restore, newest first, with their roots' and
 * issuers' fingerprints and expiry at now and whether each passes the checks. Text table or
 * `-o json`; a directory's `.backup` or the cluster's backup Secrets (`-k`).
 */
export async function backupsCommand(opts: BackupsOptions, io: Io, _deps?: CliDeps, runtime: RotationRuntime = {}): Promise<number> {
  const site = await openSite('backups', opts, io, runtime);
  const now = io.clock.now();
  const summary = (cert: Certificate): CertSummary =>
    ({ subject: cert.subject.text, sha256: sha256Fingerprint(cert), serial: cert.serialHex, notAfter: cert.notAfter.toISOString(), state: expiryState(cert, now) });
  const rows = (await inspectBackups(site.store, now)).map(({ ref, candidate, restorable, error }) => {
    const b = candidate?.bundle;
    return {
      name: ref.name, location: ref.location, createdAt: ref.createdAt.toISOString(),
      root: b ? summary(b.root) : null, issuer: b ? summary(b.issuer) : null, anchors: b?.anchors.length ?? 0,
      restorable, ...(error !== undefined ? { error } : {}),
    };
  });
  if (opts.output === 'json') {
    printJson(io, { ...site.jsonWhere, backups: rows });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    printStatus(io, 'info', site.noBackups);
    return EXIT.ok;
  }
  const table = rows.map((r) => [
    r.name,
    r.root ? `${r.root.subject || '(empty subject)'} sha256 ${r.root.sha256.slice(0, 23)}…${r.anchors > 1 ? ` (+${r.anchors - 1} more)` : ''}` : '-',
    r.root ? `${describeTime(new Date(r.root.notAfter))} (${r.root.state})` : '-',
    r.issuer ? `${describeTime(new Date(r.issuer.notAfter))} (${r.issuer.state})` : '-',
    r.restorable === 'ok' ? 'yes' : r.restorable === 'expired' ? 'with --force' : `no (${r.restorable})`,
  ]);
  io.stdout(formatTable(['NAME', 'ROOT', 'ROOT EXPIRES', 'ISSUER EXPIRES', 'RESTORABLE'], table));
  printStatus(io, 'info', `Restore one with \`${site.commandLine('rollback', ['--backup', 'NAME'])}\` (default: the newest, ${rows[0]!.name})`);
  return EXIT.ok;
}
