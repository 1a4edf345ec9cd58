/** `warden mtls renew-certificate -k -o json` (issue 13, rough edge 12): the cluster's outcome as JSON. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { clusterBundle, runRenewKInProcess, startCluster } from '../kube/renew-k-support.js';

describe('renew-certificate -k -o json (in-process, Kubernetes API test server)', () => {
  test('prints the Secret and ConfigMap written, the backup Secret, the kept key algorithm and the new dates; status lines on stderr', async (t) => {
    const c = await startCluster();
    t.after(() => c.server.close());
    const r = await runRenewKInProcess(c, ['-o', 'json', '--valid-until', '30']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      written: boolean; location: Record<string, string>; files: string[]; backup: string;
      keyAlgorithm: { value: string; changed: boolean; origin: string }; root: { sha256: string; notAfter: string };
    };
    assert.equal(out.written, true);
    assert.deepEqual(out.location, { namespace: 'dapr-system', secret: 'dapr-trust-bundle', configMap: 'dapr-trust-bundle' });
    assert.deepEqual(out.files, ['Secret dapr-system/dapr-trust-bundle', 'ConfigMap dapr-system/dapr-trust-bundle']);
    assert.match(out.backup, /dapr-trust-bundle-backup-\d{8}t\d{6}z/);
    assert.deepEqual([out.keyAlgorithm.changed, out.keyAlgorithm.origin], [false, 'kept from the current bundle']);
    const [root] = parseCertificatesPem(clusterBundle(c).secret.ca);
    assert.equal(out.root.notAfter, root!.notAfter.toISOString());
    assert.match(r.stderr, /^✅  Certificate rotation is successful!/m);
  });
});
