/**
 * Reads every target at once, each under its own deadline: a target that has not answered within
 * `timeoutMs` becomes an `unreachable` row with ERR_FLEET_TIMEOUT and its requests are aborted, so
 * one hanging cluster costs the fleet its timeout, never more, and never holds up the others. A
 * target that fails (unreachable, forbidden, no Dapr) is a row with its error, never a throw.
 *
 * The deadline is a transport timeout on real time (as the Kubernetes client's own request
 * timeout); the monitor's schedule runs on injected timers (monitor.ts).
 */
import type { Clock } from '../core/clock.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { kubeError } from '../kube/client.js';
import { fleetReport, type FleetReport, type FleetTarget } from './model.js';
import type { TargetReader } from './target-reader.js';

export interface ReadOptions {
  /** Per-target deadline. */
  timeoutMs: number;
  clock: Clock;
}

export async function readFleet(readers: readonly TargetReader[], opts: ReadOptions): Promise<FleetReport> {
  const now = opts.clock.now();
  const targets = await Promise.all(readers.map((r) => readTarget(r, now, opts.timeoutMs)));
  for (const t of targets) if (t.error === null) t.lastSuccessfulRead = now.toISOString();
  return fleetReport(targets, now);
}

/** One target's row: read within `timeoutMs`, else its error. Never rejects. */
export async function readTarget(reader: TargetReader, now: Date, timeoutMs: number): Promise<FleetTarget> {
  const controller = new AbortController();
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => {
      const error = new WardenError('ERR_FLEET_TIMEOUT', `${reader.name} did not answer within ${formatMs(timeoutMs)}; its requests were aborted. Check it, or raise --timeout`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
  // Through a then(), so a reader that throws before its first await is a failed read too.
  const reading = Promise.resolve().then(() => reader.read(controller.signal, now));
  // Once the deadline has won, the aborted read's own failure is of no interest.
  reading.catch(() => undefined);
  try {
    return await Promise.race([reading, timeout]);
  } catch (error) {
    return errorRow(reader, error);
  } finally {
    controller.abort();
  }
}

/** The row of a target that could not be read. */
export function errorRow(reader: Pick<TargetReader, 'name' | 'kind' | 'fallbackErrorCode'>, error: unknown): FleetTarget {
  const e = isWardenError(error) ? error : reader.kind === 'kubernetes' ? kubeError(error, `read ${reader.name}`) : undefined;
  const code = e?.code ?? reader.fallbackErrorCode;
  const message = e?.message ?? (error instanceof Error ? error.message : String(error));
  return {
    name: reader.name, kind: reader.kind, status: 'unreachable', error: { code, message },
    daprNamespace: null, daprVersion: null, certificates: [], rotation: null, configMapInSync: null, sentryReady: null,
    appsNotConverged: null, finding: null, lastSuccessfulRead: null,
  };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
