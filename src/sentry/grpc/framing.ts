/**
 * gRPC over HTTP/2 framing for unary calls (grpc/grpc PROTOCOL-HTTP2.md): the 5-byte message prefix
 * (compressed flag + big-endian length), the `grpc-timeout` header, and the percent-encoding of
 * `grpc-message`. Pure functions and a small accumulator; no I/O.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';

/** A refusal the server sends as a gRPC status (code + message). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const PREFIX_BYTES = 5;

/** The message with its 5-byte prefix, uncompressed. */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

/**
 * Collects the DATA of one request stream and yields its single message. Refuses, without buffering
 * it, a message whose declared length is over `maxBytes` (RESOURCE_EXHAUSTED, grpc-js's wording).
 */
export class UnaryMessageReader {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private declared: number | undefined;
  private compressed = false;

  constructor(private readonly maxBytes: number) {}

  /** Adds a DATA chunk; throws GrpcStatusError as soon as the stream breaks a rule. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.declared === undefined && this.received >= PREFIX_BYTES) {
      const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
      this.compressed = head[0] === 1;
      if (head[0]! > 1) throw new GrpcStatusError(status.INTERNAL, `invalid message flag ${head[0]}`);
      this.declared = head.readUInt32BE(1);
      if (this.declared > this.maxBytes) {
        throw new GrpcStatusError(status.RESOURCE_EXHAUSTED, `Received message larger than max (${this.declared} vs ${this.maxBytes})`);
      }
    }
    if (this.declared !== undefined && this.received > PREFIX_BYTES + this.declared) {
      throw new GrpcStatusError(status.UNIMPLEMENTED, 'Received a second request message for a unary method');
    }
  }

  /** At end of stream: the message bytes, decompressed with `encoding` when flagged. */
  finish(encoding: string | undefined): Buffer {
    if (this.declared === undefined || this.received !== PREFIX_BYTES + this.declared) {
      throw new GrpcStatusError(status.UNIMPLEMENTED, this.received === 0 ? 'No request message received for a unary method' : 'Incomplete request message');
    }
    const body = Buffer.concat(this.chunks, this.received).subarray(PREFIX_BYTES);
    return this.compressed ? decompress(body, encoding, this.maxBytes) : body;
  }
}

function decompress(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return gunzipSync(body, options);
    if (encoding === 'deflate') return inflateSync(body, options);
  } catch (err) {
    const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new GrpcStatusError(
      tooLarge ? status.RESOURCE_EXHAUSTED : status.INTERNAL,
      tooLarge ? `Received message larger than max (decompressed over ${maxBytes})` : `cannot decompress the ${encoding} message`,
      { cause: err },
    );
  }
  throw new GrpcStatusError(
    encoding === undefined || encoding === 'identity' ? status.INTERNAL : status.UNIMPLEMENTED,
    encoding === undefined || encoding === 'identity' ? 'compressed message without grpc-encoding' : `message compression "${encoding}" is not supported`,
  );
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout` (1–8 digits + unit) in milliseconds; undefined when absent or malformed (no deadline). */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  return match ? Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]! : undefined;
}

/** `grpc-message` encoding: UTF-8, then percent-encode every byte outside 0x20–0x7E and '%'. */
export function encodeGrpcMessage(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
