/**
 * The one protobuf body the server decodes: a SelfSubjectAccessReview, which `kubectl auth can-i`
 * sends as `application/vnd.kubernetes.protobuf` (k8s.io/api authorization/v1 generated.proto,
 * wrapped in runtime.Unknown after the `k8s\0` magic). Everything else in protobuf stays 415.
 */
import type { JsonObject } from './objects.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Length-delimited and varint fields of one message: field number → values (bytes or numbers). */
function fields(buf: Buffer): Map<number, (Buffer | number)[]> {
  const out = new Map<number, (Buffer | number)[]>();
  let i = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    let value: Buffer | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new Error('truncated field');
      value = buf.subarray(i, i + len);
      i += len;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

function text(m: Map<number, (Buffer | number)[]>, field: number): string | undefined {
  const v = m.get(field)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

function message(m: Map<number, (Buffer | number)[]>, field: number): Map<number, (Buffer | number)[]> | undefined {
  const v = m.get(field)?.[0];
  return Buffer.isBuffer(v) ? fields(v) : undefined;
}

/** The JSON form of a protobuf SelfSubjectAccessReview request body; throws when it is not one. */
export function decodeSelfSubjectAccessReview(raw: Buffer): JsonObject {
  if (!raw.subarray(0, 4).equals(MAGIC)) throw new Error('no k8s protobuf magic');
  const unknown = fields(raw.subarray(4));
  const inner = unknown.get(2)?.[0];
  if (!Buffer.isBuffer(inner)) throw new Error('no raw object');
  const review = fields(inner);
  const spec = message(review, 2);
  const out: JsonObject = {};
  const ra = spec && message(spec, 1);
  if (ra) {
    const names = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
    out.resourceAttributes = Object.fromEntries(names.map((n, idx) => [n, text(ra, idx + 1)]).filter(([, v]) => v !== undefined));
  }
  const nra = spec && message(spec, 2);
  if (nra) out.nonResourceAttributes = Object.fromEntries([['path', text(nra, 1)], ['verb', text(nra, 2)]].filter(([, v]) => v !== undefined));
  return { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: out };
}
