/**
 * Time-based checks at their exact boundaries, with a fixed `now` moved around one bundle: the
 * warning windows, expiry, NotBefore, the outlive tolerance and the workload-TTL rule.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { TrustBundle } from '../../../src/core/bundle.js';
import { OUTLIVE_TOLERANCE_MS } from '../../../src/core/checks/lifetimes.js';
import { runChecks, type CheckPolicy, type Finding } from '../../../src/core/checks/index.js';
import {
  buildBundle, withExpiredIssuer, withExpiresIn, withIntermediate, withIssuerOutlivingRoot, withNotYetValid,
} from '../../support/bundles.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;
const MIN = 60 * 1000;

const at = (base: Date, offsetMs: number): Date => new Date(base.getTime() + offsetMs);
const codesAt = (bundle: TrustBundle, now: Date, policy?: CheckPolicy): string[] => runChecks(bundle, now, policy).map((f) => f.code);
const findingAt = (bundle: TrustBundle, now: Date, code: string, policy?: CheckPolicy): Finding | undefined =>
  runChecks(bundle, now, policy).find((f) => f.code === code);

describe('root and issuer expiry windows', () => {
  let bundle: TrustBundle;
  let rootEnd: Date;
  let issuerEnd: Date;
  before(async () => {
    // The issuer ends 60 days before the root so the two windows can be told apart.
    ({ bundle } = await buildBundle({ now: NOW }, withExpiresIn(300 * DAY)));
    rootEnd = bundle.anchors[0]!.notAfter;
    issuerEnd = bundle.issuer.notAfter;
    assert.ok(rootEnd.getTime() - issuerEnd.getTime() > 60 * DAY);
  });

  it('warns about the root from 30 d − 1 ms before its NotAfter, not at 30 d or 30 d + 1 ms', () => {
    assert.ok(!codesAt(bundle, at(rootEnd, -(30 * DAY + 1))).includes('WARN_ROOT_EXPIRING'));
    assert.ok(!codesAt(bundle, at(rootEnd, -30 * DAY)).includes('WARN_ROOT_EXPIRING'));
    assert.ok(codesAt(bundle, at(rootEnd, -(30 * DAY - 1))).includes('WARN_ROOT_EXPIRING'));
  });

  it('calls the root expired 1 ms after NotAfter, not at it', () => {
    assert.deepEqual(
      codesAt(bundle, rootEnd).filter((c) => c.includes('ROOT')),
      ['WARN_ROOT_EXPIRING'],
    );
    assert.deepEqual(codesAt(bundle, at(rootEnd, 1)).filter((c) => c.includes('ROOT')), ['ERR_ROOT_EXPIRED']);
  });

  it('warns about the issuer with the same boundaries', () => {
    assert.deepEqual(codesAt(bundle, at(issuerEnd, -(30 * DAY + 1))), []);
    assert.deepEqual(codesAt(bundle, at(issuerEnd, -(30 * DAY - 1))), ['WARN_ISSUER_EXPIRING']);
    assert.ok(codesAt(bundle, issuerEnd).includes('WARN_ISSUER_EXPIRING'));
    assert.ok(codesAt(bundle, at(issuerEnd, 1)).includes('ERR_ISSUER_EXPIRED'));
  });

  it('takes the window from the policy', () => {
    const policy = { warnWithinMs: 90 * DAY };
    assert.deepEqual(codesAt(bundle, at(issuerEnd, -(90 * DAY))), []);
    assert.deepEqual(codesAt(bundle, at(issuerEnd, -(90 * DAY - 1)), policy), ['WARN_ISSUER_EXPIRING']);
  });

  it('phrases the time left as days and hours, and the date as Go prints it', () => {
    const finding = findingAt(bundle, at(issuerEnd, -(10 * DAY + 5 * HOUR + 30 * MIN)), 'WARN_ISSUER_EXPIRING');
    assert.ok(finding?.message.includes('in 10 days and 5 hours'), finding?.message);
    assert.ok(finding?.message.includes(`${issuerEnd.toISOString().slice(0, 10)} ${issuerEnd.toISOString().slice(11, 19)} +0000 UTC`));
    assert.ok(finding?.message.includes('warden mtls rotate'), 'the remedy doctor gives too (checks/remedies.ts)');
  });
});

describe('NotBefore', () => {
  it('is an error until NotBefore and fine from it on', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withNotYetValid('issuer', 2 * HOUR));
    const start = bundle.issuer.notBefore;
    assert.deepEqual(codesAt(bundle, at(start, -1)), ['ERR_NOT_YET_VALID']);
    assert.deepEqual(codesAt(bundle, start), []);
  });

  it('applies to the root the issuer chains to as well', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withNotYetValid('root'));
    assert.deepEqual(runChecks(bundle, NOW).map((f) => `${f.code} @ ${f.subject}`), ['ERR_NOT_YET_VALID @ root O=cluster.local']);
  });

  it('hints at clock skew when the gap is within the allowed skew, and not beyond it', async () => {
    const { bundle: close } = await buildBundle({ now: NOW }, withNotYetValid('issuer', 10 * MIN));
    assert.match(findingAt(close, NOW, 'ERR_NOT_YET_VALID')?.message ?? '', /clock skew \(15m0s\)/);
    const { bundle: far } = await buildBundle({ now: NOW }, withNotYetValid('issuer', HOUR));
    assert.doesNotMatch(findingAt(far, NOW, 'ERR_NOT_YET_VALID')?.message ?? '', /clock skew/);
    assert.match(findingAt(far, NOW, 'ERR_NOT_YET_VALID', { clockSkewMs: 2 * HOUR })?.message ?? '', /clock skew/);
  });
});

describe('WARN_ISSUER_OUTLIVES_ROOT', () => {
  it('tolerates the second or so by which Dapr-made issuers may outlive their root', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withIssuerOutlivingRoot(OUTLIVE_TOLERANCE_MS));
    assert.equal(bundle.issuer.notAfter.getTime() - bundle.anchors[0]!.notAfter.getTime(), OUTLIVE_TOLERANCE_MS);
    assert.deepEqual(runChecks(bundle, NOW), []);
  });

  it('warns one second past the tolerance, naming both dates', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withIssuerOutlivingRoot(OUTLIVE_TOLERANCE_MS + 1000));
    const findings = runChecks(bundle, NOW);
    assert.deepEqual(findings.map((f) => f.code), ['WARN_ISSUER_OUTLIVES_ROOT']);
    assert.equal(findings[0]?.severity, 'warning');
    assert.ok(findings[0]?.message.includes('root O=cluster.local'));
  });
});

describe('WARN_ISSUER_SHORTER_THAN_TTL', () => {
  it('warns once less than one workload TTL is left, not at exactly one TTL', async () => {
    const { bundle } = await buildBundle({ now: NOW });
    const end = bundle.issuer.notAfter;
    assert.ok(!codesAt(bundle, at(end, -DAY)).includes('WARN_ISSUER_SHORTER_THAN_TTL'));
    assert.ok(codesAt(bundle, at(end, -DAY + 1)).includes('WARN_ISSUER_SHORTER_THAN_TTL'));
  });

  it('uses the TTL from the policy', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withExpiresIn(3 * HOUR));
    assert.ok(codesAt(bundle, NOW).includes('WARN_ISSUER_SHORTER_THAN_TTL'));
    assert.ok(!codesAt(bundle, NOW, { workloadTtlMs: 2 * HOUR }).includes('WARN_ISSUER_SHORTER_THAN_TTL'));
  });

  it('leaves an already expired issuer to ERR_ISSUER_EXPIRED', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withExpiredIssuer());
    assert.deepEqual(codesAt(bundle, NOW), ['ERR_ISSUER_EXPIRED']);
  });

  it('blames an intermediate that ends before the issuer', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withIntermediate(), withExpiresIn(2 * HOUR, 'intermediate'));
    const finding = findingAt(bundle, NOW, 'WARN_ISSUER_SHORTER_THAN_TTL');
    assert.equal(finding?.subject, 'intermediate#1 O=cluster.local, CN=intermediate');
    assert.ok(finding?.message.includes('24h0m0s'));
  });
});
