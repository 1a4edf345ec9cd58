/**
 * `warden sentry --auto-renew`: the sentry renews its own CA before it expires by running the SAME
 * phased rotation `warden mtls rotate` runs (rotation-engine/engine.ts: add-anchor → propagation →
 * switch-issuer → wait workload TTL + skew → retire-old-root), with the same journal and lock.
 *
 * One loop, one step per turn:
 *  - not the acting replica (Kubernetes Lease held elsewhere): wait for leadership;
 *  - the journal holds an unfinished rotation this sentry (or a dead replica) started: take the
 *    lock and continue it where it stopped (the engine's `nextStep` decides);
 *  - an unfinished rotation a person started: leave it alone (counted as `blocked`, logged);
 *  - otherwise: if the bundle is due (core/auto-renew.ts) and renewable without a person's key,
 *    take the lock, plan a rotation to a freshly generated CA and run it; if it is due but not
 *    renewable, warn (log, metric, Event) every check interval instead.
 * The lock is the journal's (`.rotation/lock`, or the lock Secret): a manual rotation and the sentry
 * never both write, and two sentries on one directory never both rotate.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { assessRenewability, bundleRenewalTime, type AutoRenewPolicy, type RenewalDue, type Renewability } from '../../core/auto-renew.js';
import { generateTrustBundle, TrustBundle } from '../../core/bundle.js';
import type { BundleTexts } from '../../core/bundle-texts.js';
import type { Clock } from '../../core/clock.js';
import { formatGoDuration } from '../../core/duration.js';
import { isWardenError, WardenError, type ErrorCode } from '../../core/errors.js';
import { keyAlgorithmOf } from '../../core/keys.js';
import { planRotation } from '../../core/rotation-phases/plan.js';
import { createRotationRecord, type RotationPolicy, type RotationRecord } from '../../core/rotation-phases/record.js';
import type { Sleeper } from '../../rotation-engine/backend.js';
import { runRotation, startRotation } from '../../rotation-engine/engine.js';
import type { RotationLock } from '../../rotation-engine/journal.js';
import type { CaStateHolder } from '../ca-state.js';
import type { SentryMetrics } from '../metrics.js';
import { applyObservation, EVENT_REASON, observeRotationEvent } from './observe.js';
import { STARTED_BY_KEY, STARTED_BY_SENTRY, type RenewSite } from './site.js';

/** Longest single sleep (Node's timers overflow past 2^31 ms). */
const MAX_SLEEP_MS = 20 * 24 * 60 * 60 * 1000;

export interface AutoRenewerDeps {
  site: RenewSite;
  caState: CaStateHolder;
  clock: Clock;
  /** Waiting (real timers in production, the test's clock in tests); sleeps are cut into `checkIntervalMs` pieces. */
  sleeper: Sleeper;
  logger: Logger;
  metrics: SentryMetrics;
  policy: AutoRenewPolicy;
  /** The rotation's retire rule: the sentry's workload TTL and allowed clock skew. */
  rotationPolicy: RotationPolicy;
  /** Re-read the journal and the bundle at least this often (default 1 h). */
  checkIntervalMs: number;
  /** Wait after a failed rotation step before trying again. */
  retryDelayMs: number;
  /** The current root's key (`--auto-renew-root-key`): renew with it instead of a fresh root. */
  rootKey?: KeyObject | undefined;
  /** Fallbacks for a fresh CA when the current one does not say. */
  trustDomain: string;
  namespace: string;
}

/** What the loop is doing, for tests and the status line. */
export type RenewerState = 'starting' | 'follower' | 'waiting' | 'not-renewable' | 'blocked' | 'rotating' | 'retrying' | 'stopped';

export class AutoRenewer {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private warnedAt = 0;
  private lastDue: (RenewalDue & { renewability: Renewability }) | undefined;
  state: RenewerState = 'starting';
  /** Rotations this process completed (tests). */
  completed = 0;

  constructor(private readonly deps: AutoRenewerDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops between steps (a rotation in flight stops consistently; the journal continues it later). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.deps.site.leadership?.stop();
    await this.deps.site.close?.();
    this.state = 'stopped';
  }

  /** The next automatic renewal, for the expiry warnings (undefined before the first check). */
  nextRenewal(): (RenewalDue & { renewability: Renewability }) | undefined {
    return this.lastDue;
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  private async run(): Promise<void> {
    const { metrics } = this.deps;
    metrics.autoRenewLeader.set(this.deps.site.leadership === undefined ? 1 : 0);
    metrics.setRotationPhase('idle');
    while (!this.abort.signal.aborted) {
      try {
        await this.turn();
      } catch (error) {
        if (this.abort.signal.aborted) break;
        this.state = 'retrying';
        const message = (error as Error).message;
        const lostLead = this.deps.site.leadership?.lost.aborted === true;
        if (lostLead) {
          this.log.warn({ err: message }, 'Auto-renew: leadership lost; the new leader continues the rotation from the journal');
        } else {
          metrics.autoRenewals.inc({ result: 'failed' });
          this.log.error({ code: isWardenError(error) ? error.code : undefined, err: message }, `Auto-renew: the rotation step failed; retrying in ${formatGoDuration(this.deps.retryDelayMs)}`);
          this.recordEvent({ type: 'Warning', reason: EVENT_REASON.failed, message: message.slice(0, 1000) });
        }
        await this.sleep(this.deps.retryDelayMs);
      }
    }
    metrics.autoRenewLeader.set(0);
  }

  private async turn(): Promise<void> {
    const { site, metrics } = this.deps;
    const leadership = site.leadership;
    if (leadership !== undefined && !leadership.isLeader()) {
      this.state = 'follower';
      metrics.autoRenewLeader.set(0);
      await leadership.waitForLeadership(this.abort.signal);
      if (leadership.isLeader()) {
        metrics.autoRenewLeader.set(1);
        this.log.info({ identity: leadership.identity }, 'Auto-renew: this replica holds the Lease and acts');
      }
      return;
    }
    const record = await site.journal.read();
    if (record?.status === 'in-progress') {
      if (record.settings[STARTED_BY_KEY] !== STARTED_BY_SENTRY) {
        this.state = 'blocked';
        metrics.autoRenewals.inc({ result: 'blocked' });
        this.log.warn({ rotation: record.id, phase: record.phase },
          `Auto-renew: rotation ${record.id} was started by a person and is unfinished (last phase: ${record.phase}); the sentry does not renew until it is finished or rolled back`);
        await this.sleep(this.deps.checkIntervalMs);
        return;
      }
      await this.withLock(async () => {
        const again = await site.journal.read();
        if (again?.status !== 'in-progress' || again.id !== record.id) return;
        this.log.info({ rotation: again.id, phase: again.phase }, `Auto-renew: continuing rotation ${again.id} from the journal (last completed phase: ${again.phase})`);
        await this.runRecord(again, false);
      });
      return;
    }
    await this.considerRenewal();
  }

  /**
   * The X.509 parts of the bundle the store holds now. Decisions are made on it, not on the CA this
   * process serves: that reload can lag a rotation that just finished (Kubernetes: the mount, and
   * a GET every 10 s), and the lagging copy still has the old root, which is due, so a second
   * rotation would start at once. (The engine renews the JWT pair itself.)
   */
  private async readStored(): Promise<{ read: { texts: BundleTexts; version: string }; bundle: TrustBundle }> {
    const { site } = this.deps;
    const read = await site.store.read();
    if (read.state !== 'complete') {
      throw new WardenError(read.state === 'absent' ? 'ERR_BUNDLE_NOT_FOUND' : 'ERR_BUNDLE_PARTIAL',
        `The trust bundle in ${site.store.description} is ${read.state}, so there is nothing to renew; restore it (\`warden mtls backups\` lists the backups) and the sentry renews it at its next check.`);
    }
    const bundle = TrustBundle.fromTexts({ ca: read.texts.ca, issuerCert: read.texts.issuerCert, issuerKey: read.texts.issuerKey });
    return { read: { texts: read.texts, version: read.version }, bundle };
  }

  private async considerRenewal(): Promise<void> {
    const { metrics, clock } = this.deps;
    const { bundle } = await this.readStored();
    const due = bundleRenewalTime(bundle, this.deps.policy);
    const renewability = assessRenewability(bundle, this.deps.rootKey);
    if (this.lastDue?.at.getTime() !== due.at.getTime()) {
      this.log.info({ scope: 'dapr.sentry.autorenew', renewAt: due.at.toISOString(), which: due.which, possible: renewability.renewable },
        renewability.renewable
          ? `Auto-renew: the next automatic renewal is at ${due.at.toISOString()} (the ${due.which} is due then)`
          : `Auto-renew: the ${due.which} is due for renewal at ${due.at.toISOString()}, but the sentry cannot renew it: ${renewability.why}`);
    }
    this.lastDue = { ...due, renewability };
    metrics.nextRenewalSeconds.set(Math.floor(due.at.getTime() / 1000));
    metrics.autoRenewPossible.set(renewability.renewable ? 1 : 0);
    metrics.setRotationPhase('idle');
    const now = clock.now();
    const wait = due.at.getTime() - now.getTime();
    if (wait > 0) {
      this.state = 'waiting';
      await this.sleep(Math.min(wait, this.deps.checkIntervalMs));
      return;
    }
    if (!renewability.renewable) {
      this.state = 'not-renewable';
      if (now.getTime() - this.warnedAt >= this.deps.checkIntervalMs || this.warnedAt === 0) {
        this.warnedAt = now.getTime();
        const message = `The ${due.which} certificate was due for automatic renewal at ${due.at.toISOString()}, but the sentry cannot renew it: ${renewability.why}`;
        this.log.warn({ which: due.which, renewAt: due.at.toISOString() }, `Auto-renew: ${message}`);
        this.recordEvent({ type: 'Warning', reason: EVENT_REASON.notRenewable, message });
      }
      await this.sleep(this.deps.checkIntervalMs);
      return;
    }
    await this.withLock(async () => {
      const existing = await this.deps.site.journal.read();
      if (existing?.status === 'in-progress') return; // someone started one meanwhile: the next turn decides
      // The store again, under the lock: a manual rotation may have finished meanwhile.
      const { read, bundle: stored } = await this.readStored();
      if (bundleRenewalTime(stored, this.deps.policy).at.getTime() > this.deps.clock.now().getTime()) return;
      const storedRenewability = assessRenewability(stored, this.deps.rootKey);
      if (!storedRenewability.renewable) return; // the next turn warns
      await this.startNew(storedRenewability.source as 'fresh' | 'private-key', due, read, stored);
    });
  }

  private async startNew(source: 'fresh' | 'private-key', due: RenewalDue, read: { texts: BundleTexts; version: string }, original: TrustBundle): Promise<void> {
    const { site, clock } = this.deps;
    const material = this.buildMaterial(original, source);
    const now = clock.now();
    const plan = planRotation({ original, material, now, policy: this.deps.rotationPolicy });
    if (plan.invalid) {
      const errors = plan.phases.flatMap((p) => p.findings.filter((f) => f.severity === 'error').map((f) => `${p.phase}: ${f.code} ${f.message}`));
      throw new WardenError(plan.phases.flatMap((p) => p.findings).find((f) => f.severity === 'error')?.code as ErrorCode ?? 'ERR_BUNDLE_INVALID',
        `The automatic rotation was not started: its planned bundles fail their checks (${errors.join('; ')}); nothing was written. Rotate by hand with \`warden mtls rotate\`.`);
    }
    const texts = material.toTexts();
    const record = createRotationRecord({
      id: `${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')}-${randomBytes(3).toString('hex')}`,
      now,
      store: site.store.description,
      policy: this.deps.rotationPolicy,
      settings: site.newSettings(),
      original: { texts: read.texts, version: read.version },
      material: { source, anchorsPem: texts.ca, issuerCertPem: texts.issuerCert, issuerKeyPem: texts.issuerKey },
    });
    this.deps.metrics.autoRenewals.inc({ result: 'started' });
    const message = `Rotation ${record.id} started: the ${due.which} was due at ${due.at.toISOString()}; new root until ${material.root.notAfter.toISOString()} (${source === 'fresh' ? 'freshly generated' : 'same root key'})`;
    this.log.info({ scope: 'dapr.sentry.autorenew', rotation: record.id, which: due.which, source }, `Auto-renew: ${message}`);
    this.recordEvent({ type: 'Normal', reason: EVENT_REASON.started, message });
    await this.runRecord(record, true);
  }

  /** A new CA like the current one: same trust domain, namespace, key algorithm and lifetime. */
  private buildMaterial(original: TrustBundle, source: 'fresh' | 'private-key'): TrustBundle {
    const root = original.root;
    const trustDomain = /^O=([^,=]+)$/.exec(root.subject.text)?.[1] ?? this.deps.trustDomain;
    const namespace = /\/ns\/([^/]+)\//.exec(original.issuer.uriSans[0] ?? '')?.[1] ?? this.deps.namespace;
    const algorithm = keyAlgorithmOf(original.issuer.publicKey);
    const skew = this.deps.rotationPolicy.clockSkewMs;
    const lifetime = root.notAfter.getTime() - root.notBefore.getTime() - skew;
    const { bundle } = generateTrustBundle({
      clock: this.deps.clock,
      trustDomain,
      namespace,
      keyAlgorithm: algorithm === 'ecdsa-p256' ? 'ecdsa-p256' : 'ed25519',
      validityMs: Math.max(lifetime, 60 * 60 * 1000),
      clockSkewMs: skew,
      ...(source === 'private-key' && this.deps.rootKey ? { rootKey: this.deps.rootKey } : {}),
    });
    return bundle;
  }

  private async runRecord(record: RotationRecord, isNew: boolean): Promise<void> {
    const { site, metrics } = this.deps;
    this.state = 'rotating';
    const backend = site.createBackend(record.settings);
    const signal = site.leadership === undefined ? this.abort.signal : AbortSignal.any([this.abort.signal, site.leadership.lost]);
    const opts = {
      backend,
      clock: this.deps.clock,
      sleeper: this.cappedSleeper(),
      signal,
      report: (event: Parameters<typeof observeRotationEvent>[1]) =>
        applyObservation(observeRotationEvent(record.id, event), this.log, metrics, site.recordEvent?.bind(site)),
    };
    if (isNew) metrics.setRotationPhase('plan');
    const outcome = isNew ? await startRotation(record, opts) : await runRotation(record, opts);
    if (outcome.result === 'done' && outcome.record.status === 'done') {
      this.completed += 1;
      metrics.autoRenewals.inc({ result: 'completed' });
      metrics.setRotationPhase('idle');
    }
  }

  /** Takes the journal's lock for `fn`; when someone else holds it, counts `blocked` and waits a check interval. */
  private async withLock(fn: () => Promise<void>): Promise<void> {
    let lock: RotationLock;
    try {
      lock = await this.deps.site.journal.lock(this.deps.clock.now());
    } catch (error) {
      if (!isWardenError(error) || error.code !== 'ERR_ROTATION_IN_PROGRESS') throw error;
      this.state = 'blocked';
      this.deps.metrics.autoRenewals.inc({ result: 'blocked' });
      this.log.warn({ err: error.message }, 'Auto-renew: the rotation lock is held; waiting');
      this.recordEvent({ type: 'Normal', reason: EVENT_REASON.blocked, message: error.message.slice(0, 1000) });
      // A lock left by a dead holder expires within minutes: look again soon, not after a whole check interval.
      await this.sleep(Math.min(this.deps.retryDelayMs, this.deps.checkIntervalMs));
      return;
    }
    try {
      await fn();
    } finally {
      await lock.release();
    }
  }

  /** The engine's waits, cut into pieces a timer can hold (Node's overflow past 24.8 days; the engine re-plans after each). */
  private cappedSleeper(): Sleeper {
    return { sleep: (ms, signal) => this.deps.sleeper.sleep(Math.min(ms, MAX_SLEEP_MS), signal) };
  }

  private sleep(ms: number): Promise<void> {
    return this.deps.sleeper.sleep(Math.min(Math.max(0, ms), MAX_SLEEP_MS), this.abort.signal);
  }

  private recordEvent(event: Parameters<NonNullable<RenewSite['recordEvent']>>[0]): void {
    this.deps.site.recordEvent?.(event).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'Could not record a Kubernetes Event'));
  }
}
