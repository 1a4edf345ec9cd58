/**
 * Benchmark: reading the trust of N running Dapr pods (`readTrustConvergence`, what the trust gate
 * of `rotate -k` and `doctor -k` do on every poll) against the Kubernetes API test server (in this
 * process, loopback only), N pods spread over 10 namespaces, each with an injected daprd.
 *
 * Floor, measured in the same run with the same client: listing the same pods, paged the same way
 * (500 a page) — the API traffic the check cannot avoid. Warden / floor is what reading each pod's
 * anchors adds (PEM parsing is shared per distinct text; ConfigMaps are read once per check).
 *
 *   node --import tsx bench/trust-convergence.ts [N …] [--runs 5]
 */
import { parseArgs } from 'node:util';
import { generateTrustBundle } from '../src/core/bundle.js';
import { systemClock } from '../src/core/clock.js';
import { loadKubeClients } from '../src/kube/client.js';
import { readTrustConvergence } from '../src/kube/trust-convergence.js';
import { seedDaprApps, seedDaprControlPlane, simulateDaprPods, startKubeApiServer } from '../test/support/kube-api/index.js';
import { fixed, formatTable, int } from './format.js';

export interface TrustConvergenceFigures {
  pods: number;
  floorMs: number;
  wardenMs: number;
  ratio: number;
  requests: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runTrustConvergenceBench(opts: { sizes?: number[]; runs?: number; log?: (line: string) => void } = {}): Promise<TrustConvergenceFigures[]> {
  const out: TrustConvergenceFigures[] = [];
  for (const n of opts.sizes ?? [100, 1000]) {
    opts.log?.(`trust-convergence: ${n} Dapr pods…`);
    const server = await startKubeApiServer();
    try {
      const texts = generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: 'dapr-system' }).bundle.toTexts();
      seedDaprControlPlane(server, { trustBundle: texts, withPods: false });
      seedDaprApps(server, { namespaces: Array.from({ length: 10 }, (_, i) => `team-${i}`), count: n });
      simulateDaprPods(server).stop();
      const clients = await loadKubeClients({ kubeconfig: server.kubeconfigPath });
      const floor: number[] = [];
      const warden: number[] = [];
      let requests = 0;
      for (let run = 0; run < (opts.runs ?? 5); run += 1) {
        let t = performance.now();
        let next: string | undefined;
        do {
          const page = await clients.core.listPodForAllNamespaces({ limit: 500, ...(next ? { _continue: next } : {}) });
          next = page.metadata?._continue || undefined;
        } while (next !== undefined);
        floor.push(performance.now() - t);
        const before = clients.requestCount();
        t = performance.now();
        const report = await readTrustConvergence(clients, { controlPlaneNamespace: 'dapr-system', requiredAnchors: texts.ca });
        warden.push(performance.now() - t);
        requests = clients.requestCount() - before;
        if (report.converged !== n + 5) throw new Error(`expected ${n + 5} converged pods, got ${report.converged} (${report.pending[0]?.reason ?? ''})`);
      }
      const f = median(floor);
      const w = median(warden);
      out.push({ pods: n + 5, floorMs: f, wardenMs: w, ratio: w / f, requests });
    } finally {
      await server.close();
    }
  }
  return out;
}

export function formatTrustConvergenceReport(rows: readonly TrustConvergenceFigures[]): string {
  const table = formatTable(['pods', 'floor ms (list only)', 'warden ms', 'warden / floor', 'API requests'],
    rows.map((r) => [int(r.pods), fixed(r.floorMs, 1), fixed(r.wardenMs, 1), fixed(r.ratio, 2), int(r.requests)]));
  return `trust-convergence — readTrustConvergence of N running Dapr pods (+5 control plane) against the in-process API test server; floor = paging through the same pods with the same client, same run; medians\n${table}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { runs: { type: 'string' } }, allowPositionals: true });
  const sizes = positionals.length > 0 ? positionals.map(Number) : undefined;
  const rows = await runTrustConvergenceBench({ ...(sizes ? { sizes } : {}), ...(values.runs ? { runs: Number(values.runs) } : {}), log: (l) => void process.stderr.write(`${l}\n`) });
  console.log(formatTrustConvergenceReport(rows));
}
