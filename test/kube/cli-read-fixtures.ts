/** Shared bits for the `-k` read-command tests through the built binary: a kubeconfig environment and Dapr's banner text. */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { KubeApiServer } from '../support/kube-api/index.js';
import { runWarden, type RunResult } from '../cli/helpers.js';

/** Runs the binary with KUBECONFIG pointing at the API server (HOME = `home`). */
export function runK(server: KubeApiServer, home: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runWarden(args, { home, env: { KUBECONFIG: server.kubeconfigPath, ...env } });
}

/** A kubeconfig whose current context uses a token the server rejects, plus the good one as `good`. */
export async function writeBadTokenKubeconfig(server: KubeApiServer, dir: string): Promise<string> {
  const path = join(dir, 'bad-token.yaml');
  await writeFile(path, server.kubeconfigWith([{ name: 'bad', token: 'not-the-token' }, { name: 'good' }], 'bad'));
  return path;
}

/** A kubeconfig for a port nothing listens on. */
export async function writeUnreachableKubeconfig(server: KubeApiServer, dir: string): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  const path = join(dir, 'unreachable.yaml');
  await writeFile(path, server.kubeconfigYaml.replace(server.url, `https://127.0.0.1:${port}`));
  return path;
}

/** Go's RFC1123 for a UTC date, derived from toUTCString (independent of src). */
export function rfc1123(d: Date): string {
  return d.toUTCString().replace(/GMT$/, 'UTC');
}

/** Dapr's banner (spec 6.5) for one certificate, as the binary must print it. */
export function bannerText(what: 'root' | 'issuer', message: string, notAfter: Date): string {
  return `⚠  Dapr ${what} certificate of your Kubernetes cluster ${message} Expiry date: ${rfc1123(notAfter)}. \n` +
    ' Please see docs.dapr.io for certificate renewal instructions to avoid service interruptions.\n';
}
