/**
 * `warden mtls request-cert` against an expired bundle (issue 13, rough edge 5): it names the
 * expiry and the fixing command instead of blaming the trust domain or stale anchors. The sentry
 * runs in-process on an injected clock from before the expiry (so it starts and serves); the
 * binary's TLS check runs on the real clock, after it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { FixedClock } from '../../src/core/clock.js';
import { runSentry } from '../../src/sentry/server.js';
import { buildBundle, withValidity } from '../support/bundles.js';
import { assertBuilt, REPO } from './helpers.js';

const DAY = 24 * 3_600_000;
before(assertBuilt);

interface Run { code: number | null; stdout: string; stderr: string }

function warden(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'bin', 'warden.js'), ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** Starts a sentry on `texts` with its clock at `sentryNow`, runs request-cert against it, stops it. */
async function requestCertAgainst(t: { after(fn: () => unknown): void }, texts: BundleTexts, sentryNow: Date): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-rc-expiry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const creds = join(dir, 'credentials');
  mkdirSync(creds);
  writeFileSync(join(creds, 'ca.crt'), texts.ca);
  writeFileSync(join(creds, 'issuer.crt'), texts.issuerCert);
  writeFileSync(join(creds, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
  const sentry = await runSentry({
    issuerCredentials: creds, port: 0, listenAddress: '127.0.0.1', healthzPort: 0, healthzListenAddress: '127.0.0.1',
    enableMetrics: false, handleSignals: false, logger: pino({ level: 'silent' }), namespace: 'default',
    clock: new FixedClock(sentryNow),
  });
  try {
    return await warden(['mtls', 'request-cert', '--sentry-address', `127.0.0.1:${sentry.port}`, '--id', 'app',
      '--trust-anchors', join(creds, 'ca.crt'), '--out', join(dir, 'out')]);
  } finally {
    await sentry.close();
  }
}

describe('request-cert against an expired bundle (binary)', { concurrency: 2 }, () => {
  it('expired root and issuer: ERR_ROOT_EXPIRED naming the date and renew-certificate, not the trust domain', async (t) => {
    const made = new FixedClock(Date.now() - 10 * DAY);
    const { bundle } = generateTrustBundle({ clock: made, trustDomain: 'localhost', namespace: 'default', validityMs: 5 * DAY });
    const r = await requestCertAgainst(t, bundle.toTexts(), new Date(Date.now() - 8 * DAY));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^❌  the trust anchors in \S+ca\.crt have expired \(the last one, O=localhost, at \d{4}-\d\d-\d\d [\d:]+ \+0000 UTC\).*`warden mtls renew-certificate`.*\(ERR_ROOT_EXPIRED\)\n$/);
    assert.doesNotMatch(r.stderr, /control-plane-trust-domain|ERR_SENTRY_IDENTITY/);
  });

  it('valid root, expired issuer: ERR_ISSUER_EXPIRED naming the expired served certificate and renew-certificate', async (t) => {
    const now = new Date();
    const built = await buildBundle({ now, trustDomain: 'localhost', namespace: 'default' },
      withValidity('root', { notBefore: new Date(now.getTime() - 10 * DAY) }),
      withValidity('issuer', { notBefore: new Date(now.getTime() - 10 * DAY), notAfter: new Date(now.getTime() - DAY) }));
    const r = await requestCertAgainst(t, built.texts, new Date(now.getTime() - 2 * DAY));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^❌  the sentry at 127\.0\.0\.1:\d+ serves an expired certificate chain \(the (serving )?certificate .* expired at \d{4}-\d\d-\d\d [\d:]+ \+0000 UTC\)/);
    assert.match(r.stderr, /`warden mtls renew-certificate`.*\(ERR_ISSUER_EXPIRED\)\n$/);
    assert.doesNotMatch(r.stderr, /control-plane-trust-domain|ERR_SENTRY_IDENTITY/);
  });
});
