/**
 * The primary's workers (node:cluster): forks N, waits until each says `ready`, replaces one that
 * dies after start-up (after a delay that doubles while replacements keep failing: no tight loop),
 * asks them for health and metrics over IPC, and stops them gracefully (SIGKILL after grace + margin).
 * During start-up any failure is fatal: the others are stopped and `start()` rejects with the
 * failing worker's error.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ERROR_CODES, WardenError, type ErrorCode } from '../../core/errors.js';
import type { WorkerHealthView } from './health.js';
import { isWorkerMessage, isWorkerReply, type MetricsJson, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { PendingReplies } from './replies.js';
import { WORKER_ENV } from './workers-option.js';

export interface WorkerPoolOptions {
  count: number;
  logger: Logger;
  /** Delay before a dead worker's first replacement (default 1 s). */
  restartDelayMs?: number;
  /** Cap of the doubling delay while replacements fail to start (default 30 s). */
  maxRestartDelayMs?: number;
  /** Added to the shutdown grace before a worker that has not exited is killed (default 2 s). */
  killMarginMs?: number;
  /** Start-up fails when not every worker is ready within this time (default 60 s). */
  startupTimeoutMs?: number;
}

export interface StartedPool {
  /** The gRPC port the workers share (the bound one when --port 0). */
  port: number;
  spiffeId: string;
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  state: 'starting' | 'ready' | 'restarting';
  /** Resolves once the current worker has exited and its channel closed. */
  gone: Promise<void>;
  /** Why the current worker refused to start, if it said so. */
  failure: WardenError | undefined;
  /** Replacements in a row that failed to start (the restart backoff). */
  failedStarts: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly replies = new PendingReplies();
  private phase: 'new' | 'starting' | 'running' | 'stopping' = 'new';
  private startup: { resolve: (started: StartedPool) => void; reject: (err: Error) => void } | undefined;
  private shared: StartedPool | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.slots = Array.from({ length: options.count }, (_, index) => ({
      index, worker: undefined, state: 'starting', gone: Promise.resolve(), failure: undefined, failedStarts: 0, restartTimer: undefined,
    }));
  }

  /** Forks every worker; resolves once all are ready, rejects (after stopping the rest) if one fails first. */
  start(stopGraceMs: number): Promise<StartedPool> {
    if (this.phase !== 'new') throw new Error('WorkerPool.start: already started');
    // Each worker accepts on the shared listening socket itself (SCHED_NONE): the kernel hands a
    // connection to whichever worker accepts first. Round-robin (SCHED_RR, node's default on Linux)
    // has the primary accept every socket and pass it on over IPC, which made the primary's single
    // thread the bottleneck again: a 2,000-sidecar restart storm took 3.65 s against 2.9-3.4 s (grpc-js server, 2 cores).
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    // Structured clone, not JSON: a fresh worker's event-loop-lag gauges are NaN, which JSON turns into null.
    cluster.setupPrimary({ serialization: 'advanced' });
    this.phase = 'starting';
    const timeoutMs = this.options.startupTimeoutMs ?? 60_000;
    return new Promise<StartedPool>((resolve, reject) => {
      // A worker that hangs while starting (never ready, never exits) must not hang the command.
      const timer = setTimeout(() => {
        const waiting = this.slots.filter((s) => s.state !== 'ready').map((s) => s.index);
        this.failStartup(new WardenError(
          'ERR_SENTRY_WORKER_FAILED',
          `Sentry worker${waiting.length === 1 ? '' : 's'} ${waiting.join(', ')} not ready within ${timeoutMs / 1000} s; ` +
            'their log lines above say where they stopped (or run with --workers 1)',
        ));
      }, timeoutMs);
      this.startup = {
        resolve: (started) => {
          clearTimeout(timer);
          resolve(started);
        },
        reject: (err) => {
          clearTimeout(timer);
          void this.stop(stopGraceMs).then(() => reject(err));
        },
      };
      for (const slot of this.slots) this.fork(slot);
    });
  }

  /** Pids of the running workers, by index (undefined while one is being replaced). */
  pids(): (number | undefined)[] {
    return this.slots.map((slot) => slot.worker?.process.pid);
  }

  /** Each worker's state, and for a ready one its own probe's answer (undefined: none within `timeoutMs`). */
  health(timeoutMs: number): Promise<WorkerHealthView[]> {
    return Promise.all(this.slots.map(async (slot): Promise<WorkerHealthView> => {
      const worker = slot.worker;
      if (slot.state !== 'ready' || worker === undefined) return { state: slot.state === 'starting' ? 'starting' : 'restarting' };
      const reply = await this.replies.ask((m) => this.send(worker, m), (id) => ({ type: 'warden-sentry:health?', id }), timeoutMs);
      if (reply?.type !== 'warden-sentry:health') return { state: 'ready', answer: undefined };
      return { state: 'ready', answer: reply.reason === undefined ? { healthy: reply.healthy } : { healthy: reply.healthy, reason: reply.reason } };
    }));
  }

  /** The registries of the ready workers; one that does not answer within `timeoutMs` is left out (and logged). */
  async metrics(timeoutMs: number): Promise<MetricsJson[]> {
    const answers = await Promise.all(this.slots.map(async (slot) => {
      const worker = slot.worker;
      if (slot.state !== 'ready' || worker === undefined) return undefined;
      const reply = await this.replies.ask((m) => this.send(worker, m), (id) => ({ type: 'warden-sentry:metrics?', id }), timeoutMs);
      if (reply?.type === 'warden-sentry:metrics') return reply.metrics;
      this.options.logger.warn({ worker: slot.index }, `Sentry worker ${slot.index} sent no metrics within ${timeoutMs} ms; left out of this scrape`);
      return undefined;
    }));
    return answers.filter((a): a is MetricsJson => a !== undefined);
  }

  /** Asks every worker to close gracefully and waits until all have exited; kills those still there after grace + margin. Idempotent. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.phase = 'stopping';
      const killAfterMs = graceMs + (this.options.killMarginMs ?? 2_000);
      await Promise.all(this.slots.map(async (slot) => {
        if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        const worker = slot.worker;
        if (worker === undefined) return;
        this.send(worker, { type: 'warden-sentry:shutdown' });
        const kill = setTimeout(() => {
          this.options.logger.error({ worker: slot.index, pid: worker.process.pid }, `Sentry worker ${slot.index} did not stop within ${killAfterMs} ms; killing it`);
          worker.process.kill('SIGKILL');
        }, killAfterMs);
        await slot.gone;
        clearTimeout(kill);
      }));
    })();
    return this.stopping;
  }

  private fork(slot: Slot): void {
    // libuv accepts every pending connection in one go, so under SCHED_NONE the first worker to wake
    // takes a whole burst while the others idle (measured in a 2,000-client storm: CPU split up to
    // 1.6 s / 2.2 s between 2 workers). UV_TCP_SINGLE_ACCEPT makes it yield after each accept, so the
    // kernel spreads a burst (2.25 s / 2.26 s).
    const worker = cluster.fork({ [WORKER_ENV]: String(slot.index), UV_TCP_SINGLE_ACCEPT: '1' });
    slot.worker = worker;
    slot.state = 'starting';
    slot.failure = undefined;
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.onMessage(slot, worker, message);
    });
    // An IPC write to a worker that is going away; the exit handling below covers the worker itself.
    worker.on('error', (err) => this.options.logger.debug({ worker: slot.index, err: err.message }, 'IPC error with a Sentry worker'));
    // Gone = exited AND channel closed: the close comes after every message the worker sent was read,
    // so a `failed` message is never lost to an early 'exit'.
    slot.gone = new Promise<void>((resolve) => {
      let exit: { code: number | null; signal: string | null } | undefined;
      let disconnected = false;
      const settle = (): void => {
        if (exit === undefined || !disconnected) return;
        resolve();
        this.onGone(slot, worker, exit.code, exit.signal);
      };
      worker.once('exit', (code: number | null, signal: string | null) => { exit = { code, signal }; settle(); });
      worker.once('disconnect', () => { disconnected = true; settle(); });
    });
  }

  private onMessage(slot: Slot, worker: Worker, message: WorkerMessage): void {
    if (isWorkerReply(message)) {
      this.replies.receive(message);
      return;
    }
    if (slot.worker !== worker) return;
    if (message.type === 'warden-sentry:failed') {
      slot.failure = workerError(slot.index, message.code, message.message);
      if (this.phase === 'starting') this.failStartup(slot.failure);
      return;
    }
    this.onReady(slot, worker, message.port, message.spiffeId);
  }

  private onReady(slot: Slot, worker: Worker, port: number, spiffeId: string): void {
    const { logger } = this.options;
    slot.state = 'ready';
    slot.failedStarts = 0;
    if (this.shared === undefined) this.shared = { port, spiffeId };
    else if (this.shared.port !== port) {
      logger.warn({ worker: slot.index, port, expected: this.shared.port }, `Sentry worker ${slot.index} listens on port ${port}, not ${this.shared.port}`);
    }
    // At start-up the worker's own line says so; a replacement's return is news for the operator.
    const level = this.phase === 'running' ? 'info' : 'debug';
    logger[level]({ worker: slot.index, pid: worker.process.pid, port }, `Sentry worker ${slot.index} ready`);
    if (this.phase === 'starting' && this.slots.every((s) => s.state === 'ready')) {
      this.phase = 'running';
      this.startup?.resolve(this.shared);
      this.startup = undefined;
    }
  }

  private onGone(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const how = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
    if (this.phase === 'stopping') return;
    if (this.phase === 'starting') {
      this.failStartup(slot.failure ?? new WardenError(
        'ERR_SENTRY_WORKER_FAILED',
        `Sentry worker ${slot.index} exited (${how}) before it was ready; its log above says why`,
      ));
      return;
    }
    const { logger } = this.options;
    const wasReady = slot.state === 'ready';
    if (!wasReady) slot.failedStarts++;
    const delay = Math.min((this.options.restartDelayMs ?? 1_000) * 2 ** slot.failedStarts, this.options.maxRestartDelayMs ?? 30_000);
    slot.state = 'restarting';
    const fields = { worker: slot.index, pid: worker.process.pid, exitCode: code, signal, code: slot.failure?.code };
    if (wasReady) logger.error(fields, `Sentry worker ${slot.index} exited unexpectedly (${how}); starting a replacement in ${delay} ms`);
    else logger.error(fields, `Sentry worker ${slot.index} failed to start (${slot.failure?.message ?? how}); retrying in ${delay} ms`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.phase === 'running') this.fork(slot);
    }, delay);
  }

  private failStartup(err: WardenError): void {
    const startup = this.startup;
    this.startup = undefined;
    startup?.reject(err);
  }

  /** False when the worker's channel is closed (it is going away); never throws. */
  private send(worker: Worker, message: PrimaryMessage): boolean {
    if (!worker.isConnected()) return false;
    worker.send(message, undefined, (err) => {
      if (err) this.options.logger.debug({ err: err.message, type: message.type }, 'Could not message a Sentry worker');
    });
    return true;
  }
}

/** The worker's start-up error as the primary rethrows it: its own code and message when it is a Warden code. */
function workerError(index: number, code: string | undefined, message: string): WardenError {
  if (code !== undefined && (ERROR_CODES as readonly string[]).includes(code)) return new WardenError(code as ErrorCode, message);
  return new WardenError('ERR_SENTRY_WORKER_FAILED', `Sentry worker ${index} failed to start: ${message}`);
}
