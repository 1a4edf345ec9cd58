/**
 * Runs a real `runSentry` in-process for tests: a temp credentials directory, every port 0 on
 * 127.0.0.1, logs captured as parsed JSON records, and clients that verify the server's SPIFFE ID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { runSentry, type RunningSentry } from '../../src/sentry/server.js';
import type { SentryOptions } from '../../src/sentry/options.js';
import { connectSentry, type SentryTestClient } from './sentry-client.js';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export interface TestSentry {
  sentry: RunningSentry;
  dir: string;
  logs: LogRecord[];
  address: string;
  /** ca.crt as it is on disk now. */
  anchorsPem(): string;
  /** A client trusting `anchorsPem` (default: the current ca.crt) and expecting the Sentry SPIFFE ID. */
  client(anchorsPem?: string): SentryTestClient;
  /** GET http://127.0.0.1:<port><path>. */
  get(port: number, path: string): Promise<{ status: number; body: string; contentType: string | null }>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Bundle files to write before start; none → Sentry generates. */
  texts?: BundleTexts;
  /** Keep an existing directory instead of creating one. */
  dir?: string;
  options?: Partial<SentryOptions>;
  /** Captured log level (default debug). */
  logLevel?: 'debug' | 'info';
}

/** Makes a temp directory (removed by the caller). */
export function tempDir(prefix = 'warden-sentry-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeBundleFiles(dir: string, texts: BundleTexts): void {
  writeFileSync(join(dir, 'ca.crt'), texts.ca, { mode: 0o600 });
  writeFileSync(join(dir, 'issuer.crt'), texts.issuerCert, { mode: 0o600 });
  writeFileSync(join(dir, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
}

/** A pino logger that appends parsed records to `logs`. */
export function captureLogger(logs: LogRecord[], level: 'debug' | 'info' = 'debug'): Logger {
  return pino<never>({ level }, { write: (line: string) => void logs.push(JSON.parse(line) as LogRecord) });
}

export async function startTestSentry(start: StartOptions = {}): Promise<TestSentry> {
  const ownDir = start.dir === undefined;
  const dir = start.dir ?? tempDir();
  if (start.texts) writeBundleFiles(dir, start.texts);
  const logs: LogRecord[] = [];
  let sentry: RunningSentry;
  try {
    sentry = await runSentry({
      issuerCredentials: dir,
      port: 0,
      listenAddress: '127.0.0.1',
      healthzPort: 0,
      healthzListenAddress: '127.0.0.1',
      metricsPort: 0,
      metricsListenAddress: '127.0.0.1',
      namespace: 'default',
      handleSignals: false,
      shutdownGraceMs: 2_000,
      logger: captureLogger(logs, start.logLevel),
      ...start.options,
    });
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const clients: SentryTestClient[] = [];
  const address = `127.0.0.1:${sentry.port}`;
  const anchorsPem = (): string => readFileSync(join(dir, start.options?.issuerCaFilename ?? 'ca.crt'), 'utf8');
  return {
    sentry,
    dir,
    logs,
    address,
    anchorsPem,
    client: (anchors) => {
      const c = connectSentry({ address, anchorsPem: anchors ?? anchorsPem(), expectedId: sentry.spiffeId });
      clients.push(c);
      return c;
    },
    get: async (port, path) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') };
    },
    close: async () => {
      for (const c of clients) c.close();
      await sentry.close();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
