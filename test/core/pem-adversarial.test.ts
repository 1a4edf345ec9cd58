/**
 * PEM decoding against crafted input (issue 12 item 1). Two halves:
 * - the scanner accepts and refuses exactly what the regular expressions it replaced did, checked
 *   on many small random inputs (where backtracking costs nothing) against those expressions,
 *   kept here as the reference;
 * - adversarial inputs up to the gRPC message cap (64 KiB) give the right blocks and errors. How
 *   long they take is measured by `npm run bench -- pem` (a ratio against benign input), not here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError, WardenError } from '../../src/core/errors.js';
import { decodeFirstPemBlock, decodePemBlocks, encodePem, type PemBlock } from '../../src/core/pem.js';
import { ADVERSARIAL_PEM, MESSAGE_CAP } from '../../bench/pem-inputs.js';

/** The decoder as it was (backtracking expressions): the reference for small inputs only. */
function referenceDecode(text: string): PemBlock[] {
  const BLOCK = /-----BEGIN ([A-Z0-9 #-]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 #-]+)-----/g;
  const blocks: PemBlock[] = [];
  for (const [, type = '', body = '', endType = ''] of text.matchAll(BLOCK)) {
    if (type !== endType) throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" is closed by END "${endType}"`);
    if (/^[A-Za-z-]+: /m.test(body)) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" has headers (encrypted keys are not supported); decrypt it first`);
    }
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(body)) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" contains characters that are not base64`);
    }
    const compact = body.replace(/\s+/g, '');
    if (compact.length % 4 !== 0) throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" has truncated base64`);
    const der = Buffer.from(compact, 'base64');
    if (der.length === 0) throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" is empty`);
    blocks.push({ type, der });
  }
  return blocks;
}

function outcome(decode: () => unknown): string {
  try {
    return `ok ${JSON.stringify(decode())}`;
  } catch (err) {
    assert.ok(isWardenError(err, 'ERR_PEM_INVALID'), `unexpected error ${String(err)}`);
    return `error ${err.message}`;
  }
}

function refusedWith(text: string, message: RegExp): void {
  assert.throws(() => decodePemBlocks(text), (err: unknown) => isWardenError(err, 'ERR_PEM_INVALID') && message.test(err.message));
}

/** A seeded generator, so a failure names an input that can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

const NOISE = ['-----BEGIN ', '-----END ', '-----', '-', 'A', 'x', ':', ': ', '\n', '\r', ' ', '#', '\u2028'];
const TYPES = ['A', 'A', 'B', 'A ', 'A-', '#1', 'a', ''];
const BODY = ['AQID', 'AQIDBA==', ' ', '\n', '\r\n', '\t', '\u00a0'];
const BAD_BODY = ['AQI', 'AQ', '=', '==', 'Proc-Type: 4', 'X-Y:z', '!', '-', '-----BEGIN A-----\n', '\u2028'];

/**
 * A random string of noise and block-like segments (BEGIN line, body, END line, each possibly
 * malformed), so every outcome (blocks, no block, each error) is reached.
 */
function randomPem(next: () => number): string {
  const pick = (list: readonly string[]): string => list[Math.floor(next() * list.length)]!;
  let text = '';
  const segments = 1 + Math.floor(next() * 3);
  for (let s = 0; s < segments; s++) {
    if (next() < 0.3) {
      for (let i = Math.floor(next() * 4); i > 0; i--) text += pick(NOISE);
      continue;
    }
    const type = pick(TYPES);
    text += `-----BEGIN ${type}-----${next() < 0.2 ? '\r\n' : next() < 0.9 ? '\n' : ''}`;
    for (let i = Math.floor(next() * 4); i > 0; i--) text += pick(next() < 0.9 ? BODY : BAD_BODY);
    text += `${next() < 0.7 ? '\n' : ''}-----END ${next() < 0.9 ? type : pick(TYPES)}-----${next() < 0.8 ? '\n' : pick(NOISE)}`;
  }
  if (next() < 0.2) {
    const at = Math.floor(next() * text.length);
    text = text.slice(0, at) + text.slice(at + 1);
  }
  return text;
}

describe('PEM scanner = the previous expressions (differential, small inputs)', () => {
  it('gives the same blocks and the same errors on 30,000 random inputs', () => {
    const next = random(20261204);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const text = randomPem(next);
      const expected = outcome(() => referenceDecode(text));
      assert.equal(outcome(() => decodePemBlocks(text)), expected, `input ${JSON.stringify(text)}`);
      const kind = expected.startsWith('ok []') ? 'none' : expected.startsWith('ok') ? 'blocks' : expected.replace(/"[^"]*"/g, '');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    // The inputs reach every outcome, so the comparison is not vacuous.
    assert.ok((kinds.get('blocks') ?? 0) > 1_000, `too few inputs with blocks: ${JSON.stringify([...kinds])}`);
    assert.equal(kinds.size, 7, `outcomes seen: ${JSON.stringify([...kinds])}`);
  });

  it('decodeFirstPemBlock is the first block, and ignores whatever follows it', () => {
    const good = encodePem('CERTIFICATE REQUEST', Buffer.from([1, 2, 3]));
    assert.deepEqual(decodeFirstPemBlock(`junk\n${good}-----BEGIN X-----\n!!\n-----END X-----\n`), { type: 'CERTIFICATE REQUEST', der: Buffer.from([1, 2, 3]) });
    assert.equal(decodeFirstPemBlock('no block'), undefined);
    assert.throws(() => decodeFirstPemBlock('-----BEGIN A-----\nAQ!D\n-----END A-----\n'), (err: unknown) => isWardenError(err, 'ERR_PEM_INVALID'));
  });
});

describe('PEM scanner on adversarial input up to the 64 KiB message cap', () => {
  const good = encodePem('CERTIFICATE REQUEST', Buffer.from('a real block'));

  it('each crafted shape, small, decodes as the previous expressions decoded it', () => {
    for (const input of ADVERSARIAL_PEM) {
      const small = input.make(400);
      const expected = outcome(() => referenceDecode(small));
      assert.equal(outcome(() => decodePemBlocks(small)), expected, input.name);
      assert.ok(input.expect === 'none' ? expected === 'ok []' : input.expect.test(expected), `${input.name}: ${expected}`);
    }
  });

  it('each crafted shape at the cap gives the expected result, from both entry points', () => {
    for (const input of ADVERSARIAL_PEM) {
      const text = input.make(MESSAGE_CAP);
      assert.ok(text.length > MESSAGE_CAP - 64 && text.length <= MESSAGE_CAP, `${input.name}: ${text.length} bytes`);
      if (input.expect === 'none') {
        assert.deepEqual(decodePemBlocks(text), [], input.name);
        assert.equal(decodeFirstPemBlock(text), undefined, input.name);
      } else {
        refusedWith(text, input.expect);
        assert.throws(() => decodeFirstPemBlock(Buffer.from(text, 'latin1')), (err: unknown) => isWardenError(err, 'ERR_PEM_INVALID'), input.name);
      }
    }
  });

  it('many BEGIN lines without END, then a real block: refused (the first body holds the other BEGIN lines)', () => {
    const junk = '-----BEGIN CERTIFICATE REQUEST-----\n'.repeat(1_700);
    refusedWith(junk + good, /contains characters that are not base64/);
    assert.deepEqual(decodePemBlocks(junk), []);
  });

  it('a run of "-----BEGIN " (all type characters) before a real block: the real block is found', () => {
    const text = `${'-----BEGIN '.repeat(5_900)}\n${good}`;
    assert.deepEqual(decodePemBlocks(text).map((b) => b.type), ['CERTIFICATE REQUEST']);
    assert.equal(decodeFirstPemBlock(text)?.type, 'CERTIFICATE REQUEST');
  });

  it('64 KiB of whitespace around a valid body decodes; with one stray character it is refused', () => {
    const spaces = ' \t\r\n'.repeat(16_000);
    assert.deepEqual(decodePemBlocks(`-----BEGIN A-----\n${spaces}AQID${spaces}\n-----END A-----\n`), [{ type: 'A', der: Buffer.from([1, 2, 3]) }]);
    refusedWith(`-----BEGIN A-----\n${spaces}AQID${spaces}.\n-----END A-----\n`, /not base64/);
    refusedWith(`-----BEGIN A-----\n${spaces}=${spaces}A\n-----END A-----\n`, /not base64/);
    refusedWith(`-----BEGIN A-----\n${spaces}\n-----END A-----\n`, /is empty/);
  });

  it('near-base64 bodies: truncated, three pads, a header line at the end', () => {
    const base64 = 'QUJD'.repeat(16_000);
    refusedWith(`-----BEGIN A-----\n${base64}Q\n-----END A-----\n`, /truncated base64/);
    refusedWith(`-----BEGIN A-----\n${base64}===\n-----END A-----\n`, /not base64/);
    refusedWith(`-----BEGIN A-----\n${base64}\nX-Header: 1\n-----END A-----\n`, /has headers/);
    assert.equal(decodePemBlocks(`-----BEGIN A-----\n${base64}\n-----END A-----\n`)[0]?.der.length, 48_000);
  });

  it('2,000 small blocks in one input are all decoded, in order', () => {
    let text = '';
    for (let i = 0; i < 2_000; i++) text += encodePem(`T${i}`, Buffer.from([i & 0xff, i >> 8]));
    const blocks = decodePemBlocks(text);
    assert.equal(blocks.length, 2_000);
    assert.deepEqual(blocks[1_999], { type: 'T1999', der: Buffer.from([1_999 & 0xff, 1_999 >> 8]) });
  });
});
