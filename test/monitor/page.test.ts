/**
 * renderPage without a browser: one self-contained document (no external asset), the refresh
 * interval in its meta tag, the title escaped, a bad interval refused; and the built copy in dist/
 * renders the same page, so it survives `npm run build` (and `npm pack`, which ships dist/).
 * What the page does in a browser is in page-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { WardenError } from '../../src/core/errors.js';
import { renderPage } from '../../src/monitor/page/index.js';

describe('renderPage', () => {
  test('one HTML document with its CSS and script inline and nothing fetched from elsewhere', () => {
    const html = renderPage({ refreshSeconds: 30, title: 'Warden fleet' });
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.match(html, /<meta name="warden-refresh" content="30">/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.equal(html.match(/<style>/g)?.length, 1);
    assert.equal(html.match(/<script>/g)?.length, 1, 'one inline script, no <script src>');
    assert.doesNotMatch(html, /<script[^>]*\bsrc=|<link[^>]*stylesheet|@import|url\(/i);
    assert.doesNotMatch(html, /https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, 'no absolute URL');
    assert.match(html, /fetch\('api\/fleet'/, 'reads the fleet from the same server');
    assert.match(html, /@media \(prefers-color-scheme: dark\)/);
  });

  test('the title is escaped and the interval written as given', () => {
    const html = renderPage({ refreshSeconds: 2.5, title: '<b>"prod" & co</b>' });
    assert.match(html, /<title>&lt;b&gt;&quot;prod&quot; &amp; co&lt;\/b&gt;<\/title>/);
    assert.match(html, /<h1>&lt;b&gt;&quot;prod&quot; &amp; co&lt;\/b&gt;<\/h1>/);
    assert.match(html, /<meta name="warden-refresh" content="2.5">/);
  });

  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`a refresh interval of ${bad} is refused with ERR_USAGE`, () => {
      assert.throws(() => renderPage({ refreshSeconds: bad, title: 't' }),
        (e) => e instanceof WardenError && e.code === 'ERR_USAGE' && /positive number of seconds/.test(e.message));
    });
  }

  test('the built page in dist/ is the same page (it survives npm run build)', async (t) => {
    const built = join(import.meta.dirname, '..', '..', 'dist', 'monitor', 'page', 'index.js');
    if (!existsSync(built)) {
      if (process.env.CI === 'true') assert.fail(`${built} is missing: npm test builds first`);
      t.skip(`no ${built}: run npm run build`);
      return;
    }
    const { renderPage: builtRender } = (await import(pathToFileURL(built).href)) as typeof import('../../src/monitor/page/index.js');
    assert.equal(builtRender({ refreshSeconds: 30, title: 'x' }), renderPage({ refreshSeconds: 30, title: 'x' }));
  });
});
