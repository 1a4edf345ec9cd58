/**
 * Rollback: put a backed-up bundle back through the store (which backs up what it replaces), after
 * the same check chain every bundle passes. Store-agnostic, so the Kubernetes half adds only its
 * ordered restarts. A rotation journal left unfinished is marked rolled back: the rotation is
 * abandoned, and a later `rotate` starts afresh.
 */
import { TrustBundle } from '../core/bundle.js';
import type { BundleTexts } from '../core/bundle-texts.js';
import { runChecks, type CheckPolicy, type Finding } from '../core/checks/index.js';
import type { Clock } from '../core/clock.js';
import { describeTime } from '../core/checks/labels.js';
import { WardenError } from '../core/errors.js';
import { recordRolledBack, type RotationRecord } from '../core/rotation-phases/record.js';
import type { BackupRef, TrustBundleStore, WriteResult } from '../stores/store.js';
import { sameTexts } from './engine.js';
import type { JournalStore } from './journal.js';

/** Check codes `--force` may override: a backup that is only too old, not broken. */
export const EXPIRY_CODES: ReadonlySet<string> = new Set(['ERR_ROOT_EXPIRED', 'ERR_ISSUER_EXPIRED']);

export interface RollbackCandidate {
  ref: BackupRef;
  texts: BundleTexts;
  /** Undefined when the backup does not parse (see `findings`). */
  bundle: TrustBundle | undefined;
  findings: Finding[];
  /** Only expiry errors: restorable with --force. */
  expired: boolean;
  /** Errors other than expiry: never restored. */
  broken: boolean;
}

export type Restorable = 'ok' | 'expired' | 'broken' | 'unreadable';

/** Whether a backup can be restored: the one rule for rollback, backups and doctor. */
export function restorableOf(candidate: RollbackCandidate | undefined): Restorable {
  if (candidate === undefined || candidate.bundle === undefined) return 'unreadable';
  return candidate.broken ? 'broken' : candidate.expired ? 'expired' : 'ok';
}

export interface InspectedBackup {
  ref: BackupRef;
  /** Undefined when the backup could not be read at all (see `error`). */
  candidate: RollbackCandidate | undefined;
  restorable: Restorable;
  error?: string;
}

/** Every backup, newest first, read and checked at `now`; one that cannot be read is `unreadable`, not an error. */
export async function inspectBackups(store: TrustBundleStore, now: Date): Promise<InspectedBackup[]> {
  const out: InspectedBackup[] = [];
  for (const ref of await store.listBackups()) {
    try {
      const candidate = await inspectBackup(store, ref, now);
      const error = candidate.bundle === undefined ? { error: candidate.findings[0]?.message ?? 'does not parse' } : {};
      out.push({ ref, candidate, restorable: restorableOf(candidate), ...error });
    } catch (error) {
      if (!(error instanceof WardenError)) throw error;
      out.push({ ref, candidate: undefined, restorable: 'unreadable', error: error.message });
    }
  }
  return out;
}

/** The named backup, or the latest; `ERR_BUNDLE_NOT_FOUND` when there is none. `backups` is the command that lists them. */
export async function selectBackup(store: TrustBundleStore, name: string | undefined, backups = 'warden mtls backups'): Promise<BackupRef> {
  const refs = await store.listBackups();
  if (name === undefined) {
    const latest = refs[0];
    if (latest === undefined) {
      throw new WardenError('ERR_BUNDLE_NOT_FOUND', `There are no backups in ${store.description}: nothing to roll back to.`);
    }
    return latest;
  }
  const ref = refs.find((r) => r.name === name);
  if (ref === undefined) {
    throw new WardenError(
      'ERR_BUNDLE_NOT_FOUND',
      `There is no backup named "${name}" in ${store.description}; \`${backups}\` lists them (${refs.length} found).`,
    );
  }
  return ref;
}

/** Reads a backup and runs the checks on it at `now`. */
export async function inspectBackup(store: TrustBundleStore, ref: BackupRef, now: Date, policy: CheckPolicy = {}): Promise<RollbackCandidate> {
  const texts = await store.readBackup(ref.name);
  let bundle: TrustBundle | undefined;
  let findings: Finding[];
  try {
    bundle = TrustBundle.fromTexts(texts);
    findings = runChecks(bundle, now, policy);
  } catch (error) {
    const code = error instanceof WardenError ? error.code : 'ERR_BUNDLE_INVALID';
    findings = [{ code, severity: 'error', subject: ref.location, message: (error as Error).message }];
  }
  const errors = findings.filter((f) => f.severity === 'error');
  const broken = errors.some((f) => !EXPIRY_CODES.has(f.code));
  return { ref, texts, bundle, findings, expired: !broken && errors.length > 0, broken };
}

/** The refusal for an expired backup without --force. */
export function expiredBackupError(candidate: RollbackCandidate, now: Date, backups = 'warden mtls backups'): WardenError {
  const b = candidate.bundle;
  const parts: string[] = [];
  if (b !== undefined && b.root.notAfter.getTime() < now.getTime()) parts.push(`its root expired at ${describeTime(b.root.notAfter)}`);
  if (b !== undefined && b.issuer.notAfter.getTime() < now.getTime()) parts.push(`its issuer expired at ${describeTime(b.issuer.notAfter)}`);
  return new WardenError(
    'ERR_BACKUP_EXPIRED',
    `Backup ${candidate.ref.name} cannot bring mTLS back: ${parts.join(' and ') || 'it has expired'}. Pick another one ` +
      `(\`${backups}\`), or restore it anyway with --force.`,
  );
}

export interface RestoreResult {
  /** False when the store already held exactly this bundle (nothing written). */
  written: boolean;
  write?: WriteResult;
  /** The unfinished rotation this rollback abandoned. */
  abandoned?: RotationRecord;
}

/**
 * Writes `texts` through the store (backing up what is there; replacing a partial bundle too) and
 * marks an unfinished rotation in `journal` as rolled back. The caller holds the rotation lock.
 */
export async function restoreBundle(store: TrustBundleStore, journal: JournalStore, texts: BundleTexts, clock: Clock): Promise<RestoreResult> {
  const current = await store.read();
  let result: RestoreResult;
  if (current.state === 'complete' && sameTexts(current.texts, texts)) {
    result = { written: false };
  } else {
    const write = await store.write(texts, {
      expectedVersion: current.state === 'complete' ? current.version : current.state === 'absent' ? null : undefined,
      backup: true,
      overwritePartial: true,
    });
    result = { written: true, write };
  }
  const record = await journal.read();
  if (record?.status === 'in-progress') {
    const abandoned = recordRolledBack(record, clock.now());
    await journal.write(abandoned);
    result.abandoned = abandoned;
  }
  return result;
}
