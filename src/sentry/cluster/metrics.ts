/**
 * The primary's metrics exposition: its workers' registries (as `getMetricsAsJSON()`) combined by
 * prom-client's `AggregatorRegistry.aggregate`, each metric by its `aggregator` (../metrics.ts:
 * per-call counts summed, per-bundle facts min/max), plus the primary's own share.
 *
 * The primary's share: its process metrics (so process_* add up to the whole Sentry and
 * process_start_time_seconds, aggregated by min, is the primary's start) and the issuer-change
 * count of a bundle it generated at start-up (aggregated by max, as a single process counts it).
 * Its other Sentry series are not served by it (zero expiry gauges would win a min).
 */
import { AggregatorRegistry } from 'prom-client';
import type { MetricsJson } from './messages.js';

/** Primary Sentry series that belong in the aggregate; every non-Sentry (process) series does too. */
const PRIMARY_SENTRY_SERIES = new Set(['dapr_sentry_issuercert_changed_total']);

export function primaryShare(metrics: MetricsJson): MetricsJson {
  return metrics.filter((metric) => {
    const name = (metric as { name?: unknown }).name;
    if (typeof name !== 'string') return false;
    const sentrySeries = name.startsWith('dapr_sentry_') || name.startsWith('warden_sentry_');
    return !sentrySeries || PRIMARY_SENTRY_SERIES.has(name);
  });
}

/** The exposition text of `primary` (already filtered by `primaryShare`) and the workers' registries. */
export async function renderAggregate(primary: MetricsJson, workers: readonly MetricsJson[]): Promise<{ contentType: string; body: string }> {
  const registry = AggregatorRegistry.aggregate([primary, ...workers]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
