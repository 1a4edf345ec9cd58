/** The site contract (test/rotation/site-contract.ts) against the cluster, on the Kubernetes API test server. */
import { runSiteContract } from '../rotation/site-contract.js';
import { cluster, clusterBundle } from './support.js';

runSiteContract('cluster', async (t) => {
  const c = await cluster(t, { apps: { count: 1 } });
  return {
    args: ['-k', '--kubeconfig', c.server.kubeconfigPath],
    original: c.old.texts,
    current: async () => clusterBundle(c).secret,
    siteOptions: { kubernetes: true, kubeconfig: c.server.kubeconfigPath },
    expectAfterRollback: /All control plane services have restarted successfully!/,
  };
});
