/**
 * The auto-renewer decides on the bundle the STORE holds, never on the CA the sentry happens to be
 * serving. That copy lags a finished rotation (Kubernetes: the mount, and a GET every 10 s), and
 * the lagging copy still has the old, due root; deciding on it started a second rotation right
 * after the first (found intermittently by the HA test). Here the lag is made deterministic: the
 * renewer is built on a CaStateHolder holding one bundle while the directory holds another.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import pino from 'pino';
import { DEFAULT_AUTO_RENEW_POLICY, bundleRenewalTime } from '../../src/core/auto-renew.js';
import { generateTrustBundle, type TrustBundle } from '../../src/core/bundle.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import { AutoRenewer } from '../../src/sentry/auto-renew/renewer.js';
import { openSelfHostedSite } from '../../src/sentry/auto-renew/self-hosted-site.js';
import { CaStateHolder, createCaState } from '../../src/sentry/ca-state.js';
import { DEFAULT_SENTRY_CONFIG } from '../../src/sentry/config.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import { SimTime, until } from '../support/sim-time.js';

const HOUR = 3_600_000;

/** A 30-day CA born `ageDays` before the simulated now (21 days: past 2/3 of its life, due). */
function bundleAged(sim: SimTime, ageDays: number): TrustBundle {
  const born = { now: () => new Date(sim.now().getTime() - ageDays * DAY_MS) };
  return generateTrustBundle({ clock: born, trustDomain: 'public', namespace: 'default', validityMs: 30 * DAY_MS, clockSkewMs: 60_000 }).bundle;
}

async function journalStatus(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, '.rotation', 'journal.json'), 'utf8')) as { status: string }).status;
  } catch {
    return undefined;
  }
}

async function startedCount(metrics: SentryMetrics): Promise<number> {
  return (await metrics.autoRenewals.get()).values.find((v) => v.labels.result === 'started')?.value ?? 0;
}

/** A renewer whose sentry serves `served` while the directory holds `stored`; runs until its first decision. */
async function renewerWith(t: TestContext, sim: SimTime, stored: TrustBundle, served: TrustBundle) {
  const dir = await mkdtemp(join(tmpdir(), 'warden-autorenew-stale-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const texts = stored.toTexts();
  await writeFile(join(dir, 'ca.crt'), texts.ca);
  await writeFile(join(dir, 'issuer.crt'), texts.issuerCert);
  await writeFile(join(dir, 'issuer.key'), texts.issuerKey, { mode: 0o600 });
  const caState = new CaStateHolder(createCaState(served, 'test', { clock: sim, config: DEFAULT_SENTRY_CONFIG }));
  const site = openSelfHostedSite({
    dir, caFile: join(dir, 'ca.crt'), issuerCertFile: join(dir, 'issuer.crt'), issuerKeyFile: join(dir, 'issuer.key'),
    clock: sim, sleeper: sim.exact, caState, propagationDelayMs: 60_000, timeoutMs: HOUR,
  });
  const metrics = new SentryMetrics();
  const renewer = new AutoRenewer({
    site, caState, clock: sim, sleeper: sim.exact, logger: pino({ level: 'silent' }), metrics,
    policy: DEFAULT_AUTO_RENEW_POLICY, rotationPolicy: { workloadTtlMs: HOUR, clockSkewMs: 60_000 },
    checkIntervalMs: HOUR, retryDelayMs: HOUR, trustDomain: 'public', namespace: 'default',
  });
  t.after(async () => {
    sim.releaseAll();
    await renewer.stop();
  });
  renewer.start();
  // The first decision is made when the renewer sleeps (waiting), or the rotation waits for its propagation delay.
  await until(() => sim.pending.exact >= 1, 'the renewer to decide and wait');
  return { dir, renewer, metrics };
}

describe('auto-renew decides on the stored bundle, not on the served copy', () => {
  it('a served copy that lags a finished rotation (old, due root) does not start another rotation', async (t) => {
    const sim = new SimTime(Date.now());
    const fresh = bundleAged(sim, 0);
    const due = bundleAged(sim, 21);
    const { dir, renewer, metrics } = await renewerWith(t, sim, fresh, due);
    assert.equal(renewer.state, 'waiting');
    assert.equal(await startedCount(metrics), 0);
    assert.equal(await journalStatus(dir), undefined, 'no rotation recorded');
    assert.equal(renewer.nextRenewal()?.at.getTime(), bundleRenewalTime(fresh, DEFAULT_AUTO_RENEW_POLICY).at.getTime(),
      'the next renewal is the stored bundle\'s');
  });

  it('a stored bundle that is due is renewed even while the served copy looks fresh', async (t) => {
    const sim = new SimTime(Date.now());
    const fresh = bundleAged(sim, 0);
    const due = bundleAged(sim, 21);
    const { dir, renewer, metrics } = await renewerWith(t, sim, due, fresh);
    assert.equal(renewer.state, 'rotating');
    assert.equal(await startedCount(metrics), 1);
    assert.equal(await journalStatus(dir), 'in-progress');
  });
});
