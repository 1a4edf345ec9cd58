/** Raw HTTPS access to the test API server (what the wire looks like, without a client library). */
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import type { KubeApiServer } from '../support/kube-api/index.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // Tests read arbitrary fields of answers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface RawOptions {
  body?: unknown;
  contentType?: string;
  /** Default: the server's token; null sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

export function call(server: KubeApiServer, method: string, path: string, opts: RawOptions = {}): Promise<RawResponse> {
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const token = opts.token === undefined ? server.token : opts.token;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server.url}${path}`, {
      method, ca: server.caPem,
      headers: {
        ...opts.headers,
        ...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
        // Content-Length explicitly: Node sends DELETE bodies unframed otherwise.
        ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export interface WatchEvent {
  type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  object: any;
}

export interface OpenWatch {
  status: number;
  events: WatchEvent[];
  /** Resolves when at least `n` events arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<WatchEvent[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens a watch (`path` must include `watch=true`) and collects its events. */
export function openWatch(server: KubeApiServer, path: string, headers: Record<string, string> = {}): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const waiters = new Set<() => void>();
    let endResolve = () => {};
    const ended = new Promise<void>((r) => {
      endResolve = r;
    });
    const req = httpsRequest(`${server.url}${path}`, { ca: server.caPem, headers: { ...headers, Authorization: `Bearer ${server.token}` } }, (res) => {
      let buffer = '';
      res.on('data', (c: Buffer) => {
        buffer += c.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)) as WatchEvent);
          buffer = buffer.slice(nl + 1);
        }
        for (const w of [...waiters]) w();
      });
      res.on('end', endResolve);
      res.on('close', endResolve);
      resolve({
        status: res.statusCode ?? 0, events, ended,
        waitFor: (n, timeoutMs = 120_000) => new Promise((ok, fail) => {
          const check = () => {
            if (events.length < n) return;
            waiters.delete(check);
            clearTimeout(timer);
            ok(events);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`only ${events.length} of ${n} watch events after ${timeoutMs} ms: ${JSON.stringify(events.map((e) => e.type))}`));
          }, timeoutMs);
          waiters.add(check);
          check();
        }),
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real kubectl against the server. Always asynchronous: the server runs in this
 * process, so a synchronous spawn would block it and kubectl would time out.
 */
export function kubectl(server: KubeApiServer, cacheDir: string, args: readonly string[], timeoutMs = 30_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, ...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
