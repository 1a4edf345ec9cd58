/**
 * The structural checks in detail: trailing roots, multi-root anchors, intermediates, CA flags,
 * path lengths and extended key usages, judged the way Dapr's Go verification judges them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveTrustPath, runChecks, type Finding } from '../../../src/core/checks/index.js';
import {
  buildBundle, caSpec, withChainOutOfOrder, withExpiredIssuer, withExtKeyUsages, withExtraRoot, withForeignRoot,
  withIntermediate, withPathLen, withTrailingRoot, type Modifier,
} from '../../support/bundles.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

async function check(...modifiers: Modifier[]): Promise<Finding[]> {
  const { bundle } = await buildBundle({ now: NOW }, ...modifiers);
  return runChecks(bundle, NOW);
}
const summary = (findings: Finding[]): string[] => findings.map((f) => `${f.code} @ ${f.subject}`);

describe('issuer.crt with a trailing root', () => {
  it('drops the root (TrustBundle.fromTexts) and raises nothing', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withTrailingRoot());
    assert.equal(bundle.issuerChain.length, 1);
    assert.deepEqual(runChecks(bundle, NOW), []);
  });

  it('works the same with an intermediate in between', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withIntermediate(), withTrailingRoot());
    assert.equal(bundle.issuerChain.length, 2);
    assert.deepEqual(runChecks(bundle, NOW), []);
  });

  it('still reports a trailing root that is not in ca.crt as foreign', async () => {
    const foreignTrailing: Modifier = (spec) => { spec.chain = ['issuer', 'foreignRoot']; };
    assert.deepEqual(summary(await check(withForeignRoot(), foreignTrailing)), ['ERR_ISSUER_NOT_FROM_ANCHORS @ issuer']);
  });
});

describe('multi-root anchors', () => {
  it('accepts an issuer from the second root and names that root', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withExtraRoot());
    const findings = runChecks(bundle, NOW);
    assert.deepEqual(summary(findings), ['INFO_MULTI_ROOT @ root#2 O=cluster.local']);
    assert.ok(findings[0]?.message.includes('ca.crt certificate #2'));
    assert.equal(resolveTrustPath(bundle)?.anchorIndex, 1);
  });

  it('names the first root when the issuer comes from it', async () => {
    const fromFirst: Modifier = (spec) => { spec.certs.issuer!.signer = 'root'; };
    assert.deepEqual(summary(await check(withExtraRoot(), fromFirst)), ['INFO_MULTI_ROOT @ root#1 O=cluster.local']);
  });

  it('tells roots with the same DN apart by signature (a foreign root with our DN is not ours)', async () => {
    const { bundle, certs } = await buildBundle({ now: NOW }, withForeignRoot());
    assert.equal(certs.foreignRoot?.spec.subject, certs.root?.spec.subject);
    assert.equal(resolveTrustPath(bundle), undefined);
  });
});

describe('intermediates', () => {
  it('a healthy issuer → intermediate → root chain raises nothing and resolves through the intermediate', async () => {
    const { bundle } = await buildBundle({ now: NOW }, withIntermediate());
    assert.deepEqual(runChecks(bundle, NOW), []);
    assert.deepEqual(resolveTrustPath(bundle)?.chainIndexes, [0, 1]);
  });

  it('an out-of-order chain is one ERR_CHAIN_ORDER, not also a foreign issuer (Go builds paths from a pool)', async () => {
    const findings = await check(withChainOutOfOrder());
    assert.ok(findings.some((f) => f.code === 'ERR_CHAIN_ORDER'));
    assert.ok(!findings.some((f) => f.code === 'ERR_ISSUER_NOT_FROM_ANCHORS'));
  });

  it('finds the path through a stray certificate in the middle of issuer.crt, as Go does', async () => {
    const stray: Modifier = (spec) => {
      spec.certs.stranger = caSpec(spec, 'O=cluster.local, CN=stranger', 'root');
      spec.chain = ['issuer', 'stranger', 'intermediate'];
    };
    const { bundle } = await buildBundle({ now: NOW }, withIntermediate(), stray);
    assert.deepEqual(resolveTrustPath(bundle)?.chainIndexes, [0, 2]);
    assert.deepEqual(summary(runChecks(bundle, NOW)), [
      'ERR_CHAIN_ORDER @ issuer',
      'ERR_CHAIN_ORDER @ intermediate#1 O=cluster.local, CN=stranger',
    ]);
  });

  it('reports an expired intermediate as ERR_ISSUER_EXPIRED on that intermediate', async () => {
    const expireIntermediate: Modifier = (spec) => {
      withExpiredIssuer()(spec);
      // Move the expiry from the issuer to the intermediate.
      const issuer = spec.certs.issuer!;
      const intermediate = spec.certs.intermediate!;
      [issuer.notBefore, issuer.notAfter, intermediate.notBefore, intermediate.notAfter] =
        [intermediate.notBefore, intermediate.notAfter, issuer.notBefore, issuer.notAfter];
    };
    assert.deepEqual(summary(await check(withIntermediate(), expireIntermediate)),
      ['ERR_ISSUER_EXPIRED @ intermediate#1 O=cluster.local, CN=intermediate']);
  });

  it('requires every intermediate to be a CA', async () => {
    const nonCa: Modifier = (spec) => { spec.certs.intermediate!.ca = false; };
    assert.deepEqual(summary(await check(withIntermediate(), nonCa)),
      ['ERR_ISSUER_NOT_CA @ intermediate#1 O=cluster.local, CN=intermediate']);
  });
});

describe('signatures, not just names', () => {
  it('ERR_ANCHOR_NOT_SELF_SIGNED for an anchor whose issuer name is its own but whose signature is another key\'s', async () => {
    const impostor: Modifier = (spec) => {
      spec.certs.impostor = caSpec(spec, 'O=cluster.local', 'root');
      spec.anchors = ['root', 'impostor'];
    };
    assert.deepEqual(summary(await check(impostor)), [
      'ERR_ANCHOR_NOT_SELF_SIGNED @ root#2 O=cluster.local',
      'INFO_MULTI_ROOT @ root#1 O=cluster.local',
    ]);
  });

  it('ERR_CHAIN_ORDER when the next certificate has the right name but another key', async () => {
    const twin: Modifier = (spec) => {
      spec.certs.twin = caSpec(spec, spec.certs.intermediate!.subject, 'root');
      spec.chain = ['issuer', 'twin'];
    };
    assert.deepEqual(summary(await check(withIntermediate(), twin)), [
      'ERR_CHAIN_ORDER @ issuer',
      'ERR_ISSUER_NOT_FROM_ANCHORS @ issuer',
    ]);
  });
});

describe('ERR_ISSUER_NOT_CA', () => {
  it('rejects a CA issuer whose KeyUsage lacks keyCertSign', async () => {
    const noCertSign: Modifier = (spec) => { spec.certs.issuer!.keyUsages = 1; /* digitalSignature */ };
    const findings = await check(noCertSign);
    assert.deepEqual(summary(findings), ['ERR_ISSUER_NOT_CA @ issuer']);
    assert.ok(findings[0]?.message.includes('keyCertSign'));
  });

  it('rejects an issuer with no BasicConstraints at all', async () => {
    const noBc: Modifier = (spec) => { spec.certs.issuer!.ca = undefined; };
    assert.deepEqual(summary(await check(noBc)), ['ERR_ISSUER_NOT_CA @ issuer']);
  });

  it('accepts a CA issuer without a KeyUsage extension', async () => {
    const noKu: Modifier = (spec) => { spec.certs.issuer!.keyUsages = undefined; };
    assert.deepEqual(await check(noKu), []);
  });
});

describe('ERR_PATH_LEN_EXCEEDED (what workload chains need, spec 2.7 note)', () => {
  it('allows pathLen 0 on the issuer: it signs only leaves', async () => {
    assert.deepEqual(await check(withPathLen('issuer', 0)), []);
  });

  it('needs pathLen >= 1 on an intermediate above the issuer', async () => {
    assert.deepEqual(summary(await check(withIntermediate(), withPathLen('intermediate', 0))),
      ['ERR_PATH_LEN_EXCEEDED @ intermediate#1 O=cluster.local, CN=intermediate']);
    assert.deepEqual(await check(withIntermediate(), withPathLen('intermediate', 1)), []);
  });

  it('needs pathLen >= 2 on a root above issuer and intermediate', async () => {
    assert.deepEqual(summary(await check(withIntermediate(), withPathLen('root', 1))), ['ERR_PATH_LEN_EXCEEDED @ root O=cluster.local']);
    assert.deepEqual(await check(withIntermediate(), withPathLen('root', 2)), []);
  });
});

describe('ERR_EKU_NOT_SERVER_AUTH (Go checkChainForKeyUsage with serverAuth)', () => {
  it('accepts serverAuth or anyExtendedKeyUsage on issuer and root', async () => {
    assert.deepEqual(await check(withExtKeyUsages('issuer', [CLIENT_AUTH, SERVER_AUTH]), withExtKeyUsages('root', [ANY_EKU])), []);
  });

  it('rejects a root whose EKU lacks serverAuth', async () => {
    assert.deepEqual(summary(await check(withExtKeyUsages('root', [CLIENT_AUTH]))), ['ERR_EKU_NOT_SERVER_AUTH @ root O=cluster.local']);
  });

  it('rejects an intermediate whose EKU lacks serverAuth', async () => {
    assert.deepEqual(summary(await check(withIntermediate(), withExtKeyUsages('intermediate', [CLIENT_AUTH]))),
      ['ERR_EKU_NOT_SERVER_AUTH @ intermediate#1 O=cluster.local, CN=intermediate']);
  });

  it('ignores the EKU of anchors the issuer does not chain to', async () => {
    const findings = await check(withExtraRoot(), withExtKeyUsages('root', [CLIENT_AUTH]));
    assert.ok(!findings.some((f) => f.code === 'ERR_EKU_NOT_SERVER_AUTH'));
  });
});
