/**
 * The rotation journal: where a rotation's record lives between steps, and the lock that keeps two
 * rotations from running at once. `JournalStore` is the narrow interface the engine uses; the
 * self-hosted one is a 0600 JSON file (default `<credentials dir>/.rotation/journal.json`) written
 * atomically (temp file, fsync, rename, fsync of the directory), so a crash leaves the previous
 * record or the new one, never a torn file. The Kubernetes half keeps the record in a Secret.
 *
 * The lock is `<journal dir>/lock`, taken with the fs store's lock primitive (fs-lock.ts): created
 * atomically, owned by pid + host, broken automatically only when its process is gone.
 */
import { readFile, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { WardenError } from '../core/errors.js';
import { isRotationPhase, isWritePhase, WRITE_PHASES } from '../core/rotation-phases/phases.js';
import { ROTATION_RECORD_FORMAT, type RotationRecord } from '../core/rotation-phases/record.js';
import { createRandomId, ensurePrivateDir, errnoOf, fsyncDir, unlinkIfPresent, writeNewFileDurably } from '../stores/fs-io.js';
import { inspectLock, tryAcquireLock, type HeldLock } from '../stores/fs-lock.js';

/** A held rotation lock. */
export interface RotationLock {
  release(): Promise<void>;
}

export interface JournalStore {
  /** Where the journal lives, for messages. */
  readonly description: string;
  /** The record, or undefined when no rotation was ever recorded here. `ERR_ROTATION_JOURNAL_INVALID` if unreadable. */
  read(): Promise<RotationRecord | undefined>;
  /** Replaces the record atomically and durably. */
  write(record: RotationRecord): Promise<void>;
  /** Takes the rotation lock; `ERR_ROTATION_IN_PROGRESS` (naming the holder) when a live process holds it. */
  lock(now: Date): Promise<RotationLock>;
  /** Who holds the lock (e.g. `pid 123 on host`), or undefined when nobody does. */
  lockHolder(): Promise<string | undefined>;
}

/** `warden mtls <sub> …` with the flags that address the journal's site, for messages (default: bare). */
export type CommandLine = (sub: string, args?: readonly string[]) => string;

export const bareCommandLine = (prefix: readonly string[] = []): CommandLine =>
  (sub, args = []) => ['warden', 'mtls', sub, ...prefix, ...args].join(' ');

/** The journal directory for a credentials directory. */
export function defaultJournalDir(credentialsDir: string): string {
  return join(credentialsDir, '.rotation');
}

export class FileJournalStore implements JournalStore {
  readonly path: string;
  readonly lockPath: string;
  readonly description: string;

  /** `dir` holds `journal.json` and `lock` (created 0700 on first write or lock). */
  constructor(readonly dir: string, private readonly commandLine: CommandLine = bareCommandLine()) {
    this.path = join(dir, 'journal.json');
    this.lockPath = join(dir, 'lock');
    this.description = `journal ${this.path}`;
  }

  async read(): Promise<RotationRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw invalidJournal(this.path, `cannot be read (${errnoOf(err) ?? 'error'}: ${(err as Error).message})`, this.commandLine, err);
    }
    return parseRotationRecord(text, this.path, this.commandLine);
  }

  async write(record: RotationRecord): Promise<void> {
    await ensurePrivateDir(this.dir);
    const temp = join(this.dir, `.${basename(this.path)}.${createRandomId()}.tmp`);
    try {
      await writeNewFileDurably(temp, `${JSON.stringify(record, null, 2)}\n`);
      await rename(temp, this.path);
      await fsyncDir(dirname(this.path));
    } catch (err) {
      await unlinkIfPresent(temp).catch(() => undefined);
      throw new WardenError('ERR_STORE_IO', `Cannot write the rotation journal ${this.path} (${errnoOf(err) ?? 'error'}: ${(err as Error).message}). Check that warden may write ${this.dir}.`, { cause: err });
    }
  }

  async lock(now: Date): Promise<RotationLock> {
    await ensurePrivateDir(this.dir);
    let held: HeldLock | null;
    try {
      held = await tryAcquireLock(this.lockPath, now);
    } catch (err) {
      throw new WardenError('ERR_STORE_IO', `Cannot take the rotation lock ${this.lockPath}: ${(err as Error).message}`, { cause: err });
    }
    if (held === null) {
      const holder = (await this.lockHolder()) ?? 'another process';
      throw new WardenError(
        'ERR_ROTATION_IN_PROGRESS',
        `Another rotation or rollback is running on this bundle (${holder}; lock ${this.lockPath}). Wait for it to finish ` +
          `(\`${this.commandLine('rotate', ['--status'])}\` shows where it stands); if no such process runs, remove the lock file.`,
      );
    }
    return held;
  }

  async lockHolder(): Promise<string | undefined> {
    if ((await inspectLock(this.lockPath)) !== 'live') return undefined;
    try {
      const owner = JSON.parse(await readFile(this.lockPath, 'utf8')) as { pid?: number; hostname?: string };
      return `pid ${owner.pid ?? '?'} on ${owner.hostname === hostname() ? 'this host' : owner.hostname ?? '?'}`;
    } catch {
      return 'another process';
    }
  }
}

function invalidJournal(path: string, why: string, commandLine: CommandLine, cause?: unknown): WardenError {
  return new WardenError(
    'ERR_ROTATION_JOURNAL_INVALID',
    `The rotation journal ${path} ${why}. Move it away (keep it: it holds the new issuer key) and run \`${commandLine('doctor')}\`.`,
    cause === undefined ? undefined : { cause },
  );
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isRecordObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates a journal's JSON (`source` names it in errors). */
export function parseRotationRecord(text: string, source: string, commandLine: CommandLine = bareCommandLine()): RotationRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidJournal(source, `is not valid JSON (${(err as Error).message})`, commandLine, err);
  }
  const problem = describeRecordProblem(value);
  if (problem !== undefined) throw invalidJournal(source, `is not a Warden rotation journal: ${problem}`, commandLine);
  return value as RotationRecord;
}

function describeRecordProblem(v: unknown): string | undefined {
  if (!isRecordObject(v)) return 'not an object';
  if (v.format !== ROTATION_RECORD_FORMAT) return `format ${JSON.stringify(v.format)} (this Warden reads format ${ROTATION_RECORD_FORMAT})`;
  for (const key of ['id', 'createdAt', 'updatedAt', 'store'] as const) if (!isString(v[key])) return `${key} missing`;
  if (!['in-progress', 'done', 'rolled-back'].includes(v.status as string)) return `unknown status ${JSON.stringify(v.status)}`;
  if (!isRotationPhase(v.phase)) return `unknown phase ${JSON.stringify(v.phase)}`;
  const original = v.original;
  if (!isRecordObject(original) || !isString(original.version) || !isRecordObject(original.texts)) return 'original bundle missing';
  for (const part of ['ca', 'issuerCert', 'issuerKey']) if (!isString(original.texts[part])) return `original.texts.${part} missing`;
  const material = v.material;
  if (!isRecordObject(material)) return 'material missing';
  for (const key of ['anchorsPem', 'issuerCertPem', 'issuerKeyPem', 'source']) if (!isString(material[key])) return `material.${key} missing`;
  const policy = v.policy;
  if (!isRecordObject(policy) || typeof policy.workloadTtlMs !== 'number' || typeof policy.clockSkewMs !== 'number') return 'policy missing';
  const settings = v.settings;
  if (!isRecordObject(settings) || typeof settings.propagationDelayMs !== 'number' || typeof settings.timeoutMs !== 'number') return 'settings missing';
  if (!isRecordObject(v.phases)) return 'phases missing';
  for (const phase of WRITE_PHASES) if (!isRecordObject(v.phases[phase])) return `phases.${phase} missing`;
  if (Object.keys(v.phases).some((k) => !isWritePhase(k))) return 'unknown phase in phases';
  return undefined;
}
