/**
 * Where the JWKS validator's keys come from (spec 1.5; Dapr's `dapr/kit` `jwkscache`), decided as
 * Dapr decides it:
 * - a `https://` URL (or `http://`, with a warning), fetched with `caCertificate` as the only trust
 *   anchor when given (PEM text or a PEM file path), `requestTimeout` per fetch;
 * - else the path of an existing regular file, watched and re-read when it changes;
 * - else the JWKS itself: base64 (standard alphabet, padding optional) of JSON, or JSON.
 * A document is a JWK Set (`{"keys": [...]}`) or a single JWK, as `jwk.Parse` accepts.
 *
 * Bounds a hostile or broken source cannot exceed: one fetch at a time, `requestTimeout` each, at
 * most MAX_JWKS_BYTES of body, 2xx only, no redirects.
 */
import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { JsonWebKey } from 'node:crypto';
import { WardenError } from '../../core/errors.js';

export const MAX_JWKS_BYTES = 1024 * 1024;

export interface JwkSet {
  keys: JsonWebKey[];
}

export type JwksLocation =
  | { kind: 'url'; url: string; insecure: boolean }
  | { kind: 'file'; path: string }
  | { kind: 'inline'; set: JwkSet };

/** A fetched document and how long its source says it stays fresh (Cache-Control max-age), if it says. */
export interface FetchedJwks {
  set: JwkSet;
  maxAgeMs?: number | undefined;
}

const LOCATION_INVALID = 'failed to parse property \'location\': not a URL, path to local file, or JSON value (optionally base64-encoded)';

/** Classifies `source` as Dapr's cache does; an inline JWKS is parsed here (ERR_JWKS_UNAVAILABLE if it does not). */
export async function locateJwks(source: string): Promise<JwksLocation> {
  if (source === '') throw new WardenError('ERR_JWKS_UNAVAILABLE', 'property \'location\' must not be empty');
  if (source.startsWith('https://')) return { kind: 'url', url: source, insecure: false };
  if (source.startsWith('http://')) return { kind: 'url', url: source, insecure: true };
  if (await isRegularFile(source)) return { kind: 'file', path: source };
  const trimmed = source.replace(/=+$/, '');
  // Go's RawStdEncoding: the standard alphabet only, and no length that leaves a lone 6 bits.
  const json = /^[A-Za-z0-9+/]*$/.test(trimmed) && trimmed.length % 4 !== 1 ? Buffer.from(trimmed, 'base64').toString('utf8') : source;
  try {
    return { kind: 'inline', set: parseJwkSet(json) };
  } catch (err) {
    throw new WardenError('ERR_JWKS_UNAVAILABLE', LOCATION_INVALID, { cause: err });
  }
}

/** Reads a JWKS file (ERR_JWKS_UNAVAILABLE when it cannot be read or parsed). */
export async function readJwksFile(path: string): Promise<JwkSet> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_JWKS_BYTES) throw new Error(`the file is larger than ${MAX_JWKS_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new WardenError('ERR_JWKS_UNAVAILABLE', `failed to read JWKS file: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseJwkSet(text);
  } catch (err) {
    throw new WardenError('ERR_JWKS_UNAVAILABLE', `failed to parse JWKS file: ${(err as Error).message}`, { cause: err });
  }
}

export interface FetchOptions {
  /** PEM text, or the path of a PEM file (Dapr's `pem.GetPEM`). */
  caCertificate?: string | undefined;
  timeoutMs: number;
}

/** Fetches a JWKS URL once (ERR_JWKS_UNAVAILABLE on any failure). */
export async function fetchJwks(url: string, options: FetchOptions): Promise<FetchedJwks> {
  const ca = options.caCertificate === undefined ? undefined : await loadCaPem(options.caCertificate);
  const body = await getBody(url, ca, options.timeoutMs).catch((err: unknown) => {
    throw new WardenError('ERR_JWKS_UNAVAILABLE', `failed to fetch JWKS: ${(err as Error).message}`, { cause: err });
  });
  try {
    return { set: parseJwkSet(body.text), maxAgeMs: body.maxAgeMs };
  } catch (err) {
    throw new WardenError('ERR_JWKS_UNAVAILABLE', `failed to fetch JWKS: ${(err as Error).message}`, { cause: err });
  }
}

/** A JWK Set or a single JWK, as JSON text; every key needs a string `kty`. */
export function parseJwkSet(text: string): JwkSet {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new Error('a JWKS must be a JSON object');
  const keys: unknown[] = Array.isArray(doc['keys']) ? doc['keys'] : doc['keys'] === undefined ? [doc] : [];
  if (doc['keys'] !== undefined && !Array.isArray(doc['keys'])) throw new Error('"keys" must be an array');
  keys.forEach((key, i) => {
    if (!isRecord(key) || typeof key['kty'] !== 'string') throw new Error(`key ${i} has no "kty"`);
  });
  return { keys: keys as JsonWebKey[] };
}

async function loadCaPem(value: string): Promise<string> {
  if (/-----BEGIN [A-Z0-9 ]+-----/.test(value)) return value;
  try {
    return await readFile(value, 'utf8');
  } catch (err) {
    throw new WardenError('ERR_JWKS_UNAVAILABLE',
      `failed to load CA certificate: value is neither a valid file path or nor a valid PEM-encoded string: ${(err as Error).message}`, { cause: err });
  }
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function getBody(url: string, ca: string | undefined, timeoutMs: number): Promise<{ text: string; maxAgeMs?: number | undefined }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        res.resume();
        reject(new Error(`${url} answered HTTP ${status}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JWKS_BYTES) {
          req.destroy(new Error(`${url} sent more than ${MAX_JWKS_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), maxAgeMs: maxAgeOf(res.headers['cache-control']) }));
      res.on('error', reject);
    };
    const options = { timeout: timeoutMs, headers: { accept: 'application/json' } };
    const req = url.startsWith('https://')
      ? httpsRequest(url, { ...options, ...(ca !== undefined ? { ca } : {}), minVersion: 'TLSv1.2' }, onResponse)
      : httpRequest(url, options, onResponse);
    // `timeout` is for an idle socket; the whole exchange gets the same bound.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    deadline.unref();
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(deadline));
    req.end();
  });
}

function maxAgeOf(header: string | undefined): number | undefined {
  const match = header === undefined ? null : /(?:^|,)\s*max-age=(\d+)/i.exec(header);
  return match === null ? undefined : Number(match[1]) * 1000;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
