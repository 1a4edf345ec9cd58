/**
 * The set-up both Kubernetes suites share (kube-renew.ts, kube-rotate.ts): for each size, a fresh
 * API test server with rollouts of `delayMs`, Dapr's control plane holding a bundle, N apps over
 * APP_NAMESPACES namespaces, an empty request log and a throw-away HOME; all removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDaprApps, seedDaprControlPlane, startKubeApiServer } from '../test/support/kube-api/index.js';
import { buildBundle } from '../test/support/bundles.js';
import { onExit } from './children.js';

/** Namespaces the apps are spread over. */
export const APP_NAMESPACES = 10;

export interface KubeSuiteOptions {
  sizes?: readonly number[];
  /** Every rollout completes this long after its restart (default 200 ms). */
  delayMs?: number;
  /** --max-concurrent-restarts (default 5, Warden's default). */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface BenchCluster {
  server: Awaited<ReturnType<typeof startKubeApiServer>>;
  /** HOME for the command under test. */
  home: string;
}

/** Runs `measure` once per size (default 10, 100, 1,000 apps), each against a cluster of its own. */
export async function measureSizes<T>(
  suite: string,
  opts: KubeSuiteOptions,
  measure: (cluster: BenchCluster, apps: number, delayMs: number, concurrency: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  const delayMs = opts.delayMs ?? 200;
  for (const apps of opts.sizes ?? [10, 100, 1000]) {
    opts.log?.(`${suite}: ${apps} Dapr apps, rollouts of ${delayMs} ms…`);
    const server = await startKubeApiServer({ rolloutDelayMs: delayMs });
    const home = mkdtempSync(join(tmpdir(), `warden-bench-${suite}-`));
    const cleanup = onExit(() => rmSync(home, { recursive: true, force: true }));
    try {
      const old = await buildBundle({ now: new Date(), trustDomain: 'cluster.local', namespace: 'dapr-system' });
      seedDaprControlPlane(server, { trustBundle: old.texts, withPods: false });
      seedDaprApps(server, { namespaces: Array.from({ length: APP_NAMESPACES }, (_, i) => `apps-${i}`), count: apps });
      server.requests.clear();
      results.push(await measure({ server, home }, apps, delayMs, opts.concurrency ?? 5));
    } finally {
      await server.close();
      rmSync(home, { recursive: true, force: true });
      cleanup.dispose();
    }
  }
  return results;
}
