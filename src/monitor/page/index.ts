/**
 * The monitor's web page (`GET /`): one self-contained HTML document, no external asset, that
 * fetches `/api/fleet` (FLEET-CONTRACT.md) and draws a validity timeline per target and a sortable
 * table, re-fetching every `refreshSeconds` (read by the script from `<meta name="warden-refresh">`).
 * The CSS and the script are strings in style.ts and script.ts, so the page survives `npm run build`
 * and `npm pack` with nothing to copy.
 */
import { WardenError } from '../../core/errors.js';
import { PAGE_SCRIPT } from './script.js';
import { PAGE_CSS } from './style.js';

export interface PageOptions {
  /** Seconds between two fetches of `/api/fleet` (the monitor's `--refresh`). */
  refreshSeconds: number;
  /** The heading and the document title. */
  title: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** The page's HTML. Throws ERR_USAGE when `refreshSeconds` is not a positive number. */
export function renderPage(options: PageOptions): string {
  const { refreshSeconds, title } = options;
  if (!Number.isFinite(refreshSeconds) || refreshSeconds <= 0) {
    throw new WardenError('ERR_USAGE', `the page's refresh interval must be a positive number of seconds, got ${String(refreshSeconds)}`);
  }
  const safeTitle = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<meta name="warden-refresh" content="${refreshSeconds}">
<title>${safeTitle}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>${safeTitle}</h1>
<p id="summary" role="status" aria-live="polite">Loading…</p>
<p id="updated" class="muted"></p>
<p id="load-error" role="alert" hidden></p>
</header>
<main>
<section aria-labelledby="timeline-heading">
<h2 id="timeline-heading">Certificate validity</h2>
<div class="legend">
<span><span class="swatch bar-healthy"></span>valid</span>
<span><span class="swatch bar-warning"></span>under 30 days left</span>
<span><span class="swatch bar-critical"></span>expired or broken</span>
<span><span class="swatch bar-open"></span>no expiry known</span>
<span><span class="swatch window"></span>the next 30 days</span>
<span><span class="swatch phase"></span>rotation phase</span>
<span><span class="swatch" style="border-left:2px solid var(--now);width:0.5rem"></span>now</span>
</div>
<div id="timeline" class="timeline"></div>
</section>
<section aria-labelledby="table-heading">
<h2 id="table-heading">Targets</h2>
<p id="empty" class="muted" hidden>No targets are watched.</p>
<div class="table-wrap">
<table id="fleet">
<caption>One row per target; select a column heading to sort by it.</caption>
<thead><tr></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
