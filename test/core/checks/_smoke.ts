import { buildBundle, buildLeaf, withPathLen } from '../../support/bundles.js';
import { opensslVerify, opensslText } from '../../support/openssl.js';
const now = new Date('2030-06-01T12:00:00.500Z');
for (const alg of ['ecdsa-p256', 'ed25519'] as const) {
  const b = await buildBundle({ now, keyAlgorithm: alg });
  const leaf = await buildLeaf(b, { now });
  console.log(opensslVerify({ anchorsPem: b.texts.ca, untrustedPem: b.texts.issuerCert, leafPem: leaf.pem, attime: now }));
  const p = await buildBundle({ now, keyAlgorithm: alg }, withPathLen('root', 0));
  const leaf2 = await buildLeaf(p, { now });
  console.log(opensslVerify({ anchorsPem: p.texts.ca, untrustedPem: p.texts.issuerCert, leafPem: leaf2.pem, attime: now }));
  if (alg === 'ed25519') console.log(opensslText(leaf.pem));
}
