import type { Logger } from 'pino';

/** SIGTERM/SIGINT → graceful close; a second signal is left to the default handler. */
function installSignalHandlers(logger: Logger, close: () => Promise<void>): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, `Received ${signal}; shutting down gracefully`);
    removeAll();
    void close();
  };
  const removeAll = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return removeAll;
}

/**
 * The sentry's close, for a single process and a primary alike: idempotent, logged, runs `stop`,
 * removes the SIGTERM/SIGINT handlers it installed (when `handleSignals`), then resolves `closed`.
 */
export function createGracefulClose(logger: Logger, handleSignals: boolean, stop: () => Promise<void>): { close(): Promise<void>; closed: Promise<void> } {
  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('Sentry shutting down');
      await stop();
      removeSignalHandlers();
      logger.info('Sentry stopped');
      markClosed();
    })();
    return closing;
  };
  const removeSignalHandlers = handleSignals ? installSignalHandlers(logger, close) : () => {};
  return { close, closed };
}
