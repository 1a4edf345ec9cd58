/**
 * One voice (issue 13, rough edge 9): for the same finding `verify` and `doctor` advise the same
 * command, both taken from src/core/checks/remedies.ts; `expiry` on an expired bundle names the
 * same command too.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { remedyCommandLine, remedyFor } from '../../src/core/checks/remedies.js';
import type { FindingCode } from '../../src/core/checks/types.js';
import { buildBundle, withExpiredIssuer, withExpiredRoot, withExpiresIn, type Modifier } from '../support/bundles.js';
import { assertBuilt, runWarden, tempHome, writeBundle } from './helpers.js';

const DAY = 24 * 3_600_000;
before(assertBuilt);

interface VerifyJson { findings: { code: FindingCode; message: string }[] }
interface DoctorJson { fixes: { kind: string; command: string }[] }

const advised = (text: string): string[] => [...text.matchAll(/`warden mtls ([a-z-]+)`/g)].map((m) => m[1] as string);

describe('verify, doctor and expiry give one piece of advice per finding', { concurrency: 3 }, () => {
  const cases: [string, Modifier[], string][] = [
    ['expiring root and issuer', [withExpiresIn(10 * DAY, 'root'), withExpiresIn(10 * DAY, 'issuer')], 'rotate'],
    ['expired root', [withExpiredRoot()], 'renew-certificate'],
    ['expired issuer', [withExpiredIssuer()], 'renew-certificate'],
  ];
  for (const [name, modifiers, command] of cases) {
    test(`${name}: verify and doctor both advise \`warden mtls ${command}\``, async (t) => {
      const { home, certs } = await tempHome(t);
      await writeBundle(certs, (await buildBundle({ now: new Date(), trustDomain: 'localhost', namespace: 'default' }, ...modifiers)).texts);
      const verify = JSON.parse((await runWarden(['mtls', 'verify', '-o', 'json'], { home })).stdout) as VerifyJson;
      const withRemedy = verify.findings.filter((f) => remedyFor(f.code) !== undefined);
      assert.ok(withRemedy.length > 0, JSON.stringify(verify.findings));
      for (const f of withRemedy) {
        assert.deepEqual(advised(f.message), [command], `${f.code}: ${f.message}`);
        assert.equal(remedyCommandLine(remedyFor(f.code)!), `warden mtls ${command}`);
      }
      const doctor = JSON.parse((await runWarden(['mtls', 'doctor', '-o', 'json'], { home })).stdout) as DoctorJson;
      assert.match(doctor.fixes[0]?.command ?? '', new RegExp(`^warden mtls ${command}\\b`), JSON.stringify(doctor.fixes));
      assert.ok(!doctor.fixes.some((f) => /^warden mtls (rotate|renew-certificate)\b/.test(f.command) && !f.command.startsWith(`warden mtls ${command}`)));

      if (command === 'renew-certificate') {
        const expiry = await runWarden(['mtls', 'expiry'], { home });
        assert.equal(expiry.code, 3);
        assert.match(expiry.stdout, /certificate expired \d+ hours? ago\. Expiry date: /);
        assert.doesNotMatch(expiry.stdout, /expires in -/);
        assert.deepEqual([...new Set(advised(expiry.stderr))], [command]);
      }
    });
  }
});
