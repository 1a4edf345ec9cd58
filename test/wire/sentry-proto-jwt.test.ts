/**
 * The JWT fields of `SignCertificateResponse` on the wire, as Dapr's proto declares them
 * (`dapr/proto/sentry/v1/sentry.proto`): `optional google.protobuf.StringValue jwt = 4;` and
 * `map<string, google.protobuf.StringValue> per_audience_jwts = 5;`. The bytes the sentry's
 * serializer writes are decoded by a protobuf reader written here from the encoding spec, not by
 * protobufjs, so a `map<string, string>` (Warden's old proto) fails this test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCaServiceDefinition, type SignCertificateResponse } from '../../src/wire/sentry-proto.js';

interface Field { no: number; wire: number; value: bigint | Buffer }

/** Splits a message into its fields (varint and length-delimited only; the rest is an error). */
function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      fields.push({ no, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

/** A `google.protobuf.StringValue`: one field 1, a string. */
function stringValue(buf: Buffer): string {
  const fields = readFields(buf);
  assert.equal(fields.length, 1);
  assert.equal(fields[0]!.no, 1);
  assert.equal(fields[0]!.wire, 2);
  return (fields[0]!.value as Buffer).toString('utf8');
}

const response: SignCertificateResponse = {
  workload_certificate: Buffer.from('leaf'),
  trust_chain_certificates: [Buffer.from('anchors')],
  valid_until: { seconds: '1800000000', nanos: 0 },
  jwt: { value: 'a.b.c' },
  per_audience_jwts: { 'cluster.local': { value: 'd.e.f' }, 'api://x': { value: 'g.h.i' } },
};

test('jwt is field 4, a StringValue message; per_audience_jwts is field 5, map entries {1: key, 2: StringValue}', () => {
  const bytes = loadCaServiceDefinition().SignCertificate!.responseSerialize(response);
  const fields = readFields(bytes);
  const jwt = fields.filter((f) => f.no === 4);
  assert.equal(jwt.length, 1);
  assert.equal(stringValue(jwt[0]!.value as Buffer), 'a.b.c');
  const entries = fields.filter((f) => f.no === 5).map((f) => readFields(f.value as Buffer));
  const decoded: Record<string, string> = {};
  for (const entry of entries) {
    const key = entry.find((f) => f.no === 1);
    const value = entry.find((f) => f.no === 2);
    assert.ok(key && value, 'a map entry has key 1 and value 2');
    decoded[(key.value as Buffer).toString('utf8')] = stringValue(value.value as Buffer);
  }
  assert.deepEqual(decoded, { 'cluster.local': 'd.e.f', 'api://x': 'g.h.i' });
});

test('without JWTs neither field is on the wire (Dapr: jwt nil, map empty)', () => {
  const bytes = loadCaServiceDefinition().SignCertificate!.responseSerialize({ ...response, jwt: null, per_audience_jwts: {} });
  assert.deepEqual(readFields(bytes).map((f) => f.no), [1, 2, 3]);
});

test('the client side decodes the StringValue map back', () => {
  const def = loadCaServiceDefinition().SignCertificate!;
  const back = def.responseDeserialize(def.responseSerialize(response)) as SignCertificateResponse;
  assert.deepEqual(back.jwt, { value: 'a.b.c' });
  assert.deepEqual(back.per_audience_jwts, { 'cluster.local': { value: 'd.e.f' }, 'api://x': { value: 'g.h.i' } });
});
