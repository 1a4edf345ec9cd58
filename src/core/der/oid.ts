/** OBJECT IDENTIFIER encoding and decoding (X.690 §8.19), strict. */
import { WardenError } from '../errors.js';

const encodeCache = new Map<string, Buffer>();

/** Dotted string → content bytes (without tag and length). Cached: OIDs repeat on every signature. */
export function encodeOidContent(oid: string): Buffer {
  const cached = encodeCache.get(oid);
  if (cached) return cached;
  const parts = oid.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new WardenError('ERR_DER_INVALID', `invalid OID ${oid}`);
    return BigInt(p);
  });
  if (parts.length < 2 || parts[0]! > 2n || (parts[0]! < 2n && parts[1]! > 39n)) {
    throw new WardenError('ERR_DER_INVALID', `invalid OID ${oid}`);
  }
  const arcs = [parts[0]! * 40n + parts[1]!, ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    let rest = arc >> 7n;
    while (rest > 0n) {
      chunk.unshift(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    out.push(...chunk);
  }
  const encoded = Buffer.from(out);
  encodeCache.set(oid, encoded);
  return encoded;
}

/** Content bytes → dotted string. Rejects empty OIDs, non-minimal arcs and truncated arcs. */
export function decodeOid(bytes: Buffer, what = 'object identifier'): string {
  if (bytes.length === 0) throw new WardenError('ERR_DER_INVALID', `malformed DER: ${what}: empty OID`);
  if (bytes.length > 64) throw new WardenError('ERR_DER_INVALID', `malformed DER: ${what}: OID too long`);
  const arcs: bigint[] = [];
  let value = 0n;
  let inArc = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (!inArc && byte === 0x80) throw new WardenError('ERR_DER_INVALID', `malformed DER: ${what}: OID arc not minimal`);
    value = (value << 7n) | BigInt(byte & 0x7f);
    inArc = (byte & 0x80) !== 0;
    if (!inArc) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (inArc) throw new WardenError('ERR_DER_INVALID', `malformed DER: ${what}: truncated OID`);
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}
