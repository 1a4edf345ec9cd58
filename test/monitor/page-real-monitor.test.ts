/**
 * The page served by a REAL `warden monitor` (FleetMonitor + listenMonitor in-process, the same
 * objects `warden monitor` wires up) watching real targets: Kubernetes API test servers (healthy
 * with a JWT key, expiring, expired, mid-rotation, unreachable) and a self-hosted credentials
 * directory, in headless Chromium. It asserts what a person sees (rows, statuses by symbol, word
 * and colour, the fix commands, the timeline's bars against the now line) and that a renewal shows
 * up on the page by itself after the monitor's next read. page-browser.test.ts keeps the
 * fixture-driven tests (a failing /api/fleet, sorting, phone width, dark mode).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { openFleetTargets } from '../../src/cli/commands/fleet.js';
import { captureIo } from '../../src/cli/io.js';
import { systemClock } from '../../src/core/clock.js';
import { jwtMaterialToTexts, materialForKey } from '../../src/core/jwt-key.js';
import { listenMonitor } from '../../src/monitor/http.js';
import { FleetMonitor } from '../../src/monitor/monitor.js';
import type { HttpListener } from '../../src/sentry/http-listener.js';
import { writeBundle } from '../cli/helpers.js';
import { DAY, bundleFor, startCluster, stopClusters, writeFleetKubeconfig, type Cluster } from '../fleet/support.js';
import { buildBundle, withExpiresIn } from '../support/bundles.js';
import { HANG_MS } from '../support/wait.js';
import { artifactPath, chromiumMissing, launchChromium } from './browser.js';

const missing = chromiumMissing();

if (missing !== null && process.env.CI === 'true') {
  test('the real-monitor page test needs Chromium on CI', () => assert.fail(`${missing}. .ci/run installs Debian's chromium package.`));
}

/** Sleeps that only end when the monitor stops: the test triggers each read itself (readOnce). */
const never = { sleep: (_ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve())) };

describe('the page of a real warden monitor in a real browser', { skip: missing === null ? false : `skipped: ${missing}` }, () => {
  const now = new Date();
  let dir: string;
  let kubeconfig: string;
  let clusters: Cluster[];
  let monitor: FleetMonitor;
  let listener: HttpListener;
  /** The same monitor with a page that does not refresh by itself: a 1 s re-render replaces the nodes a multi-step check is reading (a detached node has no computed style, no box). */
  let still: HttpListener;
  let browser: Browser;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-page-real-'));
    clusters = [];
    for (const s of ['healthy', 'expiring', 'expired', 'rotating', 'unreachable'] as const) clusters.push(await startCluster(s, now));
    // The healthy cluster's sentry issues JWT-SVIDs: its Secret has jwt.key + jwks.json.
    const jwt = jwtMaterialToTexts(materialForKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256', []));
    clusters[0]!.server!.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (secret) => {
      secret.data = { ...(secret.data as Record<string, string>), 'jwt.key': Buffer.from(jwt.jwtKey).toString('base64'), 'jwks.json': Buffer.from(jwt.jwks).toString('base64') };
    });
    kubeconfig = await writeFleetKubeconfig(dir, clusters);
    // A self-hosted directory, given relative to the monitor's working directory, 5 days left.
    await writeBundle(join(dir, 'certs'), (await buildBundle({ now }, withExpiresIn(5 * DAY, 'issuer'))).texts);
    const readers = await openFleetTargets({ kubeconfig: [kubeconfig], issuerCredentials: ['certs'], timeout: 60_000 }, captureIo({ cwd: dir }));
    monitor = new FleetMonitor({ readers, intervalMs: 60_000, timeoutMs: 60_000, clock: systemClock, timers: never });
    await monitor.readOnce();
    listener = await listenMonitor('127.0.0.1', 0, { report: () => monitor.report, metrics: monitor.metrics, refreshSeconds: 1, title: 'Fleet under test' });
    still = await listenMonitor('127.0.0.1', 0, { report: () => monitor.report, metrics: monitor.metrics, refreshSeconds: 3600, title: 'Fleet under test' });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await listener?.close();
    await still?.close();
    monitor?.close();
    await stopClusters(clusters ?? []);
    await rm(dir, { recursive: true, force: true });
  });

  async function open(on: HttpListener): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(HANG_MS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} for ${r.url()}`); });
    await page.goto(`http://127.0.0.1:${on.port}/`);
    await page.locator('#fleet tbody tr').first().waitFor();
    return { page, errors, close: () => context.close() };
  }

  const say = async (locator: Locator): Promise<string> => (await locator.innerText()).replace(/\u00a0/g, ' ');
  const row = (page: Page, target: string) => page.locator(`tr[data-target="${target}"]`);
  const rgbOf = async (locator: Locator, property = 'color'): Promise<[number, number, number]> => {
    const css = await locator.evaluate((node, p) => node.ownerDocument.defaultView!.getComputedStyle(node).getPropertyValue(p), property);
    const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
    assert.ok(m, `not an rgb colour: ${css}`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  };

  test('rows worst first with their statuses, cells, findings and fix commands; the timeline where the dates are', async () => {
    const { page, errors, close } = await open(still);
    try {
      const names = await page.locator('#fleet tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-target') ?? ''));
      assert.deepEqual([...names].sort(), ['certs', 'expired', 'expiring', 'healthy', 'rotating', 'unreachable']);
      assert.equal(names[0], 'expired', 'the broken cluster first');
      assert.equal(names[1], 'unreachable');
      assert.ok(names.indexOf('expiring') < names.indexOf('healthy') && names.indexOf('certs') < names.indexOf('healthy'), names.join());

      const status = async (t: string) => say(row(page, t).locator('td[data-label="Status"]'));
      assert.equal(await status('expired'), '✖ critical');
      assert.equal(await status('unreachable'), '⊘ unreachable');
      assert.equal(await status('expiring'), '⚠ warning');
      assert.equal(await status('certs'), '⚠ warning');
      assert.equal(await status('healthy'), '✓ healthy');
      const [cr, cg] = await rgbOf(row(page, 'expired').locator('td[data-label="Status"] .st'));
      assert.ok(cr > 150 && cg < 100, 'critical is red');
      const [hr, hg] = await rgbOf(row(page, 'healthy').locator('td[data-label="Status"] .st'));
      assert.ok(hg > 100 && hr < 100, 'healthy is green');
      assert.match(await say(page.locator('#summary')), /6 targets: 1 critical, 1 unreachable/);

      // The cells a person reads.
      assert.match(await say(row(page, 'expired').locator('td[data-label="Issuer"]')), /^✖ expired 1 d ago\s+\d{4}-\d\d-\d\d$/);
      assert.match(await say(row(page, 'expiring').locator('td[data-label="Issuer"]')), /^⚠ (19|20) d\s+\d{4}-\d\d-\d\d$/);
      assert.match(await say(row(page, 'certs').locator('td[data-label="Issuer"]')), /^⚠ (4|5) d/);
      assert.match(await say(row(page, 'healthy').locator('td[data-label="JWT key"]')), /^✓ 36[45] d\s+\d{4}-\d\d-\d\d$/, 'the JWT key, due with the issuer');
      assert.equal(await row(page, 'expiring').locator('td[data-label="JWT key"]').innerText(), '—', 'no JWT key in that bundle');
      assert.match(await row(page, 'rotating').locator('td[data-label="Rotation"]').innerText(), /^propagation\s+since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      assert.equal(await say(row(page, 'healthy').locator('td[data-label="ConfigMap"]')), '✓ in sync');
      assert.equal(await say(row(page, 'healthy').locator('td[data-label="Sentry"]')), '✓ ready');
      assert.match(await say(row(page, 'certs').locator('th[data-label="Target"]')), /^certs\s+self-hosted/);
      assert.match(await say(row(page, 'unreachable').locator('td[data-label="Finding"]')), /⊘ ERR_KUBE_UNREACHABLE[\s\S]*never read$/);

      // The fix commands, worded for each target's kind.
      const fix = (t: string) => row(page, t).locator('td[data-label="Fix"] code').innerText();
      assert.equal(await fix('expired'), `warden mtls renew-certificate -k --kubeconfig ${kubeconfig} --context expired`);
      assert.equal(await fix('expiring'), `warden mtls rotate -k --kubeconfig ${kubeconfig} --context expiring`);
      assert.equal(await fix('certs'), `warden mtls rotate --issuer-credentials ${join(dir, 'certs')}`);
      assert.equal(await row(page, 'healthy').locator('td[data-label="Fix"]').innerText(), '—');

      // The timeline: bars against the now line, in the order of the table.
      const groups = await page.locator('#timeline .tl-target').evaluateAll((g) => g.map((n) => n.getAttribute('data-target') ?? ''));
      assert.deepEqual(groups, names);
      const nowLine = await page.locator('#now-line').boundingBox();
      assert.ok(nowLine);
      const nowX = nowLine.x;
      const bar = async (t: string, role: string) => {
        const box = await page.locator(`.tl-target[data-target="${t}"] .bar[data-role="${role}"]`).boundingBox();
        assert.ok(box, `${t} ${role} bar is drawn`);
        return { left: box.x, right: box.x + box.width };
      };
      const expired = await bar('expired', 'issuer');
      assert.ok(expired.right < nowX, 'the expired issuer ends before now');
      const expiring = await bar('expiring', 'issuer');
      const healthy = await bar('healthy', 'issuer');
      assert.ok(expiring.left <= nowX + 1 && expiring.right > nowX && expiring.right < healthy.right, 'the expiring issuer spans now and ends first');
      assert.ok(Math.abs((await bar('healthy', 'jwt-key')).right - healthy.right) < 2, 'the JWT key ends with its issuer');
      assert.equal(await page.locator('.tl-target[data-target="healthy"] .bar[data-role="jwt-key"]').getAttribute('data-status'), 'healthy');
      const [br, bg] = await rgbOf(page.locator('.tl-target[data-target="expired"] .bar[data-role="issuer"]'), 'background-color');
      assert.ok(br > 150 && bg < 100, 'the expired bar is red');
      assert.equal(await page.locator('.tl-target[data-target="rotating"] .phase').count() > 0, true, 'the rotation phase is shaded');
      assert.match(await page.locator('.tl-target[data-target="rotating"] .tl-rotation').innerText(), /^rotating: propagation since /);
      assert.match(await page.locator('.tl-target[data-target="unreachable"] .tl-error').innerText(), /^ERR_KUBE_UNREACHABLE: /);

      await page.screenshot({ path: artifactPath('real-monitor.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('a renewal shows on the open page after the monitor\'s next read, without a reload', async () => {
    const { page, errors, close } = await open(listener);
    try {
      assert.equal(await row(page, 'expired').getAttribute('data-status'), 'critical');
      const { texts } = await bundleFor('healthy', now);
      clusters[2]!.server!.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (secret) => {
        secret.data = { ...(secret.data as Record<string, string>), 'ca.crt': Buffer.from(texts.ca).toString('base64'),
          'issuer.crt': Buffer.from(texts.issuerCert).toString('base64'), 'issuer.key': Buffer.from(texts.issuerKey).toString('base64') };
      });
      clusters[2]!.server!.api.mutate('configmaps', 'dapr-system', 'dapr-trust-bundle', (cm) => {
        cm.data = { ...(cm.data as Record<string, string>), 'ca.crt': texts.ca };
      });
      await monitor.readOnce();
      // The page re-fetches every second (--refresh 1): wait for the row to change, bounded by HANG_MS.
      await page.locator('tr[data-target="expired"][data-status="healthy"]').waitFor();
      assert.match(await say(row(page, 'expired').locator('td[data-label="Issuer"]')), /^✓ 36[45] d/);
      assert.equal(await row(page, 'expired').locator('td[data-label="Fix"]').innerText(), '—');
      assert.equal(await page.locator('.tl-target[data-target="expired"] .bar[data-role="issuer"]').getAttribute('data-status'), 'healthy');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});
