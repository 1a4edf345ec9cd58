/**
 * Child process of `npm run bench -- fleet`: N Kubernetes API test servers, each with a Dapr
 * control plane and a healthy bundle, the last `--hanging` of them holding every request forever.
 * Prints one JSON line `{ "kubeconfig": … }` (a context per server: c00, c01, …) and serves until
 * stdin closes or SIGTERM. Loopback only.
 *
 *   node --import tsx bench/fleet-servers.ts --count 50 --hanging 1
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { generateTrustBundle } from '../src/core/bundle.js';
import { renderKubeconfig, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../test/support/kube-api/index.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '50' }, hanging: { type: 'string', default: '1' } } });
const count = Number(values.count);
const hanging = Number(values.hanging);
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-fleet-'));
const texts = generateTrustBundle({ clock: systemClock, trustDomain: 'cluster.local', namespace: 'dapr-system' }).bundle.toTexts();
const servers: KubeApiServer[] = [];
const releases: (() => void)[] = [];
for (let i = 0; i < count; i += 1) {
  const server = await startKubeApiServer();
  seedDaprControlPlane(server, { trustBundle: texts });
  if (i >= count - hanging) releases.push(server.faults.hold().release);
  servers.push(server);
}
const kubeconfig = join(dir, 'fleet.yaml');
const name = (i: number) => `c${String(i).padStart(2, '0')}`;
writeFileSync(kubeconfig, renderKubeconfig(servers.map((s, i) => ({ name: name(i), server: s.url, caPem: s.caPem, token: s.token }))), { mode: 0o600 });
process.stdout.write(`${JSON.stringify({ kubeconfig, hanging: servers.slice(count - hanging).map((_, j) => name(count - hanging + j)) })}\n`);

let closing = false;
const close = async (): Promise<void> => {
  if (closing) return;
  closing = true;
  for (const release of releases) release();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.stdin.on('end', () => void close());
process.stdin.resume();
process.once('SIGTERM', () => void close());
