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
  /** The trust gate before switch-issuer: running pods that do not trust the new root yet (named). */
  notConverged: 'TrustNotConverged',
  /** Every running Dapr pod trusts the new root: switch-issuer may start. */
  trustConverged: 'TrustConverged',
  /** `--distribute-trust` wrote dapr-root-ca.crt. */
  distributed: 'TrustDistributed',
} as const;

export interface RotationObservation {
  log: { level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> };
  /** The phase gauge to set, if the event moves it. */
  phase?: RotationPhaseLabel;
  /** The Kubernetes Event to record, if any. */
  event?: BundleEvent;
  /** `warden_sentry_pods_not_converged`, when the event says how many pods are behind. */
  podsNotConverged?: number;
}

/** Pods named in a message or log line at most (the count is always given). */
const NAMED_PODS = 20;

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
    case 'trust-not-converged': {
      const names = event.pods.map((p) => `${p.namespace}/${p.name}`);
      const shown = names.slice(0, NAMED_PODS).join(', ') + (names.length > NAMED_PODS ? ` and ${names.length - NAMED_PODS} more` : '');
      const doing = event.restarting.length > 0
        ? `restarting ${event.restarting.join(', ')}`
        : `waiting for them (--auto-renew-restarts ${event.policy})`;
      const what = `${event.pods.length} of ${event.checked} running Dapr pod(s) do not trust the new root yet; the issuer is not switched until they do; ${doing}: ${shown}`;
      return {
        log: { level: 'warn', msg: `Automatic rotation ${id}: ${event.phase}: ${what}`, fields: { ...fields, phase: event.phase, pods: names, policy: event.policy, restarting: event.restarting } },
        event: { type: 'Warning', reason: EVENT_REASON.notConverged, message: `Rotation ${id}: ${what}` },
        podsNotConverged: event.pods.length,
      };
    }
    case 'trust-converged':
      return {
        log: { level: 'info', msg: `Automatic rotation ${id}: ${event.phase}: all ${event.checked} running Dapr pod(s) trust the new root`, fields: { ...fields, phase: event.phase, checked: event.checked } },
        event: { type: 'Normal', reason: EVENT_REASON.trustConverged, message: `Rotation ${id}: all ${event.checked} running Dapr pod(s) trust the new root` },
        podsNotConverged: 0,
      };
    case 'trust-distributed': {
      const written = [...event.created.map((n) => `${n} (created)`), ...event.updated.map((n) => `${n} (updated)`)].join(', ');
      return {
        log: { level: 'info', msg: `Automatic rotation ${id}: ${event.phase}: dapr-root-ca.crt written in ${written} (${event.namespaces} namespace(s) with Dapr apps)`, fields: { ...fields, phase: event.phase, created: event.created, updated: event.updated } },
        event: { type: 'Normal', reason: EVENT_REASON.distributed, message: `Rotation ${id}: dapr-root-ca.crt written in ${written}` },
      };
    }
    case 'finished':
      return {
        log: { level: 'info', msg: `Automatic rotation ${id} completed: the new root alone is trusted`, fields },
        phase: 'idle',
        podsNotConverged: 0,
        event: { type: 'Normal', reason: EVENT_REASON.finished, message: `Rotation ${id} completed` },
      };
    default:
      return observeOtherEvent(id, event as { kind: string });
  }
}

/** An event kind the engine grows later: logged as a warning with a Warning Event, so none is silent. */
function observeOtherEvent(id: string, event: { kind: string; phase?: string; message?: string }): RotationObservation {
  const what = event.message ?? event.kind;
  return {
    log: { level: 'warn', msg: `Automatic rotation ${id}: ${event.phase ?? ''} ${what}`.replace('  ', ' '), fields: { rotation: id, kind: event.kind } },
    event: { type: 'Warning', reason: EVENT_REASON.phase, message: `Rotation ${id}: ${what}` },
  };
}

/** Applies an observation: the log line, the gauge, and the Event through `record` (errors logged, never thrown). */
export function applyObservation(obs: RotationObservation | undefined, logger: Logger, metrics: SentryMetrics, record?: (e: BundleEvent) => Promise<void>): void {
  if (obs === undefined) return;
  logger[obs.log.level]({ scope: 'dapr.sentry.autorenew', ...obs.log.fields }, obs.log.msg);
  if (obs.phase !== undefined) metrics.setRotationPhase(obs.phase);
  if (obs.podsNotConverged !== undefined) metrics.podsNotConverged.set(obs.podsNotConverged);
  if (obs.event !== undefined && record !== undefined) {
    record(obs.event).catch((err: unknown) => logger.warn({ err: (err as Error).message, reason: obs.event?.reason }, 'Could not record a Kubernetes Event for the rotation'));
  }
}
