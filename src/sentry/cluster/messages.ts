/**
 * The IPC messages between a `warden sentry --workers N` primary and its node:cluster workers.
 * Every type starts with `warden-sentry:` so they never mix with node's or prom-client's messages.
 *
 * worker → primary: `ready` (serving, with its bound gRPC port), `failed` (start-up refused, with
 * the WardenError code and message), and the replies `health` and `metrics` (same `id` as the ask).
 * primary → worker: `health?`, `metrics?` (asks) and `shutdown` (close gracefully, then exit).
 */

/** A registry's `getMetricsAsJSON()` result, as it crosses the IPC channel (plain JSON). */
export type MetricsJson = object[];

export type WorkerMessage =
  | { type: 'warden-sentry:ready'; port: number; spiffeId: string }
  | { type: 'warden-sentry:failed'; code: string | undefined; message: string }
  | { type: 'warden-sentry:health'; id: number; healthy: boolean; reason?: string | undefined }
  | { type: 'warden-sentry:metrics'; id: number; metrics: MetricsJson };

export type PrimaryMessage =
  | { type: 'warden-sentry:health?'; id: number }
  | { type: 'warden-sentry:metrics?'; id: number }
  | { type: 'warden-sentry:shutdown' };

/** The replies, matched to their ask by `id`. */
export type WorkerReply = Extract<WorkerMessage, { id: number }>;

const WORKER_TYPES = new Set<string>(['warden-sentry:ready', 'warden-sentry:failed', 'warden-sentry:health', 'warden-sentry:metrics']);
const PRIMARY_TYPES = new Set<string>(['warden-sentry:health?', 'warden-sentry:metrics?', 'warden-sentry:shutdown']);

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return hasType(value) && WORKER_TYPES.has(value.type);
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return hasType(value) && PRIMARY_TYPES.has(value.type);
}

export function isWorkerReply(message: WorkerMessage): message is WorkerReply {
  return message.type === 'warden-sentry:health' || message.type === 'warden-sentry:metrics';
}

function hasType(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
