/**
 * The pure parts of `warden sentry --workers` (src/sentry/cluster/): parsing the flag, the role
 * marker, health aggregation, metrics aggregation, IPC message guards and reply matching, and the
 * worker's start-up bundle (never generated, notes at debug). The processes: workers.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { isWardenError } from '../../src/core/errors.js';
import { openStandaloneBackend } from '../../src/sentry/backend.js';
import { aggregateHealth } from '../../src/sentry/cluster/health.js';
import { isPrimaryMessage, isWorkerMessage, type WorkerReply } from '../../src/sentry/cluster/messages.js';
import { primaryShare, renderAggregate } from '../../src/sentry/cluster/metrics.js';
import { PendingReplies } from '../../src/sentry/cluster/replies.js';
import { loadExistingBundle } from '../../src/sentry/cluster/worker-bundle.js';
import { checkWorkerOptions, MAX_WORKERS, parseWorkerCount, WORKER_ENV, workerIndexOf } from '../../src/sentry/cluster/workers-option.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import { withSentryDefaults } from '../../src/sentry/options.js';
import { buildBundle, withExpiresIn } from '../support/bundles.js';
import { captureLogger, LEVEL, tempDir, writeBundleFiles, type LogRecord } from '../support/sentry-harness.js';

const DAY = 24 * 3600 * 1000;

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isWardenError(err, 'ERR_USAGE') && pattern.test(err.message));
}

function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('--workers', () => {
  it('auto is the core count (capped); a whole number 1…MAX_WORKERS is taken as is', () => {
    assert.equal(parseWorkerCount('auto', 3), 3);
    assert.equal(parseWorkerCount(' AUTO ', 1), 1);
    assert.equal(parseWorkerCount('auto', 1000), MAX_WORKERS);
    assert.equal(parseWorkerCount('1', 8), 1);
    assert.equal(parseWorkerCount('2', 1), 2);
    assert.equal(parseWorkerCount(String(MAX_WORKERS), 1), MAX_WORKERS);
  });

  it('anything else is ERR_USAGE naming the flag', () => {
    for (const bad of ['0', '-1', 'x', '1.5', '', '2x', String(MAX_WORKERS + 1)]) {
      usageError(() => parseWorkerCount(bad, 2), /^--workers must be "auto" or a whole number from 1 to \d+/);
    }
  });

  it('several workers only in standalone mode; a bad count is refused for API callers too', () => {
    checkWorkerOptions({ workers: 1, mode: 'kubernetes' });
    checkWorkerOptions({ workers: 4, mode: 'standalone' });
    usageError(() => checkWorkerOptions({ workers: 2, mode: 'kubernetes' }), /self-hosted mode only/);
    usageError(() => checkWorkerOptions({ workers: 0, mode: 'standalone' }), /whole number/);
    usageError(() => checkWorkerOptions({ workers: 1.5, mode: 'standalone' }), /whole number/);
  });

  it('a process is worker <n> only when node:cluster forked it and the primary marked it', () => {
    assert.equal(workerIndexOf({ [WORKER_ENV]: '1' }, true), 1);
    assert.equal(workerIndexOf({ [WORKER_ENV]: '0' }, true), 0);
    assert.equal(workerIndexOf({ [WORKER_ENV]: '1' }, false), undefined);
    assert.equal(workerIndexOf({}, true), undefined);
    assert.equal(workerIndexOf({ [WORKER_ENV]: 'one' }, true), undefined);
  });
});

describe('health aggregation', () => {
  const up = { state: 'ready', answer: { healthy: true } } as const;

  it('healthy only when every worker is ready and healthy', () => {
    assert.deepEqual(aggregateHealth([up, up], 1000), { healthy: true });
    assert.deepEqual(aggregateHealth([], 1000), { healthy: false, reason: 'no workers' });
  });

  it('names each worker that is not, and why', () => {
    assert.deepEqual(aggregateHealth([up, { state: 'starting' }], 1000), { healthy: false, reason: 'worker 1: starting' });
    assert.deepEqual(aggregateHealth([{ state: 'restarting' }, up], 1000),
      { healthy: false, reason: 'worker 0: not running (a replacement is being started)' });
    assert.deepEqual(aggregateHealth([up, { state: 'ready', answer: undefined }], 750),
      { healthy: false, reason: 'worker 1: did not answer the health check within 750 ms' });
    assert.deepEqual(
      aggregateHealth([{ state: 'ready', answer: { healthy: false, reason: 'issuer certificate has expired' } }, { state: 'ready', answer: { healthy: false } }], 1000),
      { healthy: false, reason: 'worker 0: issuer certificate has expired; worker 1: not ready' },
    );
  });
});

describe('metrics aggregation', () => {
  it('sums per-call series, keeps per-bundle facts single (min/max), adds the primary\'s process share', async () => {
    const built = await buildBundle({ now: new Date() });
    const later = await buildBundle({ now: new Date() }, withExpiresIn(400 * DAY));
    const [w0, w1, primary] = [new SentryMetrics(), new SentryMetrics(), new SentryMetrics()];
    w0.recordCa(built.bundle.issuer, built.bundle.root);
    w1.recordCa(later.bundle.issuer, later.bundle.root); // a worker that has not reloaded yet shows the earlier expiry
    w0.signSuccess.inc(3);
    w1.signSuccess.inc(4);
    w0.signDuration.observe(0.002);
    w1.signDuration.observe(0.004);
    w0.issuerCertChanged.inc(2);
    w1.issuerCertChanged.inc(3);
    w0.reloadFailures.inc(1);
    w1.reloadFailures.inc(1);
    primary.issuerCertChanged.inc(); // a bundle the primary generated at start-up
    primary.signSuccess.inc(100); // never served by the primary: must not count

    const own = primaryShare(await primary.registry.getMetricsAsJSON());
    const names = own.map((m) => (m as { name: string }).name);
    assert.ok(names.includes('dapr_sentry_issuercert_changed_total'));
    assert.ok(names.includes('process_start_time_seconds'));
    assert.ok(!names.some((n) => n !== 'dapr_sentry_issuercert_changed_total' && /^(dapr|warden)_sentry_/.test(n)), names.join());

    // The JSON crosses the IPC channel by structured clone (NaN survives, unlike with JSON).
    const workers = [structuredClone(await w0.registry.getMetricsAsJSON()), structuredClone(await w1.registry.getMetricsAsJSON())];
    const { body, contentType } = await renderAggregate(own, workers);
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(body, 'dapr_sentry_cert_sign_success_total'), 7);
    assert.equal(sample(body, 'warden_sentry_sign_duration_seconds_count'), 2);
    assert.equal(sample(body, 'warden_sentry_sign_duration_seconds_sum'), 0.006);
    assert.equal(sample(body, 'dapr_sentry_issuercert_changed_total'), 3);
    assert.equal(sample(body, 'warden_sentry_reload_failures_total'), 1);
    const earliest = Math.min(built.bundle.issuer.notAfter.getTime(), later.bundle.issuer.notAfter.getTime()) / 1000;
    assert.equal(sample(body, 'dapr_sentry_issuercert_expiry_timestamp'), earliest);
    assert.equal(sample(body, 'warden_sentry_issuer_expiry_timestamp_seconds'), earliest);
    assert.equal(sample(body, 'warden_sentry_root_expiry_timestamp_seconds'), built.bundle.root.notAfter.getTime() / 1000);
    // prom-client would omit the start time and sum the fd limit; ours keeps both meaningful.
    const single = (await primary.registry.getSingleMetricAsString('process_max_fds')).match(/^process_max_fds (\d+)$/m)?.[1];
    assert.equal(sample(body, 'process_max_fds'), Number(single));
    assert.ok(sample(body, 'process_start_time_seconds') !== undefined);
    assert.doesNotMatch(body, / null$/m);
    const types = [...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    assert.equal(new Set(types).size, types.length, 'each family once');
  });
});

describe('IPC messages', () => {
  it('only warden-sentry messages of the right direction pass the guards', () => {
    assert.ok(isWorkerMessage({ type: 'warden-sentry:ready', port: 1, spiffeId: 'x' }));
    assert.ok(isPrimaryMessage({ type: 'warden-sentry:shutdown' }));
    assert.ok(!isWorkerMessage({ type: 'warden-sentry:shutdown' }));
    assert.ok(!isPrimaryMessage({ type: 'warden-sentry:ready' }));
    for (const other of [null, 'warden-sentry:ready', { type: 'prom-client:getMetricsReq' }, { cmd: 'NODE_CLUSTER' }, { type: 7 }]) {
      assert.ok(!isWorkerMessage(other) && !isPrimaryMessage(other), JSON.stringify(other));
    }
  });

  it('replies are matched by id; no reply in time, or a closed channel, gives undefined; late replies are dropped', async () => {
    const replies = new PendingReplies();
    const sent: number[] = [];
    const send = (m: { type: string; id?: number }): boolean => (sent.push(m.id ?? -1), true);
    const first = replies.ask(send, (id) => ({ type: 'warden-sentry:health?', id }), 1_000);
    const second = replies.ask(send, (id) => ({ type: 'warden-sentry:health?', id }), 1_000);
    assert.equal(sent.length, 2);
    const reply = (id: number, healthy: boolean): WorkerReply => ({ type: 'warden-sentry:health', id, healthy });
    replies.receive(reply(sent[1]!, false));
    replies.receive(reply(sent[0]!, true));
    assert.deepEqual(await first, reply(sent[0]!, true));
    assert.deepEqual(await second, reply(sent[1]!, false));

    const t0 = Date.now();
    const silent = replies.ask(send, (id) => ({ type: 'warden-sentry:metrics?', id }), 50);
    assert.equal(await silent, undefined);
    assert.ok(Date.now() - t0 >= 45);
    replies.receive(reply(sent[2]!, true)); // too late: ignored, no throw
    assert.equal(await replies.ask(() => false, (id) => ({ type: 'warden-sentry:health?', id }), 10_000), undefined);
  });
});

describe('a worker\'s start-up bundle', () => {
  async function load(dir: string, logs: LogRecord[]): Promise<unknown> {
    const options = withSentryDefaults({ issuerCredentials: dir });
    const backend = await openStandaloneBackend(options, systemClock, captureLogger(logs));
    return loadExistingBundle(backend, {
      clock: systemClock, logger: captureLogger(logs), metrics: new SentryMetrics(),
      policy: { warnWithinMs: 30 * DAY, workloadTtlMs: DAY, clockSkewMs: 15 * 60_000 },
      trustDomain: 'localhost', namespace: 'default', keyAlgorithm: 'ed25519', clockSkewMs: 15 * 60_000,
    });
  }

  it('is never generated: none on disk is ERR_BUNDLE_NOT_FOUND and nothing is written', async () => {
    const dir = tempDir();
    try {
      await assert.rejects(load(dir, []), (err: unknown) => isWardenError(err, 'ERR_BUNDLE_NOT_FOUND'));
      assert.ok(!existsSync(join(dir, 'ca.crt')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a partial bundle is refused; check notes are logged at debug only (the primary logged them)', async () => {
    const dir = tempDir();
    try {
      const built = await buildBundle({ now: new Date() }, withExpiresIn(5 * DAY));
      writeFileSync(join(dir, 'ca.crt'), built.texts.ca);
      await assert.rejects(load(dir, []), (err: unknown) => isWardenError(err, 'ERR_BUNDLE_PARTIAL') && /issuer\.crt/.test(err.message));
      writeBundleFiles(dir, built.texts);
      const logs: LogRecord[] = [];
      const bundle = (await load(dir, logs)) as { generated: boolean; notes: { code: string }[] };
      assert.equal(bundle.generated, false);
      assert.ok(bundle.notes.some((n) => n.code === 'WARN_ISSUER_EXPIRING'));
      assert.ok(logs.some((l) => l.code === 'WARN_ISSUER_EXPIRING' && l.level === LEVEL.debug));
      assert.ok(logs.every((l) => l.level <= LEVEL.debug), JSON.stringify(logs));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
