/**
 * A `warden sentry --workers N` worker: today's Sentry with the gRPC listener only (the primary
 * owns healthz and metrics), started from the bundle the primary decided on (worker-bundle.ts), the
 * expiry log only in worker 0. Each worker keeps its own CA state, reloader and serving SVID.
 *
 * It tells the primary `ready` (with its bound port) or `failed` (with its error), answers
 * `health?` with today's probe and `metrics?` with its registry, and on `shutdown` closes
 * gracefully (calls in flight finish) and leaves the cluster, so the process exits. Its log lines
 * carry `worker: <index>`. If the primary goes away, node:cluster exits the worker at once.
 */
import cluster from 'node:cluster';
import { isWardenError } from '../../core/errors.js';
import { createSentryLogger } from '../logger.js';
import { withSentryDefaults, type SentryOptions } from '../options.js';
import { createSentryContext, serveSentry, type ServingSentry } from '../server.js';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { loadExistingBundle } from './worker-bundle.js';

export interface RunningWorker {
  /** The shared gRPC port. */
  readonly port: number;
  /** Graceful shutdown, then leaves the cluster; idempotent. */
  close(): Promise<void>;
  /** Resolves once closed, whether the primary asked or `close()` was called. */
  readonly closed: Promise<void>;
}

/** Starts worker `index`; rejects (after telling the primary why) when it cannot serve. */
export async function runSentryWorker(partial: Partial<SentryOptions>, index: number): Promise<RunningWorker> {
  const options = withSentryDefaults(partial);
  const logger = (options.logger ?? createSentryLogger()).child({ worker: index });
  const ctx = createSentryContext({ ...options, logger });
  let serving: ServingSentry | undefined;
  let shutdownAsked = false;
  let close: () => Promise<void> = () => Promise.resolve();

  const onMessage = (message: unknown): void => {
    if (isPrimaryMessage(message)) answer(message);
  };
  const answer = (message: PrimaryMessage): void => {
    switch (message.type) {
      case 'warden-sentry:health?': {
        const { healthy, reason } = serving?.health() ?? { healthy: false, reason: 'starting' };
        void sendToPrimary({ type: 'warden-sentry:health', id: message.id, healthy, reason });
        return;
      }
      case 'warden-sentry:metrics?':
        void ctx.metrics.registry.getMetricsAsJSON().then((metrics) => sendToPrimary({ type: 'warden-sentry:metrics', id: message.id, metrics }));
        return;
      case 'warden-sentry:shutdown':
        shutdownAsked = true;
        if (serving !== undefined) void close();
    }
  };
  process.on('message', onMessage);
  cluster.worker?.once('disconnect', () => {
    // Node exits a worker whose primary went away right after this event; say why first.
    if (!cluster.worker?.exitedAfterDisconnect) logger.error('The Sentry primary went away; this worker exits');
  });

  try {
    serving = await serveSentry(options, ctx, { bundleWarnings: index === 0, loadBundle: loadExistingBundle });
  } catch (err) {
    const code = isWardenError(err) ? err.code : undefined;
    await sendToPrimary({ type: 'warden-sentry:failed', code, message: err instanceof Error ? err.message : String(err) });
    process.off('message', onMessage);
    leaveCluster();
    throw err;
  }

  const running = serving;
  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  close = () => {
    closing ??= (async () => {
      logger.info('Sentry worker shutting down');
      await running.close(options.shutdownGraceMs);
      process.off('message', onMessage);
      logger.info('Sentry worker stopped');
      markClosed();
      leaveCluster();
    })();
    return closing;
  };
  logger.info({ port: running.port, pid: process.pid }, `Sentry worker ${index} serving on port ${running.port}`);
  await sendToPrimary({ type: 'warden-sentry:ready', port: running.port, spiffeId: running.spiffeId });
  if (shutdownAsked) void close();
  return { port: running.port, close, closed };
}

/** Resolves once the message is written (or the channel turned out closed); never rejects. */
function sendToPrimary(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Closes the IPC channel as an intended exit (node's cluster would otherwise keep the process alive). */
function leaveCluster(): void {
  if (cluster.worker !== undefined && process.connected) cluster.worker.disconnect();
}
