/**
 * The chain as a whole: findings come in chain order, checks never throw on a parsed bundle (a
 * failing check becomes a finding), severities match code prefixes, codes are registered, and the
 * only clock is the `now` argument.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CHECKS, FINDING_CODES, assertNoErrors, hasErrors, runChecks, type Check, type Finding,
} from '../../../src/core/checks/index.js';
import { ERROR_CODES, isWardenError } from '../../../src/core/errors.js';
import {
  buildBundle, withChainOutOfOrder, withDuplicateAnchor, withExpiredIssuer, withExpiredRoot, withExtKeyUsages,
  withExtraRoot, withForeignRoot, withIntermediate, withIssuerOutlivingRoot, withLegacyProfile, withMismatchedKey,
  withNonCaIssuer, withNonSelfSignedAnchor, withNotYetValid, withPathLen, withShortIssuer, withTrailingRoot,
  type Modifier,
} from '../../support/bundles.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');

describe('runChecks', () => {
  it('reports findings in chain order, whatever order the problems were made in', async () => {
    const { bundle } = await buildBundle({ now: NOW },
      withExpiredIssuer(), withMismatchedKey(), withDuplicateAnchor(), withNonSelfSignedAnchor());
    assert.deepEqual(runChecks(bundle, NOW).map((f) => `${f.code} @ ${f.subject}`), [
      'ERR_ANCHOR_NOT_SELF_SIGNED @ root#3 O=cluster.local, CN=sub-ca',
      'WARN_ANCHOR_DUPLICATE @ root#2 O=cluster.local',
      'ERR_BUNDLE_KEY_MISMATCH @ issuer.key',
      'ERR_ISSUER_EXPIRED @ issuer',
      'INFO_MULTI_ROOT @ root#1 O=cluster.local',
    ]);
  });

  it('equals the concatenation of each check run alone, in CHECKS order', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withExpiredRoot(), withNonCaIssuer(), withLegacyProfile(), withExtraRoot());
    const oneByOne = CHECKS.flatMap((check) => runChecks(bundle, NOW, {}, [check]));
    assert.ok(oneByOne.length >= 3);
    assert.deepEqual(runChecks(bundle, NOW), oneByOne);
  });

  it('lists each check once, each with a name', () => {
    const names = CHECKS.map((c) => c.name);
    assert.ok(names.every((n) => /^check[A-Z]\w+$/.test(n)), names.join(','));
    assert.equal(new Set(names).size, names.length);
  });

  it('turns a check that throws into ERR_BUNDLE_INVALID naming it, and carries on', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withExpiredIssuer());
    const checkExplodes: Check = () => { throw new Error('boom'); };
    const findings = runChecks(bundle, NOW, {}, [checkExplodes, ...CHECKS]);
    assert.deepEqual(findings.map((f) => f.code), ['ERR_BUNDLE_INVALID', 'ERR_ISSUER_EXPIRED']);
    assert.equal(findings[0]?.subject, 'bundle');
    assert.match(findings[0]?.message ?? '', /checkExplodes could not run: boom/);
  });

  it('reads the time only from `now` (these certificates are years away from the wall clock)', async () => {
    const { bundle } = await buildBundle({ now: NOW });
    assert.deepEqual(runChecks(bundle, NOW), []);
    const before = new Date(bundle.issuer.notBefore.getTime() - 1);
    assert.deepEqual(runChecks(bundle, before).map((f) => f.code), ['ERR_NOT_YET_VALID', 'ERR_NOT_YET_VALID']);
  });

  it('is pure: the same inputs give the same findings and the bundle is untouched', async () => {
    const { bundle, texts } = await buildBundle({ now: NOW }, withChainOutOfOrder(), withExtraRoot());
    const first = runChecks(bundle, NOW);
    assert.deepEqual(runChecks(bundle, NOW), first);
    assert.equal(bundle.toTexts().ca, texts.ca);
    assert.equal(bundle.toTexts().issuerCert, texts.issuerCert);
  });
});

describe('codes and severities', () => {
  const MODIFIERS: Array<[string, () => Modifier]> = [
    ['withExpiredIssuer', withExpiredIssuer], ['withExpiredRoot', withExpiredRoot], ['withForeignRoot', withForeignRoot],
    ['withMismatchedKey', withMismatchedKey], ['withNonCaIssuer', withNonCaIssuer], ['withChainOutOfOrder', withChainOutOfOrder],
    ['withNotYetValid', () => withNotYetValid()], ['withIssuerOutlivingRoot', () => withIssuerOutlivingRoot()],
    ['withShortIssuer', () => withShortIssuer()], ['withExtraRoot', withExtraRoot], ['withNonSelfSignedAnchor', withNonSelfSignedAnchor],
    ['withDuplicateAnchor', withDuplicateAnchor], ['withTrailingRoot', withTrailingRoot], ['withIntermediate', withIntermediate],
    ['withLegacyProfile', withLegacyProfile], ['rootPathLen0', () => withPathLen('root', 0)],
    ['issuerClientAuthOnly', () => withExtKeyUsages('issuer', ['1.3.6.1.5.5.7.3.2'])],
  ];

  it('never throws and never fails internally on any pair of broken-bundle modifiers; severities match code prefixes', async () => {
    const known = new Set<string>([...ERROR_CODES, ...FINDING_CODES]);
    const seen = new Set<string>();
    for (let i = 0; i < MODIFIERS.length; i++) {
      for (let j = i; j < MODIFIERS.length; j++) {
        const [a, makeA] = MODIFIERS[i]!;
        const [b, makeB] = MODIFIERS[j]!;
        const { bundle } = await buildBundle({ now: NOW }, makeA(), makeB());
        const findings: Finding[] = runChecks(bundle, NOW);
        for (const f of findings) {
          seen.add(f.code);
          assert.notEqual(f.code, 'ERR_BUNDLE_INVALID', `${a}+${b}: ${f.message}`);
          assert.ok(known.has(f.code), f.code);
          const prefix = { error: 'ERR_', warning: 'WARN_', info: 'INFO_' }[f.severity];
          assert.ok(f.code.startsWith(prefix), `${f.code} is ${f.severity}`);
          assert.ok(f.subject.length > 0 && f.message.length > 0);
        }
      }
    }
    assert.ok(seen.size >= 15, [...seen].join(','));
  });

  it('keeps warnings and infos out of ERROR_CODES and errors out of FINDING_CODES', () => {
    assert.ok(FINDING_CODES.every((c) => /^(WARN|INFO)_/.test(c)));
    assert.ok(!FINDING_CODES.some((c) => (ERROR_CODES as readonly string[]).includes(c)));
  });
});

describe('hasErrors / assertNoErrors', () => {
  it('ignores warnings and infos', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withExtraRoot(), withShortIssuer());
    const findings = runChecks(bundle, NOW);
    assert.ok(findings.length >= 2);
    assert.equal(hasErrors(findings), false);
    assert.doesNotThrow(() => assertNoErrors(findings));
  });

  it('throws a WardenError with the first error code, listing every error', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withMismatchedKey(), withExpiredIssuer(), withExtraRoot());
    const findings = runChecks(bundle, NOW);
    assert.equal(hasErrors(findings), true);
    assert.throws(() => assertNoErrors(findings), (err: unknown) => {
      assert.ok(isWardenError(err, 'ERR_BUNDLE_KEY_MISMATCH'));
      assert.match(err.message, /^issuer\.key: issuer key does not match/);
      assert.match(err.message, /\nissuer: The issuer certificate expired/);
      assert.doesNotMatch(err.message, /trust anchors;/); // the INFO finding is not an error
      return true;
    });
  });
});
