/**
 * The Kubernetes trust-bundle store: Secret `dapr-trust-bundle` (`ca.crt`, `issuer.crt`,
 * `issuer.key`, and `jwt.key` + `jwks.json` when the sentry issues JWT-SVIDs) and ConfigMap
 * `dapr-trust-bundle` (`ca.crt`, and `jwks.json` with them) in the Dapr namespace, as Dapr's
 * Sentry keeps them (spec 3.2). A write without the JWT pair leaves the stored one alone, as it
 * leaves every other key of the Secret.
 *
 * Differences from Sentry, on purpose (spec 3.3, 7.4):
 * - The two `ca.crt` values are written byte-identical in one logical update: the Secret (the
 *   source of truth) guarded by its resourceVersion, then the ConfigMap guarded by its own. A
 *   failed ConfigMap write is retried; if it still fails the error says the two now differ.
 * - A reader that finds the ConfigMap's `ca.crt` different from the Secret's gets it reported
 *   (`anchorsMismatch` on the read result); nothing is regenerated or rewritten silently.
 * - A concurrent writer gets ERR_STORE_CONFLICT and nothing is half-written.
 * - The objects are never created unless `create: true` (Sentry's RBAC has no create either).
 * - What is replaced is backed up first (kube-backup.ts).
 *
 * `version` is `<Secret resourceVersion>/<ConfigMap resourceVersion>`.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';
import { type Clock, systemClock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { httpStatusOf, kubeError, kubeFind, type KubeClients } from '../kube/client.js';
import { KubeBackups } from './kube-backup.js';
import { syncConfigMapCa } from './kube-configmap-sync.js';
import {
  BUNDLE_KEYS_ORDER, bundlePartsOf, configMapCaOf, DEFAULT_BUNDLE_KEYS, DEFAULT_TRUST_BUNDLE_NAME, encodeBase64, JWT_KEYS_ORDER,
  resourceVersionOf, type KubeBundleKeys,
} from './kube-objects.js';
import type { BackupRef, BundleReadResult, TrustBundleStore, WriteOptions, WriteResult } from './store.js';

export { DEFAULT_BUNDLE_KEYS, DEFAULT_TRUST_BUNDLE_NAME, type KubeBundleKeys };

export interface KubeStoreOptions {
  clients: KubeClients;
  /** The Dapr namespace (discovery.ts `findDaprNamespace`). */
  namespace: string;
  /** Default `dapr-trust-bundle`. */
  secretName?: string;
  /** Default `dapr-trust-bundle`. */
  configMapName?: string;
  /** Secret keys (Helm `global.issuerFilenames`); default `ca.crt`, `issuer.crt`, `issuer.key`. */
  keys?: Partial<KubeBundleKeys>;
  /** Names and dates backups (default: the system clock). */
  clock?: Clock;
  /** Create missing objects on write, and read them as absent (default false: ERR_KUBE_NOT_FOUND). */
  create?: boolean;
  /** Also keep a local copy of each backup under this directory. */
  backupDir?: string;
  /** ConfigMap write attempts after the Secret is written (default 5), and the first retry delay (default 200 ms, doubling). */
  configMapAttempts?: number;
  retryDelayMs?: number;
}

/** The ConfigMap's `ca.crt` differs from the Secret's (undefined: the key is missing). */
export interface AnchorsMismatch {
  configMapCa: string | undefined;
  /** What is wrong and what to do, for messages. */
  message: string;
}

/** A read result; a complete bundle whose ConfigMap disagrees carries `anchorsMismatch`. */
export type KubeBundleReadResult = BundleReadResult | (Extract<BundleReadResult, { state: 'complete' }> & { anchorsMismatch: AnchorsMismatch });

interface Snapshot {
  secret: V1Secret | undefined;
  configMap: V1ConfigMap | undefined;
}

export class KubeTrustBundleStore implements TrustBundleStore {
  readonly description: string;
  readonly namespace: string;
  readonly secretName: string;
  readonly configMapName: string;
  readonly keys: KubeBundleKeys;
  private readonly clients: KubeClients;
  private readonly clock: Clock;
  private readonly create: boolean;
  private readonly backups: KubeBackups;
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(opts: KubeStoreOptions) {
    this.clients = opts.clients;
    this.namespace = opts.namespace;
    this.secretName = opts.secretName ?? DEFAULT_TRUST_BUNDLE_NAME;
    this.configMapName = opts.configMapName ?? DEFAULT_TRUST_BUNDLE_NAME;
    this.keys = { ...DEFAULT_BUNDLE_KEYS, ...opts.keys };
    this.clock = opts.clock ?? systemClock;
    this.create = opts.create ?? false;
    this.attempts = Math.max(1, opts.configMapAttempts ?? 5);
    this.retryDelayMs = opts.retryDelayMs ?? 200;
    this.backups = new KubeBackups({ clients: this.clients, namespace: this.namespace, secretName: this.secretName, keys: this.keys, backupDir: opts.backupDir });
    this.description = `Secret and ConfigMap ${this.namespace}/${this.secretName}` + (this.configMapName === this.secretName ? '' : ` (ConfigMap ${this.configMapName})`);
  }

  get secretRef(): string {
    return `Secret ${this.namespace}/${this.secretName}`;
  }

  get configMapRef(): string {
    return `ConfigMap ${this.namespace}/${this.configMapName}`;
  }

  async read(): Promise<KubeBundleReadResult> {
    const snap = await this.fetch();
    if (!this.create) this.requireObjects(snap);
    return this.toReadResult(snap);
  }

  async write(texts: BundleTexts, opts: WriteOptions = {}): Promise<WriteResult> {
    const snap = await this.fetch();
    if (!this.create) this.requireObjects(snap);
    const current = this.toReadResult(snap);
    this.checkPreconditions(current, opts);
    const replaced = bundlePartsOf(snap.secret, this.keys);
    const backup = opts.backup !== false && current.state !== 'absent' ? await this.backups.create(replaced, this.clock.now()) : undefined;
    let secretRv: string;
    try {
      secretRv = await this.writeSecret(snap.secret, texts);
    } catch (err) {
      if (backup) await this.backups.remove(backup);
      throw this.secretWriteError(err);
    }
    const configMapRv = await this.writeConfigMapAfterSecret(texts.ca, snap.configMap, texts.jwks);
    const version = `${secretRv}/${configMapRv}`;
    return backup === undefined ? { version } : { version, backup };
  }

  listBackups(): Promise<BackupRef[]> {
    return this.backups.list();
  }

  readBackup(name: string): Promise<BundleTexts> {
    return this.backups.read(name);
  }

  /** Where the local copy of a backup is (when the store has a `backupDir`). */
  localBackupDir(name: string): string | undefined {
    return this.backups.localCopyDir(name);
  }

  /** The ConfigMap's `ca.crt` (undefined when the key is missing); ERR_KUBE_NOT_FOUND when the ConfigMap is. */
  async readConfigMapCa(): Promise<string | undefined> {
    const configMap = await this.readConfigMap();
    if (!configMap) throw this.notFound(this.configMapRef);
    return configMapCaOf(configMap, this.keys);
  }

  /**
   * Makes the ConfigMap's `ca.crt` equal to the Secret's (the source of truth) when they differ;
   * true when it wrote. Nothing to copy (no `ca.crt` in the Secret) is false. Never touches the Secret.
   */
  async resyncConfigMap(): Promise<boolean> {
    const snap = await this.fetch();
    this.requireObjects(snap);
    const ca = bundlePartsOf(snap.secret, this.keys).ca;
    if (ca === undefined || configMapCaOf(snap.configMap, this.keys) === ca) return false;
    await this.writeConfigMapAfterSecret(ca, snap.configMap);
    return true;
  }

  private async fetch(): Promise<Snapshot> {
    const [secret, configMap] = await Promise.all([this.readSecret(), this.readConfigMap()]);
    return { secret, configMap };
  }

  private readSecret(): Promise<V1Secret | undefined> {
    return kubeFind(`read ${this.secretRef}`, () => this.clients.core.readNamespacedSecret({ namespace: this.namespace, name: this.secretName }));
  }

  private readConfigMap(): Promise<V1ConfigMap | undefined> {
    return kubeFind(`read ${this.configMapRef}`, () => this.clients.core.readNamespacedConfigMap({ namespace: this.namespace, name: this.configMapName }));
  }

  private requireObjects(snap: Snapshot): void {
    const missing = [snap.secret ? undefined : this.secretRef, snap.configMap ? undefined : this.configMapRef].filter((m) => m !== undefined);
    if (missing.length > 0) throw this.notFound(missing.join(' and '));
  }

  private notFound(what: string): WardenError {
    return new WardenError(
      'ERR_KUBE_NOT_FOUND',
      `${what} not found (${this.clients.description}). Dapr's Helm chart creates both objects: check --namespace and --context; ` +
        'to create them, pass --create',
    );
  }

  private toReadResult(snap: Snapshot): KubeBundleReadResult {
    const parts = bundlePartsOf(snap.secret, this.keys);
    const present = BUNDLE_KEYS_ORDER.filter((p) => parts[p] !== undefined);
    if (present.length === 0) return { state: 'absent' };
    const name = (p: keyof BundleTexts) => `${this.secretRef} key ${this.keys[p]}`;
    if (present.length < 3) {
      return { state: 'partial', present: present.map(name), missing: BUNDLE_KEYS_ORDER.filter((p) => parts[p] === undefined).map(name) };
    }
    const texts = parts as BundleTexts;
    const version = `${resourceVersionOf(snap.secret)}/${resourceVersionOf(snap.configMap)}`;
    const configMapCa = configMapCaOf(snap.configMap, this.keys);
    if (configMapCa === texts.ca) return { state: 'complete', texts, version };
    return { state: 'complete', texts, version, anchorsMismatch: { configMapCa, message: this.mismatchMessage(configMapCa) } };
  }

  private mismatchMessage(configMapCa: string | undefined): string {
    const what = configMapCa === undefined ? `${this.configMapRef} has no ${this.keys.ca}` : `${this.configMapRef} ${this.keys.ca} differs from ${this.secretRef} ${this.keys.ca}`;
    return `${what}: Dapr's Sentry generates a new CA and overwrites the bundle on its next start when they differ. ` +
      `Renew with 'warden mtls renew-certificate -k' (writes both), or copy the Secret's ${this.keys.ca} into the ConfigMap ` +
      '(warden sentry --mode kubernetes re-syncs it on start)';
  }

  private checkPreconditions(current: KubeBundleReadResult, opts: WriteOptions): void {
    if (current.state === 'partial' && opts.overwritePartial !== true) {
      throw new WardenError(
        'ERR_BUNDLE_PARTIAL',
        `The trust bundle in ${this.secretRef} is incomplete: ${current.missing.join(', ')} missing. ` +
          `Restore the missing key(s), e.g. from a backup Secret (${this.secretName}-backup-*), or replace the whole bundle (--force); nothing was written.`,
      );
    }
    const expected = opts.expectedVersion;
    if (expected === undefined) return;
    if (expected === null ? current.state !== 'absent' : current.state !== 'complete' || current.version !== expected) {
      const found = current.state === 'complete' ? `version ${current.version}` : current.state;
      throw new WardenError(
        'ERR_STORE_CONFLICT',
        `The trust bundle in ${this.description} changed since it was read (expected ${expected === null ? 'no bundle' : `version ${expected}`}, found ${found}). Read it again and redo the change; nothing was written.`,
      );
    }
  }

  /** Replaces (or, with `create`, creates) the Secret, keeping its other keys; returns the new resourceVersion. */
  private async writeSecret(secret: V1Secret | undefined, texts: BundleTexts): Promise<string> {
    const data: Record<string, string> = { ...secret?.data };
    for (const part of BUNDLE_KEYS_ORDER) data[this.keys[part]] = encodeBase64(texts[part]);
    if (hasJwtTexts(texts)) for (const part of JWT_KEYS_ORDER) data[this.keys[part]] = encodeBase64(texts[part]);
    const { namespace } = this;
    if (!secret) {
      const created = await this.clients.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: this.secretName, labels: { app: 'dapr-sentry' } }, type: 'Opaque', data },
      });
      return resourceVersionOf(created);
    }
    // metadata.resourceVersion makes the update conditional: a concurrent change is a 409.
    const replaced = await this.clients.core.replaceNamespacedSecret({ namespace, name: this.secretName, body: { ...secret, data } });
    return resourceVersionOf(replaced);
  }

  private secretWriteError(err: unknown): WardenError {
    const status = httpStatusOf(err);
    if (status === 409) {
      return new WardenError(
        'ERR_STORE_CONFLICT',
        `${this.secretRef} was changed by another writer after it was read; nothing was written (the backup taken for this write was removed). Read it again and redo the change.`,
        { cause: err },
      );
    }
    const mapped = kubeError(err, `update ${this.secretRef}`);
    return new WardenError(mapped.code, `${mapped.message}; nothing was written`, { cause: err });
  }

  private writeConfigMapAfterSecret(ca: string, configMap: V1ConfigMap | undefined, jwks?: string): Promise<string> {
    return syncConfigMapCa({
      clients: this.clients, namespace: this.namespace, configMapName: this.configMapName, keys: this.keys, create: this.create,
      attempts: this.attempts, retryDelayMs: this.retryDelayMs, secretRef: this.secretRef, configMapRef: this.configMapRef,
      readSecret: () => this.readSecret(), readConfigMap: () => this.readConfigMap(), notFound: (what) => this.notFound(what),
    }, ca, configMap, jwks);
  }
}
