/**
 * Recovery when the certificates have already expired, in-process: renew-certificate and rotate
 * both proceed (nothing requires a valid current chain) and say so plainly; doctor is healthy after.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrustBundle } from '../../src/core/bundle.js';
import { hasErrors, runChecks } from '../../src/core/checks/index.js';
import { doctorCommand } from '../../src/cli/commands/doctor.js';
import { renewCertificateCommand } from '../../src/cli/commands/renew-certificate.js';
import { rotateCommand } from '../../src/cli/commands/rotate.js';
import { defaultDeps } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { DEFAULT_FILE_NAMES } from '../../src/cli/options.js';
import { buildBundle, withExpiredIssuer, withExpiredRoot, type Modifier } from '../support/bundles.js';
import { readBundle, writeBundle } from '../cli/helpers.js';
import { ClockSleeper, FixedClock, T0, tempDir } from './helpers.js';

const cases: [string, Modifier, RegExp][] = [
  ['root', withExpiredRoot(), /The current root certificate expired/],
  ['issuer', withExpiredIssuer(), /The current issuer certificate expired/],
];

describe('recovery from expired certificates', () => {
  for (const [what, modifier, says] of cases) {
    it(`renew-certificate with an expired ${what}: proceeds, says so, writes a bundle that passes the checks; doctor is then healthy`, async (t) => {
      const home = await tempDir(t, 'warden-recover-');
      const certs = join(home, 'certs');
      const clock = new FixedClock(T0);
      await writeBundle(certs, (await buildBundle({ now: T0 }, modifier)).texts);
      const io = captureIo({ clock, env: { HOME: home }, cwd: home });
      const code = await renewCertificateCommand({ ...DEFAULT_FILE_NAMES, issuerCredentials: certs }, io, defaultDeps());
      assert.equal(code, 0, io.stderrText());
      assert.match(io.stdoutText(), new RegExp(`${what} certificate expired on .*; renewing replaces it`));
      const renewed = TrustBundle.fromTexts(await readBundle(certs));
      assert.equal(hasErrors(runChecks(renewed, T0)), false);
      const doctorIo = captureIo({ clock, env: { HOME: home }, cwd: home });
      assert.equal(await doctorCommand({ ...DEFAULT_FILE_NAMES, issuerCredentials: certs, output: 'text' }, doctorIo), 0, doctorIo.stdoutText());
    });

    it(`rotate with an expired ${what}: proceeds without the add-anchor phase or the wait, and says why`, async (t) => {
      const home = await tempDir(t, 'warden-recover-');
      const certs = join(home, 'certs');
      const clock = new FixedClock(T0);
      await writeBundle(certs, (await buildBundle({ now: T0 }, modifier)).texts);
      const sleeper = new ClockSleeper(clock);
      const io = captureIo({ clock, env: { HOME: home }, cwd: home });
      const code = await rotateCommand({ ...DEFAULT_FILE_NAMES, issuerCredentials: certs, propagationDelay: 0 }, io, undefined, { sleeper });
      assert.equal(code, 0, io.stderrText());
      assert.match(io.stdoutText(), says);
      assert.match(io.stdoutText(), /\[add-anchor\] Skipped: the current bundle can no longer be used to sign/);
      assert.deepEqual(sleeper.calls, []);
      assert.equal(hasErrors(runChecks(TrustBundle.fromTexts(await readBundle(certs)), T0)), false);
    });
  }
});
