/**
 * Kubeconfig files merged as kubectl merges `$KUBECONFIG`: the first file to define a cluster,
 * user or context name wins, and the current context is the first one set. Type-only imports of
 * client-node: the module object is passed in (client.ts loads it lazily).
 */
import type { KubeConfig } from '@kubernetes/client-node';

export type KubeModule = typeof import('@kubernetes/client-node');

export function mergeKubeconfigFiles(k8s: KubeModule, files: readonly string[]): KubeConfig {
  const merged = new k8s.KubeConfig();
  const [first, ...rest] = files;
  if (first === undefined) return merged;
  merged.loadFromFile(first);
  for (const file of rest) {
    const next = new k8s.KubeConfig();
    next.loadFromFile(file);
    const has = <T extends { name: string }>(list: T[] | undefined, name: string) => (list ?? []).some((x) => x.name === name);
    for (const c of next.clusters) if (!has(merged.clusters, c.name)) merged.addCluster(c);
    for (const u of next.users) if (!has(merged.users, u.name)) merged.addUser(u);
    for (const c of next.contexts) if (!has(merged.contexts, c.name)) merged.addContext(c);
    if (!merged.currentContext && next.currentContext) merged.setCurrentContext(next.currentContext);
  }
  return merged;
}

/** `current context "x", contexts a, b` for messages. */
export function kubeConfigSummary(kc: KubeConfig): string {
  const names = kc.getContexts().map((c) => c.name);
  const current = kc.getCurrentContext();
  return `current context ${current ? `"${current}"` : 'unset'}, contexts ${names.join(', ') || 'none'}`;
}
