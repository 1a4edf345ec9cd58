/**
 * The primary's `/healthz` answer from its workers' (pure): healthy only when every worker is
 * running and answered its own probe healthy in time; otherwise the reasons, worker by worker.
 */
import type { HealthResult } from '../health.js';

/** What the primary knows about one worker when /healthz is asked. */
export type WorkerHealthView =
  | { state: 'starting' }
  | { state: 'restarting' }
  | { state: 'ready'; answer: HealthResult | undefined };

export function aggregateHealth(workers: readonly WorkerHealthView[], timeoutMs: number): HealthResult {
  const reasons: string[] = [];
  workers.forEach((view, index) => {
    const reason = reasonOf(view, timeoutMs);
    if (reason !== undefined) reasons.push(`worker ${index}: ${reason}`);
  });
  if (workers.length === 0) reasons.push('no workers');
  return reasons.length === 0 ? { healthy: true } : { healthy: false, reason: reasons.join('; ') };
}

function reasonOf(view: WorkerHealthView, timeoutMs: number): string | undefined {
  switch (view.state) {
    case 'starting':
      return 'starting';
    case 'restarting':
      return 'not running (a replacement is being started)';
    case 'ready':
      if (view.answer === undefined) return `did not answer the health check within ${timeoutMs} ms`;
      return view.answer.healthy ? undefined : (view.answer.reason ?? 'not ready');
  }
}
