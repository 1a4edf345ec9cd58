/**
 * What the fixture-driven browser tests talk to: an HTTP server on an ephemeral loopback port that
 * serves `renderPage(...)` at `/` and contract JSON at `/api/fleet`, as `warden monitor` does
 * (FLEET-CONTRACT.md), but answering whatever the test sets: a failing `/api/fleet`, a
 * counted fetch, data a real monitor cannot easily produce (a JWT key with no known expiry, dozens
 * of targets). The page of a real `warden monitor` over real targets is tested in
 * page-real-monitor.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderPage } from '../../src/monitor/page/index.js';
import type { Fleet } from './fleet-fixture.js';

/** An answer the server gives instead of the fleet, to test how the page copes with a failing monitor. */
export interface Failure {
  status: number;
  body: string;
}

export interface PageUnderTest {
  /** Base URL, ending in `/`. */
  url: string;
  /** What `/api/fleet` answers from now on. */
  answer(next: Fleet | Failure): void;
  /** How many times `/api/fleet` was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export async function startPageUnderTest(options: { fleet: Fleet; refreshSeconds: number; title?: string }): Promise<PageUnderTest> {
  const html = renderPage({ refreshSeconds: options.refreshSeconds, title: options.title ?? 'Warden fleet' });
  let current: Fleet | Failure = options.fleet;
  let fetches = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    } else if (req.method === 'GET' && path === '/api/fleet') {
      fetches++;
      if ('status' in current) res.writeHead(current.status, { 'content-type': 'text/plain' }).end(current.body);
      else res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(current));
    } else {
      // Anything else would be an external asset the page must not need: make it visible in a test.
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    answer: (next) => { current = next; },
    fetches: () => fetches,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
