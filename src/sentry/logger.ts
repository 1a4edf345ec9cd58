/** Sentry's default logger: pino JSON lines on stdout, scoped like Dapr's (`dapr.sentry`). */
import { pino, type Logger } from 'pino';

export function createSentryLogger(level: string = process.env['WARDEN_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { scope: 'dapr.sentry' } });
}
