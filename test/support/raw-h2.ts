/**
 * A hostile HTTP/2 client for tests: frames written by hand over TLS, so a test can do what no
 * well-behaved client library does: open more streams than the server allows before reading its
 * SETTINGS, never finish a message, or never read the responses. Frames the server sends are
 * parsed (type, flags, stream, payload); header blocks are not decoded.
 */
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR_CODE = { NO_ERROR: 0, PROTOCOL_ERROR: 1, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;
export const SETTING = { MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const payload = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, payload);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A header block of literal fields without indexing and without Huffman coding (RFC 7541 §6.2.2). */
export function headerBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of headers) {
    bytes.push(0x00, ...hpackInt(name.length, 7, 0), ...Buffer.from(name, 'latin1'));
    bytes.push(...hpackInt(value.length, 7, 0), ...Buffer.from(value, 'latin1'));
  }
  return Buffer.from(bytes);
}

/** The HEADERS frame of a gRPC POST to `path`. */
export function grpcRequestHeaders(streamId: number, path: string, extra: ReadonlyArray<readonly [string, string]> = []): Buffer {
  return frame(FRAME.HEADERS, FLAG.END_HEADERS, streamId, headerBlock([
    [':method', 'POST'], [':scheme', 'https'], [':path', path], [':authority', '127.0.0.1'],
    ['content-type', 'application/grpc'], ['te', 'trailers'], ...extra,
  ]));
}

/** A gRPC message prefix declaring `declared` bytes, followed by `body`. */
export function grpcMessage(declared: number, body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, body]);
}

export class RawH2Client {
  readonly frames: Frame[] = [];
  private pending = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();
  closed = false;

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** TLS with ALPN h2 (the server's certificate is not checked: an attacker would not), then the preface and `settings`. */
  static async connect(port: number, opts: { localAddress?: string; settings?: ReadonlyArray<readonly [number, number]> } = {}): Promise<RawH2Client> {
    const socket = connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await once(socket, 'secureConnect');
    const client = new RawH2Client(socket);
    socket.write(Buffer.concat([PREFACE, settingsFrame(opts.settings ?? [])]));
    return client;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when `done()` holds (checked on every frame and on close); rejects after `timeoutMs`. */
  waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames so far: ${this.summary()}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** RST_STREAM error codes the server sent, by stream. */
  resets(): Map<number, number> {
    return new Map(this.frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)]));
  }

  /** Error code of the server's GOAWAY, if it sent one. */
  goawayCode(): number | undefined {
    return this.frames.find((f) => f.type === FRAME.GOAWAY)?.payload.readUInt32BE(4);
  }

  close(): void {
    this.socket.destroy();
  }

  private summary(): string {
    const counts = new Map<number, number>();
    for (const f of this.frames) counts.set(f.type, (counts.get(f.type) ?? 0) + 1);
    return `${[...counts].map(([t, n]) => `type ${t} × ${n}`).join(', ') || 'none'}${this.closed ? ', socket closed' : ''}`;
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      this.frames.push({
        type: this.pending[3]!, flags: this.pending[4]!, streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.pending.subarray(9, 9 + length),
      });
      this.pending = this.pending.subarray(9 + length);
    }
    this.wake();
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}
