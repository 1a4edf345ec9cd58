/**
 * PEM (RFC 7468) decoding and encoding. Decoding is strict about what is inside a block (base64 only)
 * and lenient about what is outside (comments and explanatory text are skipped, as Go's pem.Decode
 * does), so a `ca.crt` with comments loads and is re-encoded without them.
 */
import { WardenError } from './errors.js';

export interface PemBlock {
  type: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 #-]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 #-]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;
const HEADER_LINE = /^[A-Za-z-]+: /m;

/** Every PEM block in `input`, in order. */
export function decodePemBlocks(input: string | Buffer): PemBlock[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, type, body, endType] = match as unknown as [string, string, string, string];
    if (type !== endType) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" is closed by END "${endType}"`);
    }
    if (HEADER_LINE.test(body)) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" has headers (encrypted keys are not supported); decrypt it first`);
    }
    if (!BASE64_BODY.test(body)) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" contains characters that are not base64`);
    }
    const compact = body.replace(/\s+/g, '');
    if (compact.length % 4 !== 0) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" has truncated base64`);
    }
    const der = Buffer.from(compact, 'base64');
    if (der.length === 0) throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" is empty`);
    blocks.push({ type, der });
  }
  return blocks;
}

/** One PEM block, base64 wrapped at 64 columns, ending with a newline. */
export function encodePem(type: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
