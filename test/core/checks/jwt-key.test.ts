/** checkJwtKey: the JWT key is reported with the issuer's due date; expired retired keys are named. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { runChecks } from '../../../src/core/checks/index.js';
import { materialForKey } from '../../../src/core/jwt-key.js';
import { rotateJwtMaterial } from '../../../src/core/jwt-rotation.js';
import { buildBundle } from '../../support/bundles.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');

test('a bundle with a JWT key gets INFO_JWT_KEY naming its kid, algorithm and the issuer\'s date; none without', async () => {
  const { bundle } = await buildBundle({ now: NOW });
  assert.deepEqual(runChecks(bundle, NOW), []);
  const material = materialForKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA', []);
  const findings = runChecks(bundle.withJwt(material), NOW);
  assert.deepEqual(findings.map((f) => [f.code, f.severity, f.subject]), [['INFO_JWT_KEY', 'info', 'jwt.key']]);
  assert.ok(findings[0]!.message.includes(material.keyId) && findings[0]!.message.includes('EdDSA'));
  assert.ok(findings[0]!.message.includes(bundle.issuer.notAfter.toISOString()));
});

test('a retired key past its exp is WARN_JWT_RETIRED_KEY_EXPIRED; before it, nothing', async () => {
  const { bundle } = await buildBundle({ now: NOW });
  const old = materialForKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA', []);
  const rotated = rotateJwtMaterial(old, { now: NOW, retentionMs: 3600_000, nextKey: generateKeyPairSync('ed25519').privateKey });
  const withJwt = bundle.withJwt(rotated);
  assert.deepEqual(runChecks(withJwt, new Date(NOW.getTime() + 3599_000)).map((f) => f.code), ['INFO_JWT_KEY']);
  const later = runChecks(withJwt, new Date(NOW.getTime() + 3600_000)).filter((f) => f.code === 'WARN_JWT_RETIRED_KEY_EXPIRED');
  assert.equal(later.length, 1);
  assert.ok(later[0]!.message.includes(old.keyId));
});
