/**
 * x509-limbo path-validation testcases (test/vectors/x509-limbo, Apache-2.0) mapped onto Warden's
 * chain verification. The adapter plays the part of a peer handing Warden a served chain:
 *
 *  - trusted_certs are the trust anchors; like Warden's anchors file they load all-or-nothing, so
 *    a trusted certificate Warden cannot parse refuses the case;
 *  - the peer certificate is the leaf; untrusted_intermediates are the pool the served chain is
 *    drawn from. Warden verifies a chain in the order it is served (as daprd receives it from the
 *    sentry), so the adapter enumerates the orders a server could serve (each link chosen by
 *    issuer name, depth-first, bounded by MAX_DEPTH and MAX_ATTEMPTS, not extending a chain one
 *    of whose own links already fails) and the case succeeds when one of them passes;
 *  - a served chain passes when `verifyChainToAnchors` (src/sidecar-client/verify-chain.ts) accepts it
 *    and, when it has CA certificates below the anchor, the trust-bundle check chain
 *    (src/core/checks) finds no error in those CAs taken as issuer.crt over the anchors.
 *
 * Cases for features Warden does not implement are listed, with the reason, in the vendored file's
 * `skipped` list (make-subset.py); DIVERGENCES below lists the cases Warden answers differently.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { parseCertificatesPem, type Certificate } from '../../src/core/certificate.js';
import {
  checkChainOrder, checkExtKeyUsage, checkIssuerExpiry, checkIssuerFromAnchors, checkIssuerIsCa, checkNotYetValid,
  checkPathLength, checkRootExpiry, runChecks,
} from '../../src/core/checks/index.js';
import { verifyChainToAnchors } from '../../src/sidecar-client/verify-chain.js';

interface LimboCase {
  id: string;
  description: string;
  features: string[] | null;
  validation_kind: 'SERVER' | 'CLIENT';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  extended_key_usage: string[];
  expected_result: 'SUCCESS' | 'FAILURE';
  max_chain_depth: number | null;
}
interface LimboSubset {
  upstream_commit: string;
  skipped: Array<{ id: string; reason: string }>;
  not_generated: Array<{ id: string; reason: string }>;
  testcases: LimboCase[];
}

const subset = JSON.parse(readFileSync(new URL('../vectors/x509-limbo/limbo-subset.json', import.meta.url), 'utf8')) as LimboSubset;

/** Limbo leaves validation_time unset when any time inside the certificates' 1970–2969 validity will do. */
const DEFAULT_NOW = new Date('2026-06-01T00:00:00Z');
const MAX_DEPTH = 10;
const MAX_ATTEMPTS = 500;

/** The CA-side checks that apply to an arbitrary PKI (the Dapr-specific ones — self-signed anchors, issuer key, lifetimes, profile — do not). */
const CA_CHECKS = [checkChainOrder, checkIssuerIsCa, checkIssuerFromAnchors, checkPathLength, checkExtKeyUsage, checkNotYetValid, checkRootExpiry, checkIssuerExpiry];
/** TrustBundle wants an issuer key; no CA check above reads it. */
const UNUSED_ISSUER_KEY = generateKeyPairSync('ed25519').privateKey;

/**
 * Cases where Warden's answer differs from x509-limbo's expected result, and why that is right for
 * Warden. The test fails if one of these starts agreeing (remove it) or a new one appears.
 */
const DIVERGENCES: Record<string, string> = {
  'pathlen::self-issued-certs-pathlen':
    'Go (Dapr) counts self-issued intermediates toward pathLen (RFC 5280 §4.2.1.9 does not); Warden predicts what Dapr peers accept',
  'rfc5280::validity::notafter-fractional':
    'validity is compared at millisecond precision with inclusive bounds, as Go does; limbo marks the case ambiguous',
  'rfc5280::unknown-critical-extension-unrelated-root':
    'a trust-anchor file loads all-or-nothing and a certificate with an unknown critical extension is refused at parse time (fail closed)',
  'rfc5280::eku::ee-wrong-eku':
    'the served-chain check does not require a leaf EKU: Dapr peers verify SVIDs with any EKU (go-spiffe); CA-side EKUs are checked (ERR_EKU_NOT_SERVER_AUTH)',
  'rfc5280::leaf-ku-keycertsign':
    'a leaf asserting keyCertSign without CA:TRUE is accepted as a leaf (Go does too); it still cannot act as an issuer',
  'rfc5280::root-non-critical-basic-constraints':
    'BasicConstraints criticality is not enforced on anchors (Go and OpenSSL do not either); CA:TRUE itself is',
  'rfc5280::ca-empty-subject':
    'an empty CA subject is not refused (Go does not either); names are chained by exact DER, and an empty issuer name matches only an empty subject',
  'rfc5280::san::noncritical-with-empty-subject':
    'SAN criticality with an empty subject is an issuance-profile rule Go does not enforce; Warden issues its own leaves correctly',
  'webpki::forbidden-rsa-not-divisible-by-8-in-root':
    'Web PKI (CA/B Forum) key rule; Warden\'s key policy is RSA >= 2048 bits, as Dapr\'s',
};

type Verdict = { ok: true; path: string } | { ok: false; why: string };

function parseOne(pem: string): Certificate {
  return parseCertificatesPem(pem)[0] as Certificate;
}

function verdictOf(tc: LimboCase): Verdict {
  let anchors: Certificate[];
  let leaf: Certificate;
  try {
    anchors = tc.trusted_certs.map(parseOne);
    leaf = parseOne(tc.peer_certificate);
  } catch (err) {
    return { ok: false, why: `parse: ${(err as Error).message}` };
  }
  const pool: Certificate[] = [];
  for (const pem of tc.untrusted_intermediates) {
    try {
      pool.push(parseOne(pem));
    } catch {
      // A server would not serve a certificate Warden cannot read; leave it out of the pool.
    }
  }
  const now = tc.validation_time === null ? DEFAULT_NOW : new Date(tc.validation_time);
  let attempts = 0;
  let lastWhy = 'no chain to try';

  /** 'ok', or whether a longer chain through this one could still pass ('dead' when a link already in it fails). */
  const tryChain = (chain: Certificate[]): 'ok' | 'extend' | 'dead' => {
    attempts++;
    try {
      verifyChainToAnchors(chain, anchors, now);
    } catch (err) {
      const message = (err as Error).message;
      lastWhy = `verifyChainToAnchors: ${message}`;
      return /^certificate \d+ of the chain/.test(message) ? 'dead' : 'extend';
    }
    const cas = chain.slice(1).filter((c) => !anchors.some((a) => a.der.equals(c.der)));
    if (cas.length === 0) return 'ok';
    const errors = runChecks(new TrustBundle(anchors, cas, UNUSED_ISSUER_KEY), now, {}, CA_CHECKS).filter((f) => f.severity === 'error');
    if (errors.length === 0) return 'ok';
    lastWhy = `check chain: ${errors.map((f) => f.code).join(', ')}`;
    return 'extend';
  };

  const search = (chain: Certificate[]): Certificate[] | undefined => {
    if (attempts >= MAX_ATTEMPTS) return undefined;
    const result = tryChain(chain);
    if (result === 'ok') return chain;
    if (result === 'dead' || chain.length > MAX_DEPTH) return undefined;
    const last = chain.at(-1) as Certificate;
    for (const candidate of pool) {
      if (chain.includes(candidate) || !candidate.subject.der.equals(last.issuer.der)) continue;
      const found = search([...chain, candidate]);
      if (found) return found;
    }
    return undefined;
  };

  const found = search([leaf]);
  return found ? { ok: true, path: found.map((c) => c.subject.text || '(empty)').join(' <- ') } : { ok: false, why: lastWhy };
}

describe(`x509-limbo (upstream ${subset.upstream_commit.slice(0, 12)})`, () => {
  it('vendors the expected subset: cases run and cases skipped with a reason', () => {
    assert.equal(subset.testcases.length, 62);
    assert.equal(subset.skipped.length, 131);
    assert.ok(subset.skipped.every((s) => s.reason.length > 0));
    const run = new Set(subset.testcases.map((tc) => tc.id));
    assert.ok(subset.skipped.every((s) => !run.has(s.id)), 'no case is both run and skipped');
    const byReason = new Map<string, number>();
    for (const s of subset.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
    console.log(`x509-limbo: ${run.size} cases run, ${subset.skipped.length} skipped, ${subset.not_generated.length} not generated:\n` +
      [...byReason].map(([reason, n]) => `  ${n} × ${reason}`).join('\n'));
  });

  it('Warden agrees with every applicable case, except the documented divergences', () => {
    const mismatches: string[] = [];
    const divergedAsDocumented: string[] = [];
    for (const tc of subset.testcases) {
      const verdict = verdictOf(tc);
      const got = verdict.ok ? 'SUCCESS' : 'FAILURE';
      const detail = verdict.ok ? verdict.path : verdict.why;
      if (tc.id in DIVERGENCES) {
        if (got === tc.expected_result) mismatches.push(`${tc.id}: documented as a divergence but now agrees (${got}); remove it`);
        else divergedAsDocumented.push(tc.id);
      } else if (got !== tc.expected_result) {
        mismatches.push(`${tc.id}: expected ${tc.expected_result}, Warden ${got} (${detail})`);
      }
    }
    assert.deepEqual(mismatches, []);
    assert.deepEqual(divergedAsDocumented.sort(), Object.keys(DIVERGENCES).sort());
  });
});
