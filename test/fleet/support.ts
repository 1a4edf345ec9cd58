/**
 * Fleet test kit: one Kubernetes API test server per scenario (a Dapr control plane with a real
 * bundle), a kubeconfig naming them all as contexts, and self-hosted directories.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { createRotationRecord } from '../../src/core/rotation-phases/record.js';
import { loadKubeClients } from '../../src/kube/client.js';
import { KubeJournalStore } from '../../src/rotation-engine/kube-journal.js';
import { buildBundle, withExpiredIssuer, withExpiresIn, withExtraRoot, type Modifier } from '../support/bundles.js';
import {
  renderKubeconfig, seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer, type DaprPodSimulator, type KubeApiServer, type KubeconfigContext,
} from '../support/kube-api/index.js';

export const DAY = 24 * 3600 * 1000;

export type Scenario = 'healthy' | 'expiring' | 'expired' | 'rotating' | 'drift' | 'converging' | 'forbidden' | 'unreachable' | 'hanging';

export interface Cluster {
  name: Scenario | string;
  server: KubeApiServer | undefined;
  context: KubeconfigContext;
  texts?: BundleTexts;
  /** Lets a held (hanging) server answer again, so it can close. */
  release?: () => void;
  pods?: DaprPodSimulator;
}

export function bundleFor(scenario: Scenario, now: Date): Promise<{ texts: BundleTexts }> {
  const mods: Modifier[] = [];
  if (scenario === 'expiring') mods.push(withExpiresIn(20 * DAY, 'issuer'));
  if (scenario === 'expired') mods.push(withExpiredIssuer());
  if (scenario === 'rotating') mods.push(withExtraRoot());
  return buildBundle({ now }, ...mods);
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts a cluster in the given state; `name` defaults to the scenario. */
export async function startCluster(scenario: Scenario, now: Date, name: string = scenario): Promise<Cluster> {
  if (scenario === 'unreachable') {
    const port = await closedPort();
    const donor = await startKubeApiServer();
    const context = { name, server: `https://127.0.0.1:${port}`, caPem: donor.caPem, token: donor.token };
    await donor.close();
    return { name, server: undefined, context };
  }
  const server = await startKubeApiServer();
  const context = { name, server: server.url, caPem: server.caPem, token: server.token };
  const { texts } = await bundleFor(scenario, now);
  // The pod simulator makes the control plane's pods itself.
  seedDaprControlPlane(server, { trustBundle: texts, version: '1.16.2', withPods: scenario !== 'converging' });
  const cluster: Cluster = { name, server, context, texts };
  if (scenario === 'drift') {
    const other = await bundleFor('healthy', now);
    server.api.mutate('configmaps', 'dapr-system', 'dapr-trust-bundle', (cm) => {
      cm.data = { ...(cm.data as Record<string, string> | undefined), 'ca.crt': other.texts.ca };
    });
  }
  if (scenario === 'rotating') await writeJournal(server, texts, now);
  if (scenario === 'converging') {
    // Three Dapr apps injected with the old ca.crt, then a new root added beside it (as add-anchor
    // writes it) and no app restarted: none of them trusts the new root yet.
    seedDaprApps(server, { count: 3 });
    cluster.pods = simulateDaprPods(server);
    const both = texts.ca + (await bundleFor('healthy', now)).texts.ca;
    server.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (secret) => {
      secret.data = { ...(secret.data as Record<string, string>), 'ca.crt': Buffer.from(both).toString('base64') };
    });
    server.api.mutate('configmaps', 'dapr-system', 'dapr-trust-bundle', (cm) => {
      cm.data = { ...(cm.data as Record<string, string>), 'ca.crt': both };
    });
  }
  if (scenario === 'forbidden') server.faults.failNext(Infinity, { status: 403, message: 'secrets is forbidden: User "system:serviceaccount:x:y" cannot get resource' });
  if (scenario === 'hanging') cluster.release = server.faults.hold().release;
  return cluster;
}

/** A rotation journal Secret as the engine writes it: add-anchor written 20 min ago, its propagation under way (not stalled: fleet/stalled-rotation.ts). */
export async function writeJournal(server: KubeApiServer, texts: BundleTexts, now: Date): Promise<void> {
  const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
  const planned = new Date(now.getTime() - 3 * 3600_000);
  const record = createRotationRecord({
    id: '20261204T180000Z-1234', now: planned, store: 'Secret dapr-system/dapr-trust-bundle',
    policy: { workloadTtlMs: DAY, clockSkewMs: 15 * 60_000 },
    settings: { propagationDelayMs: 0, timeoutMs: 300_000, force: false },
    original: { texts, version: '1/1' },
    material: { source: 'fresh', anchorsPem: texts.ca, issuerCertPem: texts.issuerCert, issuerKeyPem: texts.issuerKey },
  });
  record.phases['add-anchor'] = { startedAt: new Date(now.getTime() - 20 * 60_000).toISOString(), writtenAt: new Date(now.getTime() - 20 * 60_000 + 5000).toISOString() };
  await new KubeJournalStore({ clients, namespace: 'dapr-system' }).write(record);
}

/** One kubeconfig file with a context per cluster. */
export async function writeFleetKubeconfig(dir: string, clusters: readonly Cluster[], file = 'fleet.yaml'): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, renderKubeconfig(clusters.map((c) => c.context)), { mode: 0o600 });
  return path;
}

export async function stopClusters(clusters: readonly Cluster[]): Promise<void> {
  for (const c of clusters) {
    c.release?.();
    c.pods?.stop();
  }
  await Promise.all(clusters.map((c) => c.server?.close()));
}
