/**
 * Writes the differential fuzz's seed corpus (test material only): a P-256 and an Ed25519 trust
 * bundle's root and issuer, a workload leaf, and CSRs for every key algorithm, all made by Warden
 * itself. Committed as files because ECDSA signatures and fresh keys differ on every run, and the
 * fuzz must mutate the same bytes each time to be reproducible from its seed.
 *
 *   node --import tsx test/vectors/fuzz-seeds/make-seeds.ts
 */
import { writeFileSync } from 'node:fs';
import { generateTrustBundle } from '../../../src/core/bundle.js';
import { FixedClock } from '../../../src/core/clock.js';
import { createCsr, parseCsr } from '../../../src/core/csr.js';
import { generatePrivateKey } from '../../../src/core/keys.js';
import { WorkloadSigner } from '../../../src/core/sign.js';

const dir = new URL('./', import.meta.url);
const write = (name: string, der: Buffer) => writeFileSync(new URL(name, dir), der);

const clock = new FixedClock(new Date('2026-01-01T00:00:00Z'));
const ec = generateTrustBundle({ clock, trustDomain: 'fuzz.example', namespace: 'default', keyAlgorithm: 'ecdsa-p256' }).bundle;
const ed = generateTrustBundle({ clock, trustDomain: 'fuzz.example', namespace: 'default', keyAlgorithm: 'ed25519' }).bundle;
const csrs = Object.fromEntries((['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa'] as const).map((alg) => [alg, createCsr(generatePrivateKey(alg))]));
const signer = new WorkloadSigner(ec, { clock, workloadTtlMs: 3_600_000, clockSkewMs: 15 * 60 * 1000 });
const leaf = await signer.sign({ publicKey: parseCsr(csrs['ecdsa-p256']!).publicKey, spiffeId: 'spiffe://fuzz.example/ns/default/app', dnsNames: ['app.default.svc'] });

write('cert-root-p256.der', ec.root.der);
write('cert-issuer-p256.der', ec.issuer.der);
write('cert-issuer-ed25519.der', ed.issuer.der);
write('cert-leaf-p256.der', leaf.leafDer);
for (const [alg, der] of Object.entries(csrs)) write(`csr-${alg}.der`, der);
