/**
 * The self-hosted rotation backend: the bundle is a directory (FsTrustBundleStore), the journal a
 * file beside it. Nothing is restarted: a warden (or Dapr) sentry reloads the directory by itself
 * within ~2–4 s (spec 4.1), workloads that watch `ca.crt` reload their anchors, and daprd
 * processes, which read DAPR_TRUST_ANCHORS only at start (spec 3.1, 4.3), are the operator's to
 * restart: the backend says which and when. Propagation is a fixed delay (`--propagation-delay`,
 * default 10 s); convergence is confirmed by probing the running sentry when its address is given.
 */
import type { TrustBundle } from '../../core/bundle.js';
import type { Clock } from '../../core/clock.js';
import { formatGoDuration } from '../../core/duration.js';
import { WardenError } from '../../core/errors.js';
import type { WritePhase } from '../../core/rotation-phases/phases.js';
import type { RotationSettings } from '../../core/rotation-phases/record.js';
import type { PhaseEstimate } from '../../core/rotation-phases/schedule.js';
import type { TrustBundleStore } from '../../stores/store.js';
import { commandOf, type ConvergenceResult, type PhaseContext, type RotationBackend, type Sleeper } from '../backend.js';
import type { JournalStore } from '../journal.js';
import { anchorsPemOf, compareWithBundle, type ProbeResult, type SentryProbeTarget } from '../sentry-compare.js';

/** Default `--propagation-delay` self-hosted: time for watchers of ca.crt to reload. */
export const SELF_HOSTED_PROPAGATION_DELAY_MS = 10_000;
/** A sentry batches file events for 2 s, then reloads (spec 4.1). */
const SENTRY_RELOAD_MS = 2_500;

export interface SelfHostedBackendOptions {
  store: TrustBundleStore;
  journal: JournalStore;
  clock: Clock;
  sleeper: Sleeper;
  /** Path of ca.crt, for the restart advice. */
  caPath: string;
  /** The running sentry to confirm convergence with; none → convergence is not confirmed. */
  sentry?: SentryProbeTarget;
  /** How often to probe while waiting for convergence (default 500 ms). */
  pollIntervalMs?: number;
  /** The probe (default: a real SignCertificate call, loaded lazily with gRPC). */
  probe?: (target: SentryProbeTarget, anchorsPem: string) => Promise<ProbeResult>;
  /** Printed commands with the operator's --issuer-credentials (default: bare `warden mtls <sub>`). */
  commandLine?: (sub: string, args?: readonly string[]) => string;
}

export class SelfHostedBackend implements RotationBackend {
  readonly mode = 'self-hosted';
  readonly store: TrustBundleStore;
  readonly journal: JournalStore;

  constructor(private readonly opts: SelfHostedBackendOptions) {
    this.store = opts.store;
    this.journal = opts.journal;
  }

  commandLine(sub: string, args: readonly string[] = []): string {
    return this.opts.commandLine?.(sub, args) ?? ['warden', 'mtls', sub, ...args].join(' ');
  }

  async waitForPropagation(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    const until = ctx.writtenAt.getTime() + ctx.record.settings.propagationDelayMs;
    const remaining = until - this.opts.clock.now().getTime();
    if (remaining <= 0) return;
    ctx.report({ kind: 'propagating', phase, untilMs: remaining, what: `file watchers of ${this.opts.caPath} and the sentry reload` });
    await this.opts.sleeper.sleep(remaining, ctx.signal);
  }

  async restartControlPlane(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    if (phase === 'add-anchor') {
      ctx.report({ kind: 'advice', phase, message: 'Self-hosted: a running sentry reloads the bundle by itself; nothing to restart in the control plane.' });
    }
  }

  async restartApps(phase: WritePhase, ctx: PhaseContext): Promise<void> {
    ctx.report({ kind: 'advice', phase, message: appAdvice(phase, this.opts.caPath, ctx.record.phases['add-anchor'].skipped !== undefined) });
  }

  async confirmConverged(phase: WritePhase, expected: TrustBundle, ctx: PhaseContext): Promise<ConvergenceResult> {
    const target = this.opts.sentry;
    if (target === undefined) {
      return { confirmed: false, note: 'not confirmed: no --sentry-address was given, so the sentry\'s reload was not checked' };
    }
    const probe = this.opts.probe ?? (await import('../sentry-probe.js')).probeSentry;
    const anchorsPem = anchorsPemOf(expected);
    const started = this.opts.clock.now().getTime();
    const deadline = started + ctx.record.settings.timeoutMs;
    ctx.report({ kind: 'converging', phase, what: `the sentry at ${target.address} signs with the expected issuer and hands out the expected trust anchors` });
    let last = 'no answer yet';
    for (;;) {
      const result = await probe(target, anchorsPem);
      const now = this.opts.clock.now();
      if (result.ok) {
        const reasons = compareWithBundle(result.observation, expected, now);
        if (reasons.length === 0) {
          const took = formatGoDuration(Math.max(0, now.getTime() - started));
          return {
            confirmed: true,
            note: `confirmed after ${took}: the sentry at ${target.address} signs with the expected issuer and hands out the expected ${expected.anchors.length} trust anchor(s)`,
          };
        }
        last = reasons.join('; ');
      } else {
        last = result.message;
      }
      if (now.getTime() >= deadline) {
        throw new WardenError(
          'ERR_ROTATION_NOT_CONVERGED',
          `${phase} was written, but the sentry at ${target.address} did not take it up within ${formatGoDuration(ctx.record.settings.timeoutMs)}: ${last}. ` +
            `Check the sentry's log (it refuses a bundle that fails its checks, and must watch this directory), then continue with \`${commandOf(this, 'rotate', ['--resume'])}\`.`,
        );
      }
      await this.opts.sleeper.sleep(this.opts.pollIntervalMs ?? 500, ctx.signal);
      if (ctx.signal.aborted) return { confirmed: false, note: 'interrupted' };
    }
  }

  estimate(_phase: WritePhase, settings: RotationSettings): PhaseEstimate {
    const probe = this.opts.sentry !== undefined;
    return {
      propagationMs: settings.propagationDelayMs,
      restartMs: 0,
      convergenceMs: probe ? Math.max(500, SENTRY_RELOAD_MS - settings.propagationDelayMs) : 0,
    };
  }
}

/**
 * What the operator must restart after each phase in self-hosted mode. When add-anchor was skipped
 * (the old root had expired), daprd has never seen the new root: switch-issuer is when it must
 * restart, or it keeps trusting only the dead root.
 */
export function appAdvice(phase: WritePhase, caPath: string, addAnchorSkipped = false): string {
  const env = `export DAPR_TRUST_ANCHORS="$(cat ${caPath})"`;
  switch (phase) {
    case 'add-anchor':
      return 'Workloads that watch ca.crt trust the new root now. daprd reads DAPR_TRUST_ANCHORS only at start: restart ' +
        `every daprd with \`${env}\` before the issuer is switched (stop here with \`--until add-anchor\` if that takes a while).`;
    case 'switch-issuer':
      if (addAnchorSkipped) {
        return 'add-anchor was skipped, so every daprd still trusts only the old (expired) root: restart every daprd now with ' +
          `\`${env}\`; until then its mTLS fails.`;
      }
      return 'No restarts needed: workloads get certificates from the new issuer at their next renewal (at half the workload TTL).';
    case 'retire-old-root':
      return `daprd processes restarted after add-anchor keep working; restart them again at your convenience with \`${env}\` ` +
        'to drop the old root from their anchors.';
  }
}
