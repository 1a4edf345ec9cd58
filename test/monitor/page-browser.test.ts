/**
 * The monitor's page as a person sees it, in headless Chromium (Debian's package, driven by
 * playwright-core): rows and their order, colours and symbols by status, the timeline's bars
 * against the now line and the 30-day window, the fix command and its copy button, dark mode, a
 * phone's width, auto-refresh and a failing `/api/fleet`. Screenshots go to test-artifacts/monitor/.
 *
 * The page is served by test/monitor/page-server.ts with contract JSON built from real
 * certificates (fleet-fixture.ts), for what a real monitor cannot easily produce (a failing
 * `/api/fleet`, a JWT key with no known expiry, fetch counts); page-real-monitor.test.ts runs the
 * page of a real `warden monitor` watching real targets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { HANG_MS } from '../support/wait.js';
import { artifactPath, chromiumMissing, launchChromium } from './browser.js';
import { buildFleet, type Fleet } from './fleet-fixture.js';
import { startPageUnderTest, type PageUnderTest } from './page-server.js';

const DAY = 86_400_000;
const missing = chromiumMissing();

if (missing !== null && process.env.CI === 'true') {
  test('the monitor page browser tests need Chromium on CI', () => {
    assert.fail(`${missing}. .ci/run installs Debian's chromium package; the page tests cannot run without it.`);
  });
}

describe('monitor page in a real browser', { skip: missing === null ? false : `skipped: ${missing}` }, () => {
  let browser: Browser;
  let fleet: Fleet;
  let server: PageUnderTest;

  before(async () => {
    fleet = await buildFleet(new Date(Math.floor(new Date().getTime() / 1000) * 1000));
    server = await startPageUnderTest({ fleet, refreshSeconds: 3600 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh context and page at `url`, drawn; the page's script errors fail the test. */
  async function open(options: BrowserContextOptions = {}, url = server.url): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    context.setDefaultTimeout(HANG_MS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/api/fleet')) errors.push(`${r.status()} for ${r.url()}`); });
    await page.goto(url);
    await page.locator('#fleet tbody tr').first().waitFor();
    return { page, errors, close: () => context.close() };
  }

  /** What a cell says, with the page's no-break spaces (symbol + word, number + unit) read as spaces. */
  const say = async (locator: Locator): Promise<string> => (await locator.innerText()).replace(/\u00a0/g, ' ');

  const rowNames = (page: Page): Promise<string[]> =>
    page.locator('#fleet tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-target') ?? ''));

  // Code that runs in the page is given as strings: this project's TypeScript has no DOM library.

  /** [r, g, b] of a CSS colour such as `rgb(207, 34, 46)`. */
  function rgb(css: string): [number, number, number] {
    const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
    assert.ok(m, `not an rgb colour: ${css}`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  const luminance = (css: string): number => {
    const [r, g, b] = rgb(css);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  };
  const color = (page: Page, selector: string, property = 'color'): Promise<string> =>
    page.locator(selector).first().evaluate((node, p) => node.ownerDocument.defaultView!.getComputedStyle(node).getPropertyValue(p), property);

  test('one row per target, worst first, each status shown by symbol, word and colour', async () => {
    const { page, errors, close } = await open();
    try {
      assert.deepEqual(await rowNames(page), ['dev-old', 'edge-lab', 'prod-us', 'staging', '/var/lib/dapr/certs', 'prod-eu']);
      const statusText = (await page.locator('#fleet tbody tr td:first-child').allInnerTexts()).map((t) => t.replace(/\u00a0/g, ' '));
      assert.deepEqual(statusText, ['✖ critical', '⊘ unreachable', '⚠ warning', '⚠ warning', '✓ healthy', '✓ healthy']);
      assert.match(await say(page.locator('#summary')), /✖ critical 6 targets: 1 critical, 1 unreachable, 2 warning, 2 healthy/);

      const [cr, cg] = rgb(await color(page, 'tr[data-target="dev-old"] td:first-child .st'));
      assert.ok(cr > 150 && cg < 100, 'critical is red');
      const [hr, hg] = rgb(await color(page, 'tr[data-target="prod-eu"] td:first-child .st'));
      assert.ok(hg > 100 && hr < 100, 'healthy is green');
      const [wr, wg, wb] = rgb(await color(page, 'tr[data-target="staging"] td:first-child .st'));
      assert.ok(wr > 120 && wg > 80 && wb < 60, 'warning is amber');

      // The cells a person reads for a target.
      const staging = page.locator('tr[data-target="staging"]');
      assert.match(await say(staging.locator('td[data-label="Issuer"]')), /⚠ 5 d\s+\d{4}-\d{2}-\d{2}/);
      assert.match(await say(staging.locator('td[data-label="Root"]')), /✓ 365 d/);
      const prodUs = page.locator('tr[data-target="prod-us"]');
      assert.match(await prodUs.locator('td[data-label="Rotation"]').innerText(), /propagation\s+since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
      assert.equal(await say(prodUs.locator('td[data-label="ConfigMap"]')), '✖ drift');
      assert.equal(await say(prodUs.locator('td[data-label="Apps not converged"]')), '⚠ 3');
      assert.equal(await say(page.locator('tr[data-target="dev-old"] td[data-label="Sentry"]')), '✖ not ready');
      assert.equal(await page.locator('tr[data-target="prod-eu"] td[data-label="JWT key"]').innerText(), 'no expiry known');
      const edge = page.locator('tr[data-target="edge-lab"]');
      assert.match(await say(edge.locator('td[data-label="Finding"]')), /⊘ ERR_KUBE_UNREACHABLE\s+connect ECONNREFUSED 10\.0\.0\.7:6443\s+last read \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
      assert.equal(await edge.locator('td[data-label="ConfigMap"]').innerText(), '—');
      assert.match(await say(staging.locator('td[data-label="JWT key"]')), /^⚠ 20 d\s+\d{4}-\d{2}-\d{2}$/);
      const selfHosted = page.locator('tr[data-target="/var/lib/dapr/certs"]');
      assert.match(await say(selfHosted.locator('th[data-label="Target"]')), /^\/var\/lib\/dapr\/certs\s+self-hosted · Dapr 1\.16\.2$/);
      assert.match(await say(selfHosted.locator('td[data-label="Issuer"]')), /^✓ 200 d/);

      // On a 1280 px screen every column, the fix included, is in view without scrolling.
      const table = await page.evaluate<{ scroll: number; client: number }>(
        "({ scroll: document.querySelector('.table-wrap').scrollWidth, client: document.querySelector('.table-wrap').clientWidth })");
      assert.ok(table.scroll <= table.client, `the table is wider than the screen: ${JSON.stringify(table)}`);
      // Table semantics: column headers, a row header per target.
      assert.equal(await page.locator('#fleet thead th[scope="col"]').count(), 11);
      assert.equal(await page.locator('#fleet tbody th[scope="row"]').count(), 6);
      await page.screenshot({ path: artifactPath('desktop-light.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('a column heading sorts the rows, a second click reverses them, unknown values stay last', async () => {
    const { page, close } = await open();
    try {
      const issuer = page.locator('#fleet thead th[data-key="issuer"]');
      await issuer.locator('button').click();
      assert.equal(await issuer.getAttribute('aria-sort'), 'ascending');
      // Fewest issuer days first; prod-us and prod-eu tie (both 365 d): the worse status first.
      assert.deepEqual(await rowNames(page), ['dev-old', 'staging', '/var/lib/dapr/certs', 'prod-us', 'prod-eu', 'edge-lab']);
      await issuer.locator('button').click();
      assert.equal(await issuer.getAttribute('aria-sort'), 'descending');
      assert.deepEqual(await rowNames(page), ['prod-us', 'prod-eu', '/var/lib/dapr/certs', 'staging', 'dev-old', 'edge-lab']);

      await page.locator('#fleet thead th[data-key="target"] button').click();
      assert.deepEqual(await rowNames(page), ['/var/lib/dapr/certs', 'dev-old', 'edge-lab', 'prod-eu', 'prod-us', 'staging']);
      assert.equal(await issuer.getAttribute('aria-sort'), null, 'only the sorted column says so');
      // The timeline follows the table's order.
      const groups = await page.locator('#timeline .tl-target').evaluateAll((g) => g.map((n) => n.getAttribute('data-target')));
      assert.deepEqual(groups, ['/var/lib/dapr/certs', 'dev-old', 'edge-lab', 'prod-eu', 'prod-us', 'staging']);
    } finally {
      await close();
    }
  });

  test('the timeline draws each certificate where its dates are, against the now line and the 30-day window', async () => {
    const { page, close } = await open();
    try {
      const nowLine = await page.locator('#now-line').boundingBox();
      assert.ok(nowLine);
      const nowX = nowLine.x;
      const bar = async (target: string, role: string) => {
        const box = await page.locator(`.tl-target[data-target="${target}"] .bar[data-role="${role}"]`).boundingBox();
        assert.ok(box, `${target} ${role} bar is drawn`);
        return { left: box.x, right: box.x + box.width };
      };
      const windowBox = await page.locator('.tl-target[data-target="staging"] .window').first().boundingBox();
      assert.ok(windowBox);
      const windowEnd = windowBox.x + windowBox.width;
      const dayWidth = (windowEnd - nowX) / 30;
      assert.ok(dayWidth > 0.3, 'the 30-day window has a width');

      const expired = await bar('dev-old', 'issuer');
      assert.ok(expired.right <= nowX + 1, 'the expired issuer ends before now');
      assert.ok(Math.abs(nowX - expired.right - dayWidth) < Math.max(2, dayWidth * 0.5), 'it ended a day ago');
      const expiring = await bar('staging', 'issuer');
      assert.ok(expiring.left <= nowX + 1 && expiring.right > nowX, 'the expiring issuer spans now');
      assert.ok(Math.abs(expiring.right - nowX - 5 * dayWidth) < Math.max(2, dayWidth * 0.5), 'and ends 5 days after it, inside the window');
      assert.ok(expiring.right < windowEnd);
      const healthy = await bar('prod-eu', 'issuer');
      assert.ok(healthy.left <= nowX + 1 && healthy.right > windowEnd, 'a healthy issuer runs past the window');
      // Bars line up with the dates: the expired issuer started a year before the others.
      assert.ok(expired.left < healthy.left - 300 * dayWidth);
      assert.ok(Math.abs((await bar('prod-eu', 'root')).right - healthy.right) < 2, 'root and issuer end together');

      const statusOf = (t: string, r: string) => page.locator(`.tl-target[data-target="${t}"] .bar[data-role="${r}"]`).getAttribute('data-status');
      assert.equal(await statusOf('dev-old', 'issuer'), 'expired');
      assert.equal(await statusOf('staging', 'issuer'), 'warning');
      assert.equal(await statusOf('staging', 'jwt-key'), 'warning');
      const jwt = await bar('staging', 'jwt-key');
      assert.ok(Math.abs(jwt.right - nowX - 20 * dayWidth) < Math.max(2, dayWidth * 0.5), 'the JWT key ends 20 days after now');
      assert.ok(jwt.right > expiring.right && jwt.right < windowEnd, 'after the issuer, inside the window');
      const [r, g] = rgb(await color(page, '.tl-target[data-target="dev-old"] .bar[data-role="issuer"]', 'background-color'));
      assert.ok(r > 150 && g < 100, 'expired is red');
      assert.match(await say(page.locator('.tl-target[data-target="dev-old"]')), /issuer · expired 1 d ago/);

      // The rotation's current phase is shaded from its start up to now.
      const phase = await page.locator('.tl-target[data-target="prod-us"] .phase[data-phase="propagation"]').first().boundingBox();
      assert.ok(phase);
      assert.ok(Math.abs(phase.x + phase.width - nowX) < 5, 'the current phase reaches the now line');
      assert.equal(await page.locator('.tl-target[data-target="prod-us"] .phase[data-phase="add-anchor"]').count(), 2, 'each lane shades the earlier phase too');
      assert.match(await say(page.locator('.tl-target[data-target="prod-us"] .tl-rotation')), /^rotating: propagation since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
      assert.match(await page.locator('.tl-target[data-target="edge-lab"]').innerText(), /ERR_KUBE_UNREACHABLE: connect ECONNREFUSED/);
      assert.equal(await page.locator('.tl-target[data-target="prod-eu"] .bar[data-role="jwt-key"].bar-open').count(), 1, 'a key with no known expiry is drawn open-ended');
      await page.locator('#timeline').screenshot({ path: artifactPath('timeline.png') });
    } finally {
      await close();
    }
  });

  test('the fix command is shown and its button copies it', async () => {
    const { page, close } = await open({ permissions: ['clipboard-read', 'clipboard-write'] });
    try {
      const fix = page.locator('tr[data-target="staging"] td[data-label="Fix"]');
      assert.equal(await fix.locator('code').innerText(), 'warden mtls rotate -k --context staging');
      await fix.getByRole('button', { name: 'Copy the fix command for staging' }).click();
      await fix.getByRole('button', { name: 'Copy the fix command for staging' }).filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), 'warden mtls rotate -k --context staging');
      assert.equal(await page.locator('tr[data-target="prod-eu"] td[data-label="Fix"]').innerText(), '—');
    } finally {
      await close();
    }
  });

  test('long fix commands (kubeconfig paths, EKS context names) keep the table within 1280 px: the Copy buttons stay on screen and copy the whole command', async () => {
    const longFix = (context: string) => `warden mtls rotate -k --kubeconfig /home/operator/.kube/clusters/${context}-eks-admin-kubeconfig.yaml --context arn:aws:eks:eu-central-1:123456789012:cluster/${context}-platform-cluster --namespace dapr-system --resume`;
    const long: Fleet = {
      ...fleet,
      targets: fleet.targets.map((t) => (t.finding?.fix ? { ...t, finding: { ...t.finding, fix: longFix(t.name) } } : t)),
    };
    const live = await startPageUnderTest({ fleet: long, refreshSeconds: 3600 });
    try {
      const { page, errors, close } = await open({ permissions: ['clipboard-read', 'clipboard-write'] }, live.url);
      try {
        const table = await page.evaluate<{ scroll: number; client: number }>(
          "({ scroll: document.querySelector('.table-wrap').scrollWidth, client: document.querySelector('.table-wrap').clientWidth })");
        assert.ok(table.scroll <= table.client, `the table is wider than the screen: ${JSON.stringify(table)}`);
        const withFix = long.targets.filter((t) => t.finding?.fix);
        assert.ok(withFix.length >= 3);
        for (const t of withFix) {
          const cell = page.locator(`tr[data-target="${t.name}"] td[data-label="Fix"]`);
          const button = cell.getByRole('button', { name: `Copy the fix command for ${t.name}` });
          const box = (await button.boundingBox())!;
          assert.ok(box.x >= 0 && box.x + box.width <= 1280, `${t.name}'s Copy button is off-screen: ${JSON.stringify(box)}`);
          const cellBox = (await cell.boundingBox())!;
          assert.ok(cellBox.width <= 400, `${t.name}'s fix column is bounded: ${cellBox.width} px`);
          const code = cell.locator('code');
          assert.ok((await code.boundingBox())!.height <= 80, `${t.name}'s command is clamped to a few lines`);
          assert.equal(await cell.locator('code').getAttribute('title'), t.finding!.fix, 'the full command as the title');
        }
        const staging = page.locator('tr[data-target="staging"] td[data-label="Fix"]');
        await staging.getByRole('button', { name: 'Copy the fix command for staging' }).click();
        await staging.getByRole('button', { name: 'Copy the fix command for staging' }).filter({ hasText: 'Copied' }).waitFor();
        assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), longFix('staging'));
        await page.screenshot({ path: artifactPath('desktop-long-fix.png'), fullPage: true });
        assert.deepEqual(errors, []);
      } finally {
        await close();
      }
    } finally {
      await live.close();
    }
  });

  test('dark mode: light text on a dark page, status colours still apart', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, close } = await open({ colorScheme });
      try {
        const background = luminance(await color(page, 'body', 'background-color'));
        const text = luminance(await color(page, 'body'));
        if (colorScheme === 'dark') assert.ok(background < 0.15 && text > 0.8, `dark: background ${background}, text ${text}`);
        else assert.ok(background > 0.9 && text < 0.2, `light: background ${background}, text ${text}`);
        const critical = await color(page, 'tr[data-target="dev-old"] td:first-child .st');
        const healthy = await color(page, 'tr[data-target="prod-eu"] td:first-child .st');
        assert.notEqual(critical, healthy);
        if (colorScheme === 'dark') await page.screenshot({ path: artifactPath('desktop-dark.png'), fullPage: true });
      } finally {
        await close();
      }
    }
  });

  test('on a 375 px phone the page does not scroll sideways and every target is a readable card', async () => {
    const { page, close } = await open({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    try {
      const widths = await page.evaluate<{ doc: number; body: number; view: number }>(
        '({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth })');
      assert.ok(widths.doc <= widths.view && widths.body <= widths.view, `page wider than the screen: ${JSON.stringify(widths)}`);
      for (const name of ['dev-old', 'staging', 'edge-lab']) {
        const box = await page.locator(`tr[data-target="${name}"]`).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 375 + 0.5, `${name}'s card fits the screen`);
      }
      const fix = await page.locator('tr[data-target="dev-old"] td[data-label="Fix"] code').boundingBox();
      assert.ok(fix && fix.x + fix.width <= 375, 'the fix command wraps inside the screen');
      await page.screenshot({ path: artifactPath('phone-dark.png'), fullPage: true });
    } finally {
      await close();
    }
  });

  test('text from the JSON is shown as text, never run as HTML', async () => {
    const hostile = structuredClone(fleet);
    const victim = hostile.targets.find((t) => t.finding !== null)!;
    victim.name = '<img src=x onerror="window.__owned=1">';
    victim.finding!.message = '<script>window.__owned=2</script>';
    const own = await startPageUnderTest({ fleet: hostile, refreshSeconds: 3600, title: '<b>fleet</b>' });
    try {
      const { page, close } = await open({}, own.url);
      try {
        assert.equal(await page.locator('h1').innerText(), '<b>fleet</b>');
        assert.match(await page.locator('#fleet tbody').innerText(), /<img src=x onerror="window.__owned=1">/);
        assert.match(await page.locator('#fleet tbody').innerText(), /<script>window.__owned=2<\/script>/);
        assert.equal(await page.locator('main img, main script, h1 b').count(), 0);
        assert.equal(await page.evaluate<number | undefined>('window.__owned'), undefined);
      } finally {
        await close();
      }
    } finally {
      await own.close();
    }
  });

  test('auto-refresh picks up a changed fleet; a failing /api/fleet shows a banner and keeps the last data', async () => {
    const live = await startPageUnderTest({ fleet, refreshSeconds: 1 });
    try {
      const { page, errors, close } = await open({}, live.url);
      try {
        assert.equal(await page.locator('tr[data-target="staging"]').getAttribute('data-status'), 'warning');
        // staging's issuer and JWT key renewed: healthy, 365 days left, no finding.
        const renewed = structuredClone(fleet);
        const staging = renewed.targets.find((t) => t.name === 'staging')!;
        for (const c of staging.certificates.filter((c) => c.role !== 'root')) {
          c.notAfter = new Date(Date.parse(fleet.generatedAt) + 365 * DAY).toISOString();
          c.secondsLeft = 365 * 86_400;
          c.status = 'healthy';
        }
        staging.status = 'healthy';
        staging.finding = null;
        live.answer(renewed);
        await page.locator('tr[data-target="staging"][data-status="healthy"]').waitFor();
        assert.match(await say(page.locator('tr[data-target="staging"] td[data-label="Issuer"]')), /✓ 365 d/);
        assert.match(await say(page.locator('#summary')), /1 critical, 1 unreachable, 1 warning, 3 healthy/);

        live.answer({ status: 503, body: 'monitor starting' });
        await page.locator('#load-error').waitFor({ state: 'visible' });
        assert.match(await page.locator('#load-error').innerText(), /Could not load \/api\/fleet \(HTTP 503\); showing the last data; retrying in 1 s\./);
        assert.equal(await page.locator('#fleet tbody tr').count(), 6, 'the last data stays on screen');

        live.answer(fleet);
        await page.locator('#load-error').waitFor({ state: 'hidden' });
        await page.locator('tr[data-target="staging"][data-status="warning"]').waitFor();
        assert.ok(live.fetches() >= 4, `fetched ${live.fetches()} times`);
        assert.deepEqual(errors, []);
      } finally {
        await close();
      }
    } finally {
      await live.close();
    }
  });
});
