/** The shared TrustBundleStore contract suite, run against KubeTrustBundleStore on the Kubernetes API test server. */
import { after } from 'node:test';
import { loadKubeClients } from '../../src/kube/client.js';
import { KubeTrustBundleStore } from '../../src/stores/kube-store.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';
import { runStoreContract } from '../stores/store-contract.js';

let server: KubeApiServer | undefined;
let n = 0;
after(() => server?.close());

runStoreContract('KubeTrustBundleStore', async (clock) => {
  server ??= await startKubeApiServer();
  const api = server.api;
  // Each fixture gets a fresh namespace holding the empty objects Helm renders without certificates.
  const namespace = `contract-${++n}`;
  api.create('namespaces', undefined, { metadata: { name: namespace } });
  api.create('secrets', namespace, { metadata: { name: 'dapr-trust-bundle' }, type: 'Opaque' });
  api.create('configmaps', namespace, { metadata: { name: 'dapr-trust-bundle' } });
  const open = async () => new KubeTrustBundleStore({ clients: await loadKubeClients({ kubeconfig: server!.kubeconfigPath }), namespace, clock });
  const store = await open();
  const other = await open();
  return {
    store,
    clock,
    reopen: () => other,
    cleanup: async () => {
      api.delete('namespaces', undefined, namespace);
    },
  };
});
