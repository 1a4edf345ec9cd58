/**
 * Validate what you issue (spire `pkg/server/ca/ca.go`; issue 12 item 8): before a bundle is used,
 * at start-up and on every reload, the sentry signs one throw-away leaf for a fixed canary identity
 * with the same WorkloadSigner code the requests use, and verifies it with OpenSSL (node:crypto's
 * X509Certificate, independent of Warden's own DER parser and of the check chain): the leaf's
 * identity and key, each signature and issuer link up the chain to one trust anchor, and every
 * certificate's validity now.
 *
 * What it catches that the checks cannot: a bundle whose certificates are all right but whose
 * issuer.key does not produce signatures the issuer certificate verifies — e.g. an EC key file whose
 * embedded public point is the certificate's while its private scalar is another key's (the key
 * match compares public halves only; OpenSSL does not check the pair on import), or an RSA key
 * whose private exponent and CRT values were corrupted. Such a bundle would make the sentry hand
 * out certificates no client can verify. Once per load, never per request.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import type { TrustBundle } from '../core/bundle.js';
import { WardenError } from '../core/errors.js';
import { decodePemBlocks } from '../core/pem.js';
import { WorkloadSigner } from '../core/sign.js';

/** The identity of the canary leaf (never sent anywhere). */
export const CANARY_SPIFFE_ID = 'spiffe://public/ns/default/warden-canary';

const LEAF_NOT_SIGNED = 'the leaf\'s signature does not verify with the issuer certificate\'s key (is issuer.key the private key of issuer.crt?)';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface CanaryPolicy {
  workloadTtlMs: number;
  clockSkewMs: number;
}

/**
 * Signs and verifies the canary leaf at `now`; throws `ERR_BUNDLE_CANARY_FAILED` naming what does
 * not verify. `sign` is a test seam (default: `WorkloadSigner.signSync`).
 */
export function verifyCanaryLeaf(
  bundle: TrustBundle,
  now: Date,
  policy: CanaryPolicy,
  sign: (signer: WorkloadSigner, req: Parameters<WorkloadSigner['signSync']>[0]) => { chainPem: string } = (signer, req) => signer.signSync(req),
): void {
  const { publicKey } = generateKeyPairSync('ed25519');
  const signer = new WorkloadSigner(bundle, { clock: { now: () => now }, workloadTtlMs: policy.workloadTtlMs, clockSkewMs: policy.clockSkewMs });
  let problem: string | undefined;
  try {
    const { chainPem } = sign(signer, { publicKey, spiffeId: CANARY_SPIFFE_ID, at: now });
    problem = chainProblem(chainPem, bundle, now, publicKey.export({ format: 'der', type: 'spki' }));
  } catch (err) {
    problem = `signing it failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (problem !== undefined) {
    throw new WardenError('ERR_BUNDLE_CANARY_FAILED', `a test certificate signed with this bundle does not verify against its trust anchors: ${problem}`);
  }
}

function chainProblem(chainPem: string, bundle: TrustBundle, now: Date, canarySpki: Buffer): string | undefined {
  const chain = decodePemBlocks(chainPem).map((block) => new X509Certificate(block.der));
  const leaf = chain[0];
  if (leaf === undefined) return 'no certificate was issued';
  if (leaf.subjectAltName !== `URI:${CANARY_SPIFFE_ID}`) return `the leaf names ${leaf.subjectAltName ?? 'nothing'}, not ${CANARY_SPIFFE_ID}`;
  if (!leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(canarySpki)) return 'the leaf does not carry the requested public key';
  const usages = leaf.keyUsage ?? [];
  if (!usages.includes(SERVER_AUTH) || !usages.includes(CLIENT_AUTH)) return 'the leaf is not valid for serverAuth and clientAuth';
  // Whole seconds: certificate times have no milliseconds.
  const at = Math.floor(now.getTime() / 1000) * 1000;
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const name = i === 0 ? 'the leaf' : `issuer.crt certificate ${i} (${cert.subject.replaceAll('\n', ', ')})`;
    const expired = validityProblem(cert, at);
    if (expired !== undefined) return `${name} ${expired}`;
    const parent = chain[i + 1];
    if (parent !== undefined) {
      if (!issuedBy(cert, parent, i === 0)) {
        return i === 0 ? LEAF_NOT_SIGNED : `${name} is not signed by the next certificate in issuer.crt`;
      }
      continue;
    }
    // Any anchor that signed it and is valid now will do (a same-key renewed root may sit beside
    // its expired predecessor in ca.crt), as in Go's path building.
    const signers = bundle.anchors.map((a) => new X509Certificate(a.der)).filter((a) => issuedBy(cert, a, i === 0));
    if (signers.length === 0) return i === 0 ? LEAF_NOT_SIGNED : `${name} is not signed by any certificate in ca.crt`;
    if (!signers.some((a) => validityProblem(a, at) === undefined)) {
      return `the trust anchor ${signers[0]!.subject.replaceAll('\n', ', ')} ${validityProblem(signers[0]!, at)!}`;
    }
  }
  return undefined;
}

/**
 * `child` names `parent` as its issuer and verifies with its key. The leaf, which Warden made, must
 * also pass OpenSSL's full issuer test (checkIssued: names, key identifiers, the parent's key usage);
 * links inside the operator's bundle are held to what Go checks (name and signature: Go does not
 * require the authority key identifier to match), so the canary never refuses a bundle Dapr accepts
 * for a reason Go ignores. The check chain judges those links in detail.
 */
function issuedBy(child: X509Certificate, parent: X509Certificate, leaf: boolean): boolean {
  const named = leaf ? child.checkIssued(parent) : child.issuer === parent.subject;
  return named && child.verify(parent.publicKey);
}

function validityProblem(cert: X509Certificate, atMs: number): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!(from <= atMs)) return `is not valid before ${cert.validFrom}`;
  if (!(atMs <= to)) return `expired at ${cert.validTo}`;
  return undefined;
}
