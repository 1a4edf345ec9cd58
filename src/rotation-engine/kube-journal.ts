/**
 * The rotation journal in Kubernetes: the record lives in a Secret (default
 * `dapr-trust-bundle-rotation`, key `journal.json`) in Dapr's namespace, labelled
 * `app.kubernetes.io/managed-by: warden`; every write is a replace guarded by the resourceVersion
 * this process last saw, so two writers can never silently overwrite each other
 * (ERR_STORE_CONFLICT). A Secret, because the record holds the new issuer's private key.
 *
 * The lock is a second Secret (`<journal>-lock`), taken by creating it (the API server makes that
 * atomic: a second create is a 409). Its annotations name the holder (pid, host) and when it last
 * renewed the lease; the holder renews every `leaseMs / 3`. A lock is broken only when it is
 * provably dead: the same host and its pid is gone, or its lease ran out (the holder crashed
 * elsewhere). Breaking is a delete guarded by the lock's uid and resourceVersion.
 */
import { hostname } from 'node:os';
import type { V1Secret } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { RotationRecord } from '../core/rotation-phases/record.js';
import { httpStatusOf, kubeError, kubeFind, type KubeClients } from '../kube/client.js';
import { MANAGED_BY_LABEL } from '../stores/kube-backup.js';
import { decodeSecretData, encodeBase64, resourceVersionOf } from '../stores/kube-objects.js';
import { bareCommandLine, parseRotationRecord, type CommandLine, type JournalStore, type RotationLock } from './journal.js';

export const DEFAULT_JOURNAL_SECRET = 'dapr-trust-bundle-rotation';
export const JOURNAL_KEY = 'journal.json';
export const ROTATION_LABEL = 'warden.dapr.io/rotation';
const HOLDER_ANNOTATION = 'warden.dapr.io/lock-holder';
const RENEWED_ANNOTATION = 'warden.dapr.io/lock-renewed-at';
/** Default lease: a crashed holder on another host blocks for at most this long. */
export const DEFAULT_LOCK_LEASE_MS = 120_000;

export interface KubeJournalOptions {
  clients: KubeClients;
  namespace: string;
  secretName?: string;
  leaseMs?: number;
  /** Identity of this process (tests give another host or pid). */
  owner?: { pid: number; hostname: string };
  /** Whether a pid on this host runs (default: `process.kill(pid, 0)`). */
  isAlive?: (pid: number) => boolean;
  /** Printed commands with the operator's cluster flags (default: `warden mtls <sub> -k`). */
  commandLine?: CommandLine;
  /** Stamps lease renewals and judges staleness, so both use one clock (default: the system clock). */
  clock?: Clock;
}

interface LockOwner {
  pid: number;
  hostname: string;
}

export class KubeJournalStore implements JournalStore {
  readonly description: string;
  readonly secretName: string;
  readonly lockName: string;
  private readonly namespace: string;
  private readonly clients: KubeClients;
  private readonly leaseMs: number;
  private readonly owner: LockOwner;
  private readonly isAlive: (pid: number) => boolean;
  /** The journal Secret's resourceVersion as this process last saw it (null: known absent). */
  private lastRv: string | null | undefined;
  private readonly commandLine: CommandLine;
  private readonly clock: Clock;

  constructor(opts: KubeJournalOptions) {
    this.clients = opts.clients;
    this.namespace = opts.namespace;
    this.secretName = opts.secretName ?? DEFAULT_JOURNAL_SECRET;
    this.lockName = `${this.secretName}-lock`;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LOCK_LEASE_MS;
    this.owner = opts.owner ?? { pid: process.pid, hostname: hostname() };
    this.isAlive = opts.isAlive ?? pidAlive;
    this.description = `Secret ${this.namespace}/${this.secretName}`;
    this.commandLine = opts.commandLine ?? bareCommandLine(['-k']);
    this.clock = opts.clock ?? systemClock;
  }

  async read(): Promise<RotationRecord | undefined> {
    const secret = await this.readSecret(this.secretName);
    this.lastRv = secret ? resourceVersionOf(secret) : null;
    if (!secret) return undefined;
    const text = decodeSecretData(secret)[JOURNAL_KEY];
    if (text === undefined) {
      throw new WardenError(
        'ERR_ROTATION_JOURNAL_INVALID',
        `${this.description} has no ${JOURNAL_KEY} key: it is not a Warden rotation journal. Rename or delete it (keep a copy) and run \`${this.commandLine('doctor')}\`.`,
      );
    }
    return parseRotationRecord(text, `${this.description} key ${JOURNAL_KEY}`, this.commandLine);
  }

  async write(record: RotationRecord): Promise<void> {
    if (this.lastRv === undefined) {
      const current = await this.readSecret(this.secretName);
      this.lastRv = current ? resourceVersionOf(current) : null;
    }
    const body: V1Secret = {
      metadata: {
        name: this.secretName,
        labels: { [MANAGED_BY_LABEL]: 'warden', [ROTATION_LABEL]: 'journal' },
        annotations: { 'warden.dapr.io/rotation-id': record.id, 'warden.dapr.io/rotation-phase': record.phase, 'warden.dapr.io/rotation-status': record.status },
        ...(this.lastRv === null ? {} : { resourceVersion: this.lastRv }),
      },
      type: 'Opaque',
      data: { [JOURNAL_KEY]: encodeBase64(`${JSON.stringify(record, null, 2)}\n`) },
    };
    const { namespace, secretName: name } = this;
    try {
      const written = this.lastRv === null
        ? await this.clients.core.createNamespacedSecret({ namespace, body })
        : await this.clients.core.replaceNamespacedSecret({ namespace, name, body });
      this.lastRv = resourceVersionOf(written);
    } catch (err) {
      this.lastRv = undefined;
      if (httpStatusOf(err) === 409) {
        throw new WardenError(
          'ERR_STORE_CONFLICT',
          `${this.description} was changed by another writer since this rotation read it; nothing was written. ` +
            `Check what runs (\`${this.commandLine('rotate', ['--status'])}\`), then continue with \`${this.commandLine('rotate', ['--resume'])}\`.`,
          { cause: err },
        );
      }
      throw kubeError(err, `write the rotation journal ${this.description}`);
    }
  }

  async lock(now: Date): Promise<RotationLock> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const created = await this.tryCreateLock(now);
      if (created) return this.heldLock(created);
      const existing = await this.readSecret(this.lockName);
      if (existing && this.isStale(existing, now)) {
        await this.breakLock(existing);
        continue;
      }
      if (!existing) continue; // released meanwhile
      throw new WardenError(
        'ERR_ROTATION_IN_PROGRESS',
        `Another rotation or rollback is running on this cluster's bundle (${holderText(existing, this.owner.hostname)}; lock Secret ${this.namespace}/${this.lockName}). ` +
          `Wait for it to finish (\`${this.commandLine('rotate', ['--status'])}\` shows where it stands); if no such process runs any more, ` +
          `its lock expires ${Math.round(this.leaseMs / 1000)}s after its last renewal, or delete it with \`kubectl delete secret -n ${this.namespace} ${this.lockName}\`.`,
      );
    }
    throw new WardenError('ERR_STORE_CONFLICT', `Cannot take the rotation lock Secret ${this.namespace}/${this.lockName}: it keeps changing. Try again.`);
  }

  async lockHolder(): Promise<string | undefined> {
    const existing = await this.readSecret(this.lockName);
    if (!existing || this.isStale(existing, this.clock.now())) return undefined;
    return holderText(existing, this.owner.hostname);
  }

  private readSecret(name: string): Promise<V1Secret | undefined> {
    return kubeFind(`read Secret ${this.namespace}/${name}`, () => this.clients.core.readNamespacedSecret({ namespace: this.namespace, name }));
  }

  private lockBody(now: Date, resourceVersion?: string): V1Secret {
    return {
      metadata: {
        name: this.lockName,
        labels: { [MANAGED_BY_LABEL]: 'warden', [ROTATION_LABEL]: 'lock' },
        annotations: { [HOLDER_ANNOTATION]: JSON.stringify(this.owner), [RENEWED_ANNOTATION]: now.toISOString() },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      type: 'Opaque',
      data: {},
    };
  }

  private async tryCreateLock(now: Date): Promise<V1Secret | undefined> {
    try {
      return await this.clients.core.createNamespacedSecret({ namespace: this.namespace, body: this.lockBody(now) });
    } catch (err) {
      if (httpStatusOf(err) === 409) return undefined;
      throw kubeError(err, `create the rotation lock Secret ${this.namespace}/${this.lockName}`);
    }
  }

  private isStale(secret: V1Secret, now: Date): boolean {
    const owner = ownerOf(secret);
    if (owner !== undefined && owner.hostname === this.owner.hostname && !this.isAlive(owner.pid)) return true;
    const renewed = Date.parse(secret.metadata?.annotations?.[RENEWED_ANNOTATION] ?? '');
    return Number.isFinite(renewed) && now.getTime() - renewed > this.leaseMs;
  }

  private async breakLock(secret: V1Secret): Promise<void> {
    try {
      await this.clients.core.deleteNamespacedSecret({
        namespace: this.namespace,
        name: this.lockName,
        body: { preconditions: { uid: secret.metadata?.uid, resourceVersion: secret.metadata?.resourceVersion } },
      });
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 404 || status === 409) return; // someone else broke or renewed it: try again
      throw kubeError(err, `remove the stale rotation lock Secret ${this.namespace}/${this.lockName}`);
    }
  }

  /** Renews the lease in the background until released; release deletes the lock (guarded by uid). */
  private heldLock(created: V1Secret): RotationLock {
    let current = created;
    let released = false;
    const renew = async (): Promise<void> => {
      try {
        current = await this.clients.core.replaceNamespacedSecret({
          namespace: this.namespace, name: this.lockName, body: this.lockBody(this.clock.now(), resourceVersionOf(current)),
        });
      } catch {
        // A failed renewal is retried at the next tick; the lease is 3 ticks long.
      }
    };
    const timer = setInterval(() => void renew(), Math.max(1000, Math.floor(this.leaseMs / 3)));
    timer.unref();
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        try {
          await this.clients.core.deleteNamespacedSecret({ namespace: this.namespace, name: this.lockName, body: { preconditions: { uid: created.metadata?.uid } } });
        } catch (err) {
          const status = httpStatusOf(err);
          if (status !== 404 && status !== 409) throw kubeError(err, `delete the rotation lock Secret ${this.namespace}/${this.lockName}`);
        }
      },
    };
  }
}

function ownerOf(secret: V1Secret): LockOwner | undefined {
  try {
    const parsed = JSON.parse(secret.metadata?.annotations?.[HOLDER_ANNOTATION] ?? '') as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && typeof parsed.hostname === 'string' ? { pid: parsed.pid, hostname: parsed.hostname } : undefined;
  } catch {
    return undefined;
  }
}

function holderText(secret: V1Secret, thisHost: string): string {
  const owner = ownerOf(secret);
  const renewed = secret.metadata?.annotations?.[RENEWED_ANNOTATION];
  const who = owner === undefined ? 'another process' : `pid ${owner.pid} on ${owner.hostname === thisHost ? 'this host' : owner.hostname}`;
  return renewed ? `${who}, lease renewed ${renewed}` : who;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
