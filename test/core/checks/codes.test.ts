/**
 * Every finding code is raised by a bundle built to fail exactly that check (with the exact set of
 * findings it causes, in chain order), and a healthy bundle raises none. Both key algorithms.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChecks, type Finding, type FindingCode } from '../../../src/core/checks/index.js';
import {
  buildBundle, withChainOutOfOrder, withDuplicateAnchor, withExpiredIssuer, withExpiredRoot, withExpiresIn,
  withExtKeyUsages, withExtraRoot, withForeignRoot, withIssuerOutlivingRoot, withLegacyProfile, withMismatchedKey,
  withNonCaIssuer, withNonSelfSignedAnchor, withNotYetValid, withPathLen, withShortIssuer, type KitKeyAlgorithm,
  type Modifier,
} from '../../support/bundles.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface Case {
  code: FindingCode;
  subject: string;
  /** Dapr's own wording, where it has one, must appear in the message. */
  text?: string;
  modifiers: Modifier[];
  /** All codes the bundle raises, in order. */
  all: FindingCode[];
}

const CASES: Case[] = [
  {
    code: 'ERR_ANCHOR_NOT_SELF_SIGNED', subject: 'root#2 O=cluster.local, CN=sub-ca', text: 'certificate in trust anchor is not self-signed',
    modifiers: [withNonSelfSignedAnchor()], all: ['ERR_ANCHOR_NOT_SELF_SIGNED', 'INFO_MULTI_ROOT'],
  },
  {
    code: 'WARN_ANCHOR_DUPLICATE', subject: 'root#2 O=cluster.local',
    modifiers: [withDuplicateAnchor()], all: ['WARN_ANCHOR_DUPLICATE', 'INFO_MULTI_ROOT'],
  },
  {
    code: 'ERR_CHAIN_ORDER', subject: 'issuer', text: 'certificate chain is not valid',
    // issuer.key is the issuer's, but issuer.crt now starts with the intermediate.
    modifiers: [withChainOutOfOrder()], all: ['ERR_CHAIN_ORDER', 'ERR_BUNDLE_KEY_MISMATCH'],
  },
  {
    code: 'ERR_ISSUER_NOT_CA', subject: 'issuer',
    modifiers: [withNonCaIssuer()], all: ['ERR_ISSUER_NOT_CA'],
  },
  {
    code: 'ERR_BUNDLE_KEY_MISMATCH', subject: 'issuer.key', text: 'issuer key does not match issuer certificate',
    modifiers: [withMismatchedKey()], all: ['ERR_BUNDLE_KEY_MISMATCH'],
  },
  {
    code: 'ERR_ISSUER_NOT_FROM_ANCHORS', subject: 'issuer', text: 'issuer chain does not belong to trust anchors',
    modifiers: [withForeignRoot()], all: ['ERR_ISSUER_NOT_FROM_ANCHORS'],
  },
  {
    code: 'ERR_PATH_LEN_EXCEEDED', subject: 'root O=cluster.local',
    modifiers: [withPathLen('root', 0)], all: ['ERR_PATH_LEN_EXCEEDED'],
  },
  {
    code: 'ERR_EKU_NOT_SERVER_AUTH', subject: 'issuer', text: 'x509: certificate specifies an incompatible key usage',
    modifiers: [withExtKeyUsages('issuer', [CLIENT_AUTH])], all: ['ERR_EKU_NOT_SERVER_AUTH'],
  },
  {
    code: 'ERR_NOT_YET_VALID', subject: 'issuer',
    modifiers: [withNotYetValid()], all: ['ERR_NOT_YET_VALID'],
  },
  {
    code: 'WARN_ANCHOR_NOT_YET_VALID', subject: 'root#1 O=cluster.local',
    modifiers: [withExtraRoot(), withNotYetValid('root')], all: ['WARN_ANCHOR_NOT_YET_VALID', 'INFO_MULTI_ROOT'],
  },
  {
    code: 'ERR_ROOT_EXPIRED', subject: 'root O=cluster.local',
    modifiers: [withExpiredRoot()], all: ['ERR_ROOT_EXPIRED', 'WARN_ISSUER_OUTLIVES_ROOT'],
  },
  {
    code: 'WARN_ROOT_EXPIRING', subject: 'root O=cluster.local',
    modifiers: [withExpiresIn(10 * DAY, 'root')], all: ['WARN_ROOT_EXPIRING', 'WARN_ISSUER_OUTLIVES_ROOT'],
  },
  {
    code: 'WARN_ANCHOR_EXPIRED', subject: 'root#1 O=cluster.local',
    modifiers: [withExtraRoot(), withExpiredRoot()], all: ['WARN_ANCHOR_EXPIRED', 'INFO_MULTI_ROOT'],
  },
  {
    code: 'ERR_ISSUER_EXPIRED', subject: 'issuer',
    modifiers: [withExpiredIssuer()], all: ['ERR_ISSUER_EXPIRED'],
  },
  {
    code: 'WARN_ISSUER_EXPIRING', subject: 'issuer',
    modifiers: [withExpiresIn(10 * DAY)], all: ['WARN_ISSUER_EXPIRING'],
  },
  {
    code: 'WARN_ISSUER_OUTLIVES_ROOT', subject: 'issuer',
    modifiers: [withIssuerOutlivingRoot()], all: ['WARN_ISSUER_OUTLIVES_ROOT'],
  },
  {
    code: 'WARN_ISSUER_SHORTER_THAN_TTL', subject: 'issuer',
    modifiers: [withShortIssuer()], all: ['WARN_ISSUER_EXPIRING', 'WARN_ISSUER_SHORTER_THAN_TTL'],
  },
  {
    code: 'WARN_LEGACY_PROFILE', subject: 'root CN=cluster.local, O=dapr.io/sentry',
    modifiers: [withLegacyProfile()], all: ['WARN_LEGACY_PROFILE'],
  },
  {
    code: 'INFO_MULTI_ROOT', subject: 'root#2 O=cluster.local',
    modifiers: [withExtraRoot()], all: ['INFO_MULTI_ROOT'],
  },
];

const codes = (findings: Finding[]): string[] => findings.map((f) => f.code);
const ALGORITHMS: KitKeyAlgorithm[] = ['ecdsa-p256', 'ed25519'];

for (const keyAlgorithm of ALGORITHMS) {
  describe(`finding codes (${keyAlgorithm})`, () => {
    it('a healthy bundle has no findings at all', async () => {
      const { bundle } = await buildBundle({ now: NOW, keyAlgorithm });
      assert.deepEqual(runChecks(bundle, NOW), []);
    });

    for (const c of CASES) {
      it(`${c.code} is raised by a bundle built to fail it`, async () => {
        const { bundle } = await buildBundle({ now: NOW, keyAlgorithm }, ...c.modifiers);
        const findings = runChecks(bundle, NOW);
        assert.deepEqual(codes(findings), c.all);
        const hit = findings.find((f) => f.code === c.code);
        assert.ok(hit);
        assert.equal(hit.subject, c.subject);
        const expected = c.code.startsWith('ERR_') ? 'error' : c.code.startsWith('WARN_') ? 'warning' : 'info';
        assert.equal(hit.severity, expected);
        if (c.text) assert.ok(hit.message.includes(c.text), hit.message);
        assert.ok(hit.message.length > 40, 'the message says what to do');
      });
    }
  });
}
