/** The site contract (site-contract.ts) against a credentials directory. */
import { join } from 'node:path';
import { DEFAULT_FILE_NAMES } from '../../src/cli/options.js';
import { FsTrustBundleStore } from '../../src/stores/fs-store.js';
import { systemClock } from '../../src/core/clock.js';
import { runSiteContract } from './site-contract.js';
import { makeBundle, tempDir } from './helpers.js';

runSiteContract('directory', async (t) => {
  const certs = join(await tempDir(t, 'warden-site-'), 'certs');
  const store = new FsTrustBundleStore({ dir: certs, clock: systemClock });
  const original = makeBundle(systemClock).toTexts();
  await store.write(original, { expectedVersion: null });
  return {
    args: ['--issuer-credentials', certs],
    original,
    current: async () => {
      const read = await store.read();
      return read.state === 'complete' ? read.texts : undefined;
    },
    siteOptions: { ...DEFAULT_FILE_NAMES, issuerCredentials: certs },
    expectAfterRollback: /restart every daprd with: export DAPR_TRUST_ANCHORS=/,
  };
});
