/**
 * WorkerPool start-up limits with a worker that hangs: start() must fail with
 * ERR_SENTRY_WORKER_FAILED after the start-up timeout and leave no process behind (the hanging
 * worker ignores the shutdown message and is killed after the grace + margin).
 */
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { WardenError } from '../../src/core/errors.js';
import { WorkerPool } from '../../src/sentry/cluster/pool.js';

const HANGING_WORKER = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'hanging-worker.mjs');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('WorkerPool start-up timeout', () => {
  it('a worker that never gets ready fails start() with ERR_SENTRY_WORKER_FAILED and is killed', async () => {
    cluster.setupPrimary({ exec: HANGING_WORKER, args: [], silent: true });
    const pool = new WorkerPool({ count: 2, logger: pino({ level: 'silent' }), startupTimeoutMs: 500, killMarginMs: 200 });
    const started = performance.now();
    const pending = pool.start(100);
    await new Promise((r) => setTimeout(r, 200));
    const pids = pool.pids().filter((p): p is number => p !== undefined);
    assert.equal(pids.length, 2);
    await assert.rejects(pending, (err: WardenError) => {
      assert.equal(err.code, 'ERR_SENTRY_WORKER_FAILED');
      assert.match(err.message, /workers 0, 1 not ready within 0\.5 s/);
      return true;
    });
    assert.ok(performance.now() - started < 30_000, 'failed at the start-up timeout, not a hang');
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} still running`);
  });
});
