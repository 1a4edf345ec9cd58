import type { Logger } from 'pino';

/** SIGTERM/SIGINT → graceful close; a second signal is left to the default handler. */
export function installSignalHandlers(logger: Logger, close: () => Promise<void>): () => void {
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
