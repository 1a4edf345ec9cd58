/**
 * The logging surface the identity client needs. A pino logger satisfies it; so does `console`.
 * Messages are Dapr's log texts (spec 3.5, 4.4) so operators can grep for the same lines.
 */
export interface IdentityLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Discards everything; the default when no logger is injected. */
export const silentLogger: IdentityLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Renders an unknown thrown value for a log line or error message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
