/**
 * What one gRPC server process holds at most for its clients, and why each refusal happened.
 *
 * A hand-written server owes what a library gives (Go's net/http2 and grpc-go are the model):
 * - streams per connection: SETTINGS_MAX_CONCURRENT_STREAMS 100 (the least RFC 9113 §6.5.2 asks
 *   for; Go net/http2 250, grpc-go unlimited). nghttp2 refuses more with RST_STREAM REFUSED_STREAM.
 * - open streams in total: beyond the cap a new stream is reset with REFUSED_STREAM (safe to retry).
 * - request bytes buffered until a message is whole: per connection and in total; beyond either
 *   the stream is refused with RESOURCE_EXHAUSTED (grpc-go's status for a server out of resources).
 * - time to receive the whole request message: 10 s, then DEADLINE_EXCEEDED and RST_STREAM
 *   NO_ERROR, as grpc-go answers when a handler's deadline expires before the client finished
 *   sending (http2_server.go WriteStatus: status trailers, then RST_STREAM NO_ERROR).
 * - time the peer has to read a response: 10 s; a connection whose responses stay unread is closed
 *   with GOAWAY ENHANCE_YOUR_CALM (the peer is asking faster than it reads).
 * - connections: in total and per peer address, refused at accept (the socket is closed at once).
 * - TLS handshake: 10 s (Node's default 120 s; grpc-go ConnectionTimeout 120 s); a connection
 *   that completes TLS but sends no request within the same time is closed too.
 */

export interface ServerLimits {
  maxConcurrentStreams: number;
  maxStreams: number;
  maxBufferedBytesPerConnection: number;
  maxBufferedBytes: number;
  messageTimeoutMs: number;
  drainTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerPeer: number;
  handshakeTimeoutMs: number;
  /** Before its first request a connection may stay quiet this long (default: the handshake timeout). */
  firstRequestTimeoutMs: number;
}

const SECOND_MS = 1000;

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConcurrentStreams: 100,
  maxStreams: 8192,
  maxBufferedBytesPerConnection: 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  messageTimeoutMs: 10 * SECOND_MS,
  drainTimeoutMs: 10 * SECOND_MS,
  maxConnections: 8192,
  maxConnectionsPerPeer: 2048,
  handshakeTimeoutMs: 10 * SECOND_MS,
  firstRequestTimeoutMs: 10 * SECOND_MS,
});

/**
 * Why the server refused or cut something (`warden_sentry_grpc_refused_total{reason}`); a closed set.
 * - `connections`: the total connection cap was reached; the new connection was closed at accept
 * - `connections_per_peer`: that peer address already had its share of connections
 * - `handshake_timeout`: the TLS handshake did not finish in time
 * - `no_request`: the connection sent no request in time after its handshake
 * - `streams`: the total stream cap was reached; the stream was reset with REFUSED_STREAM
 * - `buffered_bytes`: too many request bytes waiting for whole messages (RESOURCE_EXHAUSTED)
 * - `message_timeout`: the request message did not arrive in time (DEADLINE_EXCEEDED)
 * - `unread_responses`: the peer did not read its responses; connection closed (ENHANCE_YOUR_CALM)
 */
export const REFUSAL_REASONS = [
  'connections',
  'connections_per_peer',
  'handshake_timeout',
  'no_request',
  'streams',
  'buffered_bytes',
  'message_timeout',
  'unread_responses',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** `partial` over the defaults (undefined values ignored); the first-request timeout follows the handshake's unless given. */
export function withLimitDefaults(partial: Partial<ServerLimits> = {}): ServerLimits {
  const merged: ServerLimits = { ...DEFAULT_SERVER_LIMITS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (merged as unknown as Record<string, number>)[key] = value;
  }
  if (partial.firstRequestTimeoutMs === undefined) merged.firstRequestTimeoutMs = merged.handshakeTimeoutMs;
  return merged;
}
