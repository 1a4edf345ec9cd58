/**
 * What an automatic rotation shows: each engine event (rotation-engine/events.ts) becomes a log
 * line, the phase gauge and, in Kubernetes, an Event on the trust-bundle Secret. One table, so the
 * three never disagree.
 */
import type { Logger } from 'pino';
import type { RotationEvent } from '../../rotation-engine/events.js';
import type { RotationPhaseLabel, SentryMetrics } from '../metrics.js';
import type { BundleEvent } from './site.js';

/** Event reasons on the trust-bundle Secret (stable: alerts match on them). */
export const EVENT_REASON = {
  started: 'AutoRenewStarted',
  phase: 'RotationPhase',
  converged: 'RotationPhaseConverged',
  waiting: 'RotationWaiting',
  finished: 'AutoRenewCompleted',
  failed: 'AutoRenewFailed',
  notRenewable: 'AutoRenewNotPossible',
  blocked: 'AutoRenewBlocked',
  /** h-converge's "pods not converged" event (the engine's `not-converged` event, when present). */
  notConverged: 'TrustNotConverged',
} as const;

export interface RotationObservation {
  log: { level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> };
  /** The phase gauge to set, if the event moves it. */
  phase?: RotationPhaseLabel;
  /** The Kubernetes Event to record, if any. */
  event?: BundleEvent;
}

/** The log line, gauge and Event for one engine event of rotation `id`. Pure. */
export function observeRotationEvent(id: string, event: RotationEvent): RotationObservation | undefined {
  const fields = { rotation: id, kind: event.kind };
  switch (event.kind) {
    case 'phase-start':
      return {
        log: { level: 'info', msg: `Automatic rotation ${id}: ${event.phase} (${event.summary})`, fields: { ...fields, phase: event.phase } },
        phase: event.phase,
        event: { type: 'Normal', reason: EVENT_REASON.phase, message: `Rotation ${id}: ${event.phase} started (${event.summary})` },
      };
    case 'skipped':
      return {
        log: { level: 'warn', msg: `Automatic rotation ${id}: ${event.phase} skipped: ${event.reason}`, fields: { ...fields, phase: event.phase } },
        event: { type: 'Warning', reason: EVENT_REASON.phase, message: `Rotation ${id}: ${event.phase} skipped: ${event.reason}` },
      };
    case 'written':
      return { log: { level: 'info', msg: `Automatic rotation ${id}: ${event.phase} written${event.alreadyThere ? ' (found already written)' : ''}`, fields: { ...fields, phase: event.phase, version: event.version, ...(event.backup ? { backup: event.backup } : {}) } }, phase: event.phase };
    case 'resumed':
      return { log: { level: 'info', msg: `Automatic rotation ${id}: resumed at ${event.phase} (the write was ${event.found === 'written' ? 'done' : 'not done'})`, fields: { ...fields, phase: event.phase } }, phase: event.phase };
    case 'propagating':
    case 'converging':
      return { log: { level: 'info', msg: `Automatic rotation ${id}: ${event.phase}: waiting for ${event.what}`, fields: { ...fields, phase: event.phase } }, phase: event.phase };
    case 'converged':
      return {
        log: { level: event.confirmed ? 'info' : 'warn', msg: `Automatic rotation ${id}: ${event.phase} complete: ${event.note}`, fields: { ...fields, phase: event.phase, confirmed: event.confirmed } },
        event: { type: event.confirmed ? 'Normal' : 'Warning', reason: EVENT_REASON.converged, message: `Rotation ${id}: ${event.phase} complete: ${event.note}` },
      };
    case 'advice':
      return { log: { level: 'info', msg: `Automatic rotation ${id}: ${event.phase}: ${event.message}`, fields: { ...fields, phase: event.phase } } };
    case 'waiting':
      return {
        log: { level: 'info', msg: `Automatic rotation ${id}: the old root is retired at ${event.until.toISOString()} (${event.why})`, fields: { ...fields, phase: event.phase, until: event.until.toISOString() } },
        phase: 'switch-issuer',
        event: { type: 'Normal', reason: EVENT_REASON.waiting, message: `Rotation ${id}: the old root is retired at ${event.until.toISOString()}` },
      };
    case 'stopped-after':
      return undefined;
    case 'finished':
      return {
        log: { level: 'info', msg: `Automatic rotation ${id} completed: the new root alone is trusted`, fields },
        phase: 'idle',
        event: { type: 'Normal', reason: EVENT_REASON.finished, message: `Rotation ${id} completed` },
      };
    default:
      return observeOtherEvent(id, event as { kind: string });
  }
}

/**
 * HOOK for the per-pod trust-convergence gate (src/kube/trust-convergence.ts): the engine event it
 * reports for pods that do not trust the new root yet, `{ kind: NOT_CONVERGED_KIND, phase, pods }`,
 * becomes a warning log line naming the pods and a `TrustNotConverged` Warning Event. Any other
 * event kind the engine grows is logged as a warning with a Warning Event, so none is silent.
 */
export const NOT_CONVERGED_KIND = 'not-converged';

function observeOtherEvent(id: string, event: { kind: string; phase?: string; pods?: unknown; message?: string }): RotationObservation {
  const pods = Array.isArray(event.pods) ? event.pods.map(String) : [];
  const what = pods.length > 0 ? `pods not converged: ${pods.join(', ')}` : (event.message ?? event.kind);
  const notConverged = event.kind === NOT_CONVERGED_KIND || pods.length > 0;
  return {
    log: { level: 'warn', msg: `Automatic rotation ${id}: ${event.phase ?? ''} ${what}`.replace('  ', ' '), fields: { rotation: id, kind: event.kind, ...(pods.length > 0 ? { pods } : {}) } },
    event: { type: 'Warning', reason: notConverged ? EVENT_REASON.notConverged : EVENT_REASON.phase, message: `Rotation ${id}: ${what}` },
  };
}

/** Applies an observation: the log line, the gauge, and the Event through `record` (errors logged, never thrown). */
export function applyObservation(obs: RotationObservation | undefined, logger: Logger, metrics: SentryMetrics, record?: (e: BundleEvent) => Promise<void>): void {
  if (obs === undefined) return;
  logger[obs.log.level]({ scope: 'dapr.sentry.autorenew', ...obs.log.fields }, obs.log.msg);
  if (obs.phase !== undefined) metrics.setRotationPhase(obs.phase);
  if (obs.event !== undefined && record !== undefined) {
    record(obs.event).catch((err: unknown) => logger.warn({ err: (err as Error).message, reason: obs.event?.reason }, 'Could not record a Kubernetes Event for the rotation'));
  }
}
