/**
 * What the auto-renewer needs from where the bundle lives: the same store, journal (with its lock)
 * and rotation backend `warden mtls rotate` uses there, so a manual rotation and the sentry share
 * one engine, one journal and one lock. Self-hosted: self-hosted-site.ts; Kubernetes:
 * kube-site.ts (plus a Lease, so one replica acts).
 */
import type { RotationSettings } from '../../core/rotation-phases/record.js';
import type { RotationBackend } from '../../rotation-engine/backend.js';
import type { JournalStore } from '../../rotation-engine/journal.js';
import type { TrustBundleStore } from '../../stores/store.js';

/** Who acts: one replica at a time (Kubernetes Lease); self-hosted has no leadership (the lock is enough). */
export interface Leadership {
  /** True while this replica holds leadership. */
  isLeader(): boolean;
  /** Aborts when leadership is lost (a new one per term). */
  readonly lost: AbortSignal;
  /** Resolves when this replica becomes leader, or when `signal` aborts. */
  waitForLeadership(signal: AbortSignal): Promise<void>;
  /** This replica's identity, for logs. */
  readonly identity: string;
  stop(): Promise<void>;
}

/** A Kubernetes Event (or nothing self-hosted) about the trust bundle. */
export interface BundleEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RenewSite {
  readonly mode: 'self-hosted' | 'kubernetes';
  readonly store: TrustBundleStore;
  readonly journal: JournalStore;
  /** The settings a new automatic rotation starts with (recorded in its journal). */
  newSettings(): RotationSettings;
  createBackend(settings: RotationSettings): RotationBackend;
  /** Records an event on the trust-bundle Secret (Kubernetes); absent self-hosted. */
  recordEvent?(event: BundleEvent): Promise<void>;
  readonly leadership?: Leadership;
  close?(): Promise<void>;
}

/** Settings key that marks a rotation the sentry started (a manual one is never resumed by it). */
export { STARTED_BY_KEY, STARTED_BY_SENTRY } from '../../core/rotation-phases/started-by.js';
