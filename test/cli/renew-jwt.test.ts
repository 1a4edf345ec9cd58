/**
 * `warden mtls renew-certificate` with a JWT pair in the credentials directory: the JWT signing key
 * is renewed with the issuer (src/core/jwt-rotation.ts), the old public key stays in jwks.json
 * (retired, with its `exp`), both files stay 0600, the backup holds the old pair, and `verify`
 * accepts the result. Without a JWT pair nothing JWT appears.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { jwtMaterialToTexts, materialForKey, parseJwtMaterial } from '../../src/core/jwt-key.js';
import { retiredUntil } from '../../src/core/jwt-rotation.js';
import { buildBundle } from '../support/bundles.js';
import { assertBuilt, exists, modeOf, runWarden, tempHome, writeBundle } from './helpers.js';

before(assertBuilt);

test('renew-certificate renews jwt.key and keeps the old public key published, retired; verify passes', async (t) => {
  const { home, certs } = await tempHome(t);
  await writeBundle(certs, (await buildBundle({ now: new Date() })).texts);
  const old = jwtMaterialToTexts(materialForKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256', []));
  await writeFile(join(certs, 'jwt.key'), old.jwtKey, { mode: 0o600 });
  await writeFile(join(certs, 'jwks.json'), old.jwks, { mode: 0o600 });
  const oldKid = parseJwtMaterial(old).keyId;

  const before = Date.now();
  const r = await runWarden(['mtls', 'renew-certificate'], { home });
  assert.equal(r.code, 0, r.stderr);
  const jwtKey = await readFile(join(certs, 'jwt.key'), 'utf8');
  const jwks = await readFile(join(certs, 'jwks.json'), 'utf8');
  assert.notEqual(jwtKey, old.jwtKey, 'a new signing key');
  const now = parseJwtMaterial({ jwtKey, jwks });
  assert.notEqual(now.keyId, oldKid);
  assert.equal(now.algorithm, 'RS256');
  assert.deepEqual(now.jwks.keys.map((k) => k.kid), [now.keyId, oldKid], 'the new key first, the old one still published');
  const exp = retiredUntil(now.jwks.keys[1]!)!;
  assert.ok(exp * 1000 >= before + 24 * 3600_000 + 15 * 60_000 - 1000, 'kept for the longest JWT lifetime plus skew');
  assert.equal(retiredUntil(now.jwks.keys[0]!), undefined);
  assert.equal(await modeOf(join(certs, 'jwt.key')), 0o600);
  assert.equal(await modeOf(join(certs, 'jwks.json')), 0o600);

  const backups = await readdir(join(certs, '.backup'));
  assert.equal(backups.length, 1);
  assert.equal(await readFile(join(certs, '.backup', backups[0]!, 'jwt.key'), 'utf8'), old.jwtKey);
  assert.equal(await readFile(join(certs, '.backup', backups[0]!, 'jwks.json'), 'utf8'), old.jwks);

  const v = await runWarden(['mtls', 'verify'], { home });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /INFO_JWT_KEY/);

  // expiry: Dapr's two lines, then the JWT key, due with the issuer.
  const e = await runWarden(['mtls', 'expiry'], { home });
  assert.equal(e.code, 0, e.stderr);
  const lines = e.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^Root certificate expires in/);
  assert.match(lines[1]!, /^Issuer certificate expires in \d+ hours\. Expiry date: (.*)$/);
  const issuerDate = /Expiry date: (.*)$/.exec(lines[1]!)![1];
  assert.equal(lines[2], `JWT signing key ${now.keyId} (RS256) is renewed with the issuer: due ${issuerDate}; 1 retired key(s) still published`);
  const j = await runWarden(['mtls', 'expiry', '-o', 'json'], { home });
  const doc = JSON.parse(j.stdout) as { issuer: { notAfter: string }; jwtSigningKey: { keyId: string; dueAt: string; retiredKeys: { keyId: string }[] } };
  assert.equal(doc.jwtSigningKey.keyId, now.keyId);
  assert.equal(doc.jwtSigningKey.dueAt, doc.issuer.notAfter);
  assert.deepEqual(doc.jwtSigningKey.retiredKeys.map((k) => k.keyId), [oldKid]);
});

test('renew-certificate without a JWT pair writes none', async (t) => {
  const { home, certs } = await tempHome(t);
  const r = await runWarden(['mtls', 'renew-certificate'], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exists(join(certs, 'jwt.key')), false);
  assert.equal(await exists(join(certs, 'jwks.json')), false);
  const e = await runWarden(['mtls', 'expiry'], { home });
  assert.equal(e.stdout.trimEnd().split('\n').length, 2, 'Dapr\'s two lines only');
});
