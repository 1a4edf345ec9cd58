/**
 * Backups of the Kubernetes trust bundle: before trust material is replaced, a Secret
 * `<secret>-backup-<UTC stamp>[-n]` in the same namespace holding the replaced keys (stamp in
 * lowercase, `20261129t234512z`: object names must be lowercase), labelled
 * `app.kubernetes.io/managed-by: warden` and `warden.dapr.io/backup: "true"`; plus, when a
 * backup directory is given, a local copy `<dir>/<backup name>/<keys>` (directory 0700, files 0600).
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import type { BundleTexts } from '../core/bundle-texts.js';
import { WardenError } from '../core/errors.js';
import { httpStatusOf, kubeError, kubeRead, type KubeClients } from '../kube/client.js';
import { ensurePrivateDir, fsyncDir, toStoreIoError, writeNewFileDurably } from './fs-io.js';
import { BUNDLE_KEYS_ORDER, decodeSecretData, encodeBase64, JWT_KEYS_ORDER, type KubeBundleKeys } from './kube-objects.js';
import { hasJwtTexts } from '../core/bundle-texts.js';
import type { BackupRef } from './store.js';

export const BACKUP_LABEL = 'warden.dapr.io/backup';
export const BACKUP_OF_LABEL = 'warden.dapr.io/backup-of';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const CREATED_AT_ANNOTATION = 'warden.dapr.io/created-at';

export interface KubeBackupOptions {
  clients: KubeClients;
  namespace: string;
  /** The Secret being backed up (`dapr-trust-bundle`). */
  secretName: string;
  keys: KubeBundleKeys;
  /** Where local copies go; none when undefined. */
  backupDir?: string;
}

/** `20261129t234512z` for that instant (UTC, whole seconds). */
export function formatKubeBackupStamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '').toLowerCase();
}

export class KubeBackups {
  private readonly pattern: RegExp;

  constructor(private readonly o: KubeBackupOptions) {
    const escaped = o.secretName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.pattern = new RegExp(`^${escaped}-backup-(\\d{8}t\\d{6}z)(?:-([1-9]\\d*))?$`);
  }

  /** The local copy's directory for a backup, when a backup directory is configured. */
  localCopyDir(name: string): string | undefined {
    return this.o.backupDir === undefined ? undefined : join(this.o.backupDir, name);
  }

  /** Saves `texts` (the parts present) as a new backup Secret, then its local copy. */
  async create(texts: Partial<BundleTexts>, now: Date): Promise<BackupRef> {
    const data: Record<string, string> = {};
    for (const part of [...BUNDLE_KEYS_ORDER, ...JWT_KEYS_ORDER]) {
      const text = texts[part];
      if (text !== undefined) data[this.o.keys[part]] = encodeBase64(text);
    }
    const stamp = formatKubeBackupStamp(now);
    for (let n = 1; ; n++) {
      const name = `${this.o.secretName}-backup-${stamp}${n === 1 ? '' : `-${n}`}`;
      const body: V1Secret = {
        metadata: {
          name,
          labels: { [MANAGED_BY_LABEL]: 'warden', [BACKUP_LABEL]: 'true', [BACKUP_OF_LABEL]: this.o.secretName },
          annotations: { [CREATED_AT_ANNOTATION]: now.toISOString() },
        },
        type: 'Opaque',
        data,
      };
      try {
        await this.o.clients.core.createNamespacedSecret({ namespace: this.o.namespace, body });
      } catch (err) {
        if (httpStatusOf(err) === 409) continue; // taken by a backup in the same second
        throw kubeError(err, `create the backup Secret ${this.o.namespace}/${name}`);
      }
      const ref = this.refOf(name, now);
      await this.writeLocalCopy(ref, texts).catch(async (err: unknown) => {
        await this.o.clients.core.deleteNamespacedSecret({ namespace: this.o.namespace, name }).catch(() => undefined);
        throw err;
      });
      return ref;
    }
  }

  /** Removes a backup that turned out not to be needed (its write failed). Best effort. */
  async remove(ref: BackupRef): Promise<void> {
    await this.o.clients.core.deleteNamespacedSecret({ namespace: this.o.namespace, name: ref.name }).catch(() => undefined);
    const dir = this.localCopyDir(ref.name);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Backup Secrets of this bundle, newest first (by creation time, then by collision suffix). */
  async list(): Promise<BackupRef[]> {
    const { namespace, secretName } = this.o;
    const list = await kubeRead(`list the backup Secrets in ${namespace}`, () =>
      this.o.clients.core.listNamespacedSecret({ namespace, labelSelector: `${BACKUP_LABEL}=true,${BACKUP_OF_LABEL}=${secretName}` }),
    );
    const refs: BackupRef[] = [];
    for (const secret of list.items) {
      const name = secret.metadata?.name ?? '';
      const m = this.pattern.exec(name);
      if (!m) continue;
      refs.push(this.refOf(name, createdAtOf(secret, m[1]!)));
    }
    return refs.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || this.suffixOf(b.name) - this.suffixOf(a.name));
  }

  /** The texts of one backup: ERR_BUNDLE_NOT_FOUND for an unknown name, ERR_BUNDLE_PARTIAL for a partial backup. */
  async read(name: string): Promise<BundleTexts> {
    const { namespace } = this.o;
    if (!this.pattern.test(name)) {
      throw new WardenError('ERR_BUNDLE_NOT_FOUND', `"${name}" is not a backup of Secret ${namespace}/${this.o.secretName} (like ${this.o.secretName}-backup-20261129t234512z): list the backups and pick one`);
    }
    let secret: V1Secret;
    try {
      secret = await this.o.clients.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (httpStatusOf(err) === 404) throw new WardenError('ERR_BUNDLE_NOT_FOUND', `there is no backup Secret ${namespace}/${name}: list the backups and pick one`);
      throw kubeError(err, `read the backup Secret ${namespace}/${name}`);
    }
    if (secret.metadata?.labels?.[BACKUP_LABEL] !== 'true') {
      throw new WardenError('ERR_BUNDLE_NOT_FOUND', `Secret ${namespace}/${name} is not a Warden backup (no ${BACKUP_LABEL}=true label): list the backups and pick one`);
    }
    const data = decodeSecretData(secret);
    const texts: Partial<BundleTexts> = {};
    const missing: string[] = [];
    for (const part of BUNDLE_KEYS_ORDER) {
      const value = data[this.o.keys[part]];
      if (value === undefined) missing.push(this.o.keys[part]);
      else texts[part] = value;
    }
    if (missing.length > 0) {
      throw new WardenError('ERR_BUNDLE_PARTIAL', `the backup Secret ${namespace}/${name} is incomplete (no ${missing.join(', ')}); it was taken of an incomplete bundle. Pick another backup.`);
    }
    const jwt = { jwtKey: data[this.o.keys.jwtKey], jwks: data[this.o.keys.jwks] };
    return (hasJwtTexts(jwt) ? { ...texts, ...jwt } : texts) as BundleTexts;
  }

  private refOf(name: string, createdAt: Date): BackupRef {
    return { name, location: `Secret ${this.o.namespace}/${name}`, createdAt };
  }

  private suffixOf(name: string): number {
    return Number(this.pattern.exec(name)?.[2] ?? 1);
  }

  // Never touches a directory it did not create (an older copy under the same name stays).
  private async writeLocalCopy(ref: BackupRef, texts: Partial<BundleTexts>): Promise<void> {
    const dir = this.localCopyDir(ref.name);
    if (dir === undefined) return;
    let current = dir;
    let created = false;
    try {
      await ensurePrivateDir(this.o.backupDir!);
      await mkdir(dir, { mode: 0o700 });
      created = true;
      await chmod(dir, 0o700);
      for (const part of [...BUNDLE_KEYS_ORDER, ...JWT_KEYS_ORDER]) {
        const text = texts[part];
        if (text === undefined) continue;
        current = join(dir, this.o.keys[part]);
        await writeNewFileDurably(current, text);
      }
      await fsyncDir(dir);
    } catch (err) {
      if (created) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw toStoreIoError('write the local backup copy', current, err);
    }
  }
}

function createdAtOf(secret: V1Secret, stamp: string): Date {
  const annotated = secret.metadata?.annotations?.[CREATED_AT_ANNOTATION];
  const parsed = annotated === undefined ? NaN : Date.parse(annotated);
  if (!Number.isNaN(parsed)) return new Date(parsed);
  const m = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z$/.exec(stamp)!;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
