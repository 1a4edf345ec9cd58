/**
 * PEM (RFC 7468) decoding and encoding. Decoding is strict about what is inside a block (base64 only)
 * and lenient about what is outside (comments and explanatory text are skipped, as Go's pem.Decode
 * does), so a `ca.crt` with comments loads and is re-encoded without them.
 *
 * The decoder is a forward scanner (indexOf and character loops, no regular expressions): PEM
 * arrives from unauthenticated clients (the CSR of every SignCertificate call), and the regular
 * expressions it replaced backtracked — a 45 KB crafted body stalled the sentry for ~40 s (issue
 * 12). Every input character is visited a bounded number of times, so the time is linear in the
 * input size (test/core/pem-adversarial.test.ts checks the results, `npm run bench -- pem` the
 * time). What it accepts is exactly what those expressions accepted:
 *   block:  `-----BEGIN <type>-----` `\r?\n` <body> `-----END <type>-----`, type of [A-Z0-9 #-]+,
 *           the body ending at the first END line that is well formed (whatever its type);
 *   body:   base64 and whitespace, then at most two `=`, then whitespace; no `Name: value` headers.
 */
import { WardenError } from './errors.js';

export interface PemBlock {
  type: string;
  der: Buffer;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const EQUALS = 0x3d;

/** Every PEM block in `input`, in order. */
export function decodePemBlocks(input: string | Buffer): PemBlock[] {
  return [...scanPemBlocks(textOf(input))];
}

/**
 * The first PEM block of `input`, or undefined when there is none; whatever follows it is not
 * looked at (Go's pem.Decode, as Dapr's Sentry reads a CSR: spec 1.4 step 4).
 */
export function decodeFirstPemBlock(input: string | Buffer): PemBlock | undefined {
  return scanPemBlocks(textOf(input)).next().value;
}

/** One PEM block, base64 wrapped at 64 columns, ending with a newline. */
export function encodePem(type: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

function textOf(input: string | Buffer): string {
  return typeof input === 'string' ? input : input.toString('latin1');
}

function* scanPemBlocks(text: string): Generator<PemBlock, undefined> {
  const runs = new TypeRuns(text);
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, pos);
    if (begin === -1) return undefined;
    const header = readBeginLine(text, runs, begin + BEGIN.length);
    if ('skipTo' in header) {
      // Not a BEGIN line; neither is any other "-----BEGIN " inside the same run of type characters.
      pos = header.skipTo;
      continue;
    }
    const end = findEndLine(text, runs, header.bodyStart);
    // No well-formed END line after this BEGIN means none after any later BEGIN either.
    if (end === undefined) return undefined;
    yield decodeBody(header.type, end.type, text.slice(header.bodyStart, end.start));
    pos = end.after;
  }
}

/** `<type>-----\r?\n` at `from`: the type and where the body starts, or where to search on from. */
function readBeginLine(text: string, runs: TypeRuns, from: number): { type: string; bodyStart: number } | { skipTo: number } {
  // The closing dashes are type characters too, so the line is one run ending in "-----".
  const runEnd = runs.endFrom(from);
  const newline = text.charCodeAt(runEnd) === LF ? 1 : text.charCodeAt(runEnd) === CR && text.charCodeAt(runEnd + 1) === LF ? 2 : 0;
  if (newline === 0 || runEnd - DASHES.length < from + 1 || !text.startsWith(DASHES, runEnd - DASHES.length)) {
    return { skipTo: runEnd };
  }
  return { type: text.slice(from, runEnd - DASHES.length), bodyStart: runEnd + newline };
}

/**
 * The first `-----END <type>-----` at or after `from`. As the expression it replaces, the type is
 * the longest run of type characters followed by five dashes (so `-----END X-----junk` has type X).
 */
function findEndLine(text: string, runs: TypeRuns, from: number): { start: number; type: string; after: number } | undefined {
  let start = text.indexOf(END, from);
  while (start !== -1) {
    const typeStart = start + END.length;
    const runEnd = runs.endFrom(typeStart);
    let dashes = runEnd - DASHES.length;
    while (dashes > typeStart && !text.startsWith(DASHES, dashes)) dashes--;
    if (dashes > typeStart) return { start, type: text.slice(typeStart, dashes), after: dashes + DASHES.length };
    // Every other "-----END " inside this run has the same (missing) closing dashes: skip the run.
    start = text.indexOf(END, runEnd);
  }
  return undefined;
}

function decodeBody(type: string, endType: string, body: string): PemBlock {
  if (type !== endType) {
    throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" is closed by END "${endType}"`);
  }
  const compact = base64Of(body);
  if (compact === undefined) {
    // A header line is never base64 (it has a colon), so it is looked for only to say why.
    if (hasHeaderLine(body)) {
      throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" has headers (encrypted keys are not supported); decrypt it first`);
    }
    throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" contains characters that are not base64`);
  }
  if (compact.length % 4 !== 0) {
    throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" has truncated base64`);
  }
  const der = Buffer.from(compact, 'base64');
  if (der.length === 0) throw new WardenError('ERR_PEM_INVALID', `PEM block "${type}" is empty`);
  return { type, der };
}

/** True when a line of `body` starts `Name: ` (RFC 1421 headers, e.g. `Proc-Type: 4,ENCRYPTED`). */
function hasHeaderLine(body: string): boolean {
  let i = 0;
  while (i < body.length) {
    let j = i;
    while (j < body.length && isHeaderNameChar(body.charCodeAt(j))) j++;
    if (j > i && body.charCodeAt(j) === COLON && body.charCodeAt(j + 1) === SPACE) return true;
    // On to the next line start (after any line terminator, as /^/m).
    while (j < body.length && !isLineTerminator(body.charCodeAt(j))) j++;
    i = j + 1;
  }
  return false;
}

/**
 * The base64 characters of `body` without whitespace, or undefined when the body is not base64 and
 * whitespace followed by at most two `=` and whitespace. One pass.
 */
function base64Of(body: string): string | undefined {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  for (; i < body.length; i++) {
    const kind = charKind(body.charCodeAt(i));
    if (kind === WHITESPACE) {
      if (i > start) parts.push(body.slice(start, i));
      start = i + 1;
    } else if (kind !== BASE64) {
      break;
    }
  }
  if (i > start) parts.push(body.slice(start, i));
  let padding = 0;
  while (i < body.length && body.charCodeAt(i) === EQUALS && padding < 2) {
    padding++;
    i++;
  }
  for (; i < body.length; i++) if (charKind(body.charCodeAt(i)) !== WHITESPACE) return undefined;
  if (padding > 0) parts.push('='.repeat(padding));
  return parts.join('');
}

const OTHER = 0;
const BASE64 = 1;
const WHITESPACE = 2;

/** Base64 alphabet and whitespace, by character code below 256 (the decoder's hot loop). */
const LATIN1_KINDS = (() => {
  const kinds = new Uint8Array(256);
  for (let c = 0; c < 256; c++) kinds[c] = isBase64Char(c) ? BASE64 : isWhitespace(c) ? WHITESPACE : OTHER;
  return kinds;
})();

function charKind(c: number): number {
  return c < 256 ? LATIN1_KINDS[c]! : isWhitespace(c) ? WHITESPACE : OTHER;
}

/** [A-Z0-9 #-]: the characters of a PEM type (and of its closing dashes). */
function isTypeChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === SPACE || c === 0x23 || c === 0x2d;
}

function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

function isHeaderNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
}

function isLineTerminator(c: number): boolean {
  return c === LF || c === CR || c === 0x2028 || c === 0x2029;
}

/** JavaScript's `\s` (WhiteSpace and LineTerminator), which the previous expressions used. */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === SPACE || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The end of the maximal run of type characters starting at a position, remembered for the last
 * run: a run of `-----BEGIN -----BEGIN …` (all type characters) is then walked once, not once per
 * BEGIN in it.
 */
class TypeRuns {
  private from = -1;
  private end = -1;

  constructor(private readonly text: string) {}

  endFrom(from: number): number {
    if (this.from !== -1 && from >= this.from && from <= this.end) return this.end;
    let end = from;
    while (end < this.text.length && isTypeChar(this.text.charCodeAt(end))) end++;
    this.from = from;
    this.end = end;
    return end;
  }
}
