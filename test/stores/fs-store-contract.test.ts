import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('FsTrustBundleStore', async (clock) => {
  const root = await mkdtemp(join(tmpdir(), 'warden-fs-contract-'));
  const dir = join(root, 'certs');
  return {
    store: new FsTrustBundleStore({ dir, clock }),
    clock,
    reopen: () => new FsTrustBundleStore({ dir, clock }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
