/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it: the
 * holder renews `spec.renewTime` every `retryPeriod`; another candidate takes the Lease only once
 * `renewTime + leaseDurationSeconds` has passed on ITS clock, by an update guarded by the Lease's
 * resourceVersion (a 409 means someone else won), incrementing `leaseTransitions`. A holder that
 * cannot renew within the lease duration steps down (aborts `lost`) before anyone can take over.
 */
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Clock } from '../core/clock.js';
import { httpStatusOf, kubeError, type KubeClients } from './client.js';

export interface LeaseElectorOptions {
  clients: KubeClients;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  /** `leaseDurationSeconds` (client-go's default 15 s). */
  leaseDurationMs: number;
  /** How often to try to acquire or renew (default leaseDuration / 3). */
  retryPeriodMs?: number;
  /** Waiting; resolves early when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Logs state changes and API errors. */
  onChange?(what: 'acquired' | 'lost' | 'error', detail: string): void;
  /** The API (default: made from the clients' kubeconfig). */
  api?: CoordinationV1Api;
}

const microTime = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

export class LeaseElector {
  private leader = false;
  private lostController = new AbortController();
  private readonly stopController = new AbortController();
  private readonly waiters = new Set<() => void>();
  private loop: Promise<void> | undefined;
  private api: CoordinationV1Api | undefined;
  private leaderSince: Date | undefined;

  constructor(private readonly opts: LeaseElectorOptions) {
    this.api = opts.api;
  }

  get identity(): string {
    return this.opts.identity;
  }

  get lost(): AbortSignal {
    return this.lostController.signal;
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async waitForLeadership(signal: AbortSignal): Promise<void> {
    if (this.leader || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops campaigning; a leader releases the Lease (renewTime cleared) so the next one need not wait. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    if (this.leader) {
      await this.release().catch(() => undefined);
      this.stepDown('stopped');
    }
    for (const w of [...this.waiters]) w();
  }

  private async coordination(): Promise<CoordinationV1Api> {
    if (this.api === undefined) {
      const k8s = await import('@kubernetes/client-node');
      this.api = this.opts.clients.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    }
    return this.api;
  }

  private async run(): Promise<void> {
    const retry = this.opts.retryPeriodMs ?? Math.max(1, Math.floor(this.opts.leaseDurationMs / 3));
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      try {
        await this.tryAcquireOrRenew();
      } catch (error) {
        // The API server's own message, as every other Kubernetes error is reported (not the client library's dump of headers and body).
        this.opts.onChange?.('error', kubeError(error, `acquire or renew Lease ${this.opts.namespace}/${this.opts.name}`).message);
      }
      // A leader that could not renew for a whole lease duration must assume another took over.
      if (this.leader && this.leaderSince !== undefined && this.opts.clock.now().getTime() - this.leaderSince.getTime() > this.opts.leaseDurationMs) {
        this.stepDown('could not renew the Lease within its duration');
      }
      await this.opts.sleep(retry, signal);
    }
  }

  /** One attempt (exported behaviour for tests through start()). */
  private async tryAcquireOrRenew(): Promise<void> {
    const api = await this.coordination();
    const { namespace, name, identity } = this.opts;
    const now = this.opts.clock.now();
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw error;
      try {
        await api.createNamespacedLease({ namespace, body: this.body(undefined, now, 0) });
        this.becomeLeader(now);
      } catch (createError) {
        if (httpStatusOf(createError) !== 409) throw createError;
      }
      return;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime === undefined ? 0 : new Date(spec.renewTime as unknown as string).getTime();
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.opts.leaseDurationMs / 1000)) * 1000;
    const expired = holder === '' || renewed === 0 || renewed + durationMs <= now.getTime();
    if (holder !== identity && !expired) {
      if (this.leader) this.stepDown(`the Lease is held by ${holder}`);
      return;
    }
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await api.replaceNamespacedLease({ name, namespace, body: this.body(lease, now, transitions) });
      this.becomeLeader(now);
    } catch (error) {
      if (httpStatusOf(error) !== 409) throw error;
      if (this.leader && holder !== identity) this.stepDown('another replica took the Lease');
    }
  }

  private body(previous: V1Lease | undefined, now: Date, transitions: number): V1Lease {
    const same = previous?.spec?.holderIdentity === this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.opts.name,
        namespace: this.opts.namespace,
        ...(previous?.metadata?.resourceVersion ? { resourceVersion: previous.metadata.resourceVersion } : {}),
        labels: { 'app.kubernetes.io/managed-by': 'warden' },
      },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
        acquireTime: (same && previous?.spec?.acquireTime ? previous.spec.acquireTime : microTime(now)) as unknown as Date,
        renewTime: microTime(now) as unknown as Date,
        leaseTransitions: transitions,
      },
    };
  }

  private async release(): Promise<void> {
    const api = await this.coordination();
    const lease = await api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace });
    if (lease.spec?.holderIdentity !== this.opts.identity) return;
    await api.replaceNamespacedLease({
      name: this.opts.name, namespace: this.opts.namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', renewTime: undefined as unknown as Date } },
    });
  }

  private becomeLeader(now: Date): void {
    this.leaderSince = now;
    if (this.leader) return;
    this.leader = true;
    this.lostController = new AbortController();
    this.opts.onChange?.('acquired', `${this.opts.identity} holds Lease ${this.opts.namespace}/${this.opts.name}`);
    for (const w of [...this.waiters]) w();
  }

  private stepDown(why: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.leaderSince = undefined;
    this.opts.onChange?.('lost', why);
    this.lostController.abort();
  }
}
