/**
 * The trust bundle as Sentry sees it in Kubernetes mode: the `dapr-trust-bundle` Secret (the
 * source of truth) and ConfigMap, through src/stores' KubeTrustBundleStore, with
 * - content versions (a hash of the three texts) instead of resourceVersions, so a write that
 *   changes nothing (a Helm re-apply, a label, our own ConfigMap re-sync) is not a reload;
 * - a clear fatal error naming whichever object is missing (Sentry never creates them);
 * - `syncConfigMap`: the ConfigMap's `ca.crt` made equal to the Secret's when they differ, which
 *   Dapr's Sentry answers by generating a new CA (spec 3.3, 7.4) and Warden never does.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { hasJwtTexts, type BundleTexts } from '../core/bundle-texts.js';
import { WardenError, isWardenError } from '../core/errors.js';
import { kubeFind } from '../kube/client.js';
import { computeBundleVersion } from '../stores/bundle-version.js';
import type { KubeBundleReadResult, KubeTrustBundleStore } from '../stores/kube-store.js';
import type { BundleStore, StoreReadResult } from './startup-bundle.js';

export class KubeBundleSource implements BundleStore {
  /** The Secret's resourceVersion at the last complete read (a watch started later compares with it). */
  lastSecretVersion: string | undefined;

  constructor(
    readonly store: KubeTrustBundleStore,
    private readonly core: CoreV1Api,
  ) {}

  /** `Secret <ns>/<name>`, for messages. */
  get where(): string {
    return this.store.secretRef;
  }

  /** The Secret's bundle (and whether the ConfigMap disagrees); ERR_KUBE_NOT_FOUND naming the missing objects. */
  async readRaw(): Promise<KubeBundleReadResult> {
    try {
      const read = await this.store.read();
      // The store's version is `<Secret resourceVersion>/<ConfigMap resourceVersion>`.
      if (read.state === 'complete') this.lastSecretVersion = read.version.split('/')[0];
      return read;
    } catch (err) {
      if (isWardenError(err, 'ERR_KUBE_NOT_FOUND')) throw await describeMissing(this.core, this.store, err);
      throw err;
    }
  }

  async read(): Promise<StoreReadResult> {
    const read = await this.readRaw();
    if (read.state !== 'complete') return read;
    return { state: 'complete', texts: read.texts, version: computeBundleVersion(read.texts) };
  }

  /** Writes a whole bundle (Secret + ConfigMap), only if the Secret still has none of its keys. */
  async write(texts: BundleTexts): Promise<string> {
    await this.store.write(texts, { expectedVersion: null, backup: false });
    return computeBundleVersion(texts);
  }

  /**
   * Adds a JWT pair to the stored bundle (`--jwt-enabled` and none stored), guarded by the
   * Secret's resourceVersion; when another replica stored a pair first, theirs is kept.
   */
  async addJwtMaterial(texts: BundleTexts, logger: Logger): Promise<void> {
    const read = await this.readRaw();
    if (read.state !== 'complete' || hasJwtTexts(read.texts)) return;
    try {
      await this.store.write(texts, { expectedVersion: read.version, backup: false });
    } catch (err) {
      if (!isWardenError(err, 'ERR_STORE_CONFLICT')) throw err;
      logger.info({ secret: this.where }, `Another writer changed ${this.where} while the JWT signing key was stored; using what it stored`);
    }
  }

  watchPaths(): string[] {
    return [];
  }

  /**
   * If the ConfigMap's `ca.crt` differs from (or lacks) the Secret's and the Secret holds the
   * bundle with content version `servingVersion` (one that passed the checks: a refused bundle's
   * anchors are not spread), copies it over and logs a warning. True when it wrote.
   */
  async syncConfigMap(servingVersion: string, logger: Logger): Promise<boolean> {
    const read = await this.readRaw();
    if (read.state !== 'complete' || !('anchorsMismatch' in read)) return false;
    if (computeBundleVersion(read.texts) !== servingVersion) {
      logger.warn(`${this.store.configMapRef} ${this.store.keys.ca} differs from ${this.where}, but the Secret does not hold the bundle ` +
        'this Sentry is serving (it was refused); the ConfigMap is left alone until the Secret holds a usable bundle');
      return false;
    }
    const wrote = await this.store.resyncConfigMap();
    if (wrote) {
      const was = read.anchorsMismatch.configMapCa === undefined ? `had no ${this.store.keys.ca}` : `had a different ${this.store.keys.ca}`;
      logger.warn(
        { configMap: this.store.configMapRef, secret: this.where },
        `${this.store.configMapRef} ${was} than ${this.where}: re-synced it from the Secret and kept the CA ` +
          '(Dapr\'s Sentry would have generated a new CA and overwritten the bundle here). Whatever writes the Secret must write ' +
          `the same ${this.store.keys.ca} to the ConfigMap: 'warden mtls renew-certificate -k' writes both`,
      );
    }
    return wrote;
  }
}

/** The sentry's own wording for missing objects: which ones, and that it never creates them. */
async function describeMissing(core: CoreV1Api, store: KubeTrustBundleStore, cause: WardenError): Promise<WardenError> {
  let secret: unknown;
  let configMap: unknown;
  try {
    [secret, configMap] = await readBoth(core, store);
  } catch {
    return cause; // cannot tell which one: the store's own message
  }
  const missing = [secret === undefined ? store.secretRef : undefined, configMap === undefined ? store.configMapRef : undefined]
    .filter((m): m is string => m !== undefined);
  const what = missing.length > 0 ? missing.join(' and ') : `${store.secretRef} or ${store.configMapRef}`;
  const verb = missing.length === 1 ? 'does' : 'do';
  return new WardenError(
    'ERR_KUBE_NOT_FOUND',
    `${what} ${verb} not exist; warden sentry reads the trust bundle from them and never creates them. ` +
      `Install Dapr with its Helm chart (which creates both, empty when no certificates are given), or create them empty: ` +
      `kubectl create secret generic ${store.secretName} -n ${store.namespace}; kubectl create configmap ${store.configMapName} -n ${store.namespace}. ` +
      `If Dapr runs in another namespace, set NAMESPACE to it`,
    { cause },
  );
}

async function readBoth(core: CoreV1Api, store: KubeTrustBundleStore): Promise<readonly [unknown, unknown]> {
  return Promise.all([
    kubeFind(`read ${store.secretRef}`, () => core.readNamespacedSecret({ namespace: store.namespace, name: store.secretName })),
    kubeFind(`read ${store.configMapRef}`, () => core.readNamespacedConfigMap({ namespace: store.namespace, name: store.configMapName })),
  ]);
}
