/** Kubeconfig files for the test API server, in the shape `kubectl config view --raw` prints. */
import { stringify } from 'yaml';

export interface KubeconfigContext {
  /** Context name; also used for the cluster and user entries. */
  name: string;
  server: string;
  caPem: string;
  token: string;
  namespace?: string;
}

/**
 * A kubeconfig with one cluster/user/context per entry; the first is the current context.
 * Several entries let tests exercise `--context` (e.g. one with a wrong token).
 */
export function renderKubeconfig(contexts: readonly KubeconfigContext[], current = contexts[0]?.name): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') },
    })),
    users: contexts.map((c) => ({ name: c.name, user: { token: c.token } })),
    contexts: contexts.map((c) => ({
      name: c.name,
      context: { cluster: c.name, user: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) },
    })),
    'current-context': current,
  });
}
