/**
 * PLACEHOLDER — to be replaced at merge by h-page's page (same path, same export). It only lists
 * /api/fleet as a table so the monitor is usable on its own; the real page draws the timeline.
 * No external asset: inline CSS and JS only.
 */

export interface PageOptions {
  refreshSeconds: number;
  title: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function renderPage(options: PageOptions): string {
  const title = escapeHtml(options.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="warden-refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">
<title>${title}</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #8884; }
  .healthy { color: #1a7f37; } .warning { color: #9a6700; } .unreachable { color: #8250df; } .critical { color: #cf222e; }
  code { font-size: .9em; }
</style>
</head>
<body>
<h1>${title}</h1>
<p id="generated">loading…</p>
<table><thead><tr><th>status</th><th>target</th><th>root</th><th>issuer</th><th>rotation</th><th>finding</th><th>fix</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
(() => {
  const refresh = Number(document.querySelector('meta[name="warden-refresh"]').content) * 1000;
  const text = (v) => document.createTextNode(v == null ? '-' : String(v));
  const days = (c) => c && c.secondsLeft != null ? Math.floor(c.secondsLeft / 86400) + 'd' : '-';
  async function load() {
    try {
      const res = await fetch('/api/fleet', { cache: 'no-store' });
      const fleet = await res.json();
      document.getElementById('generated').textContent = 'read ' + fleet.generatedAt + ' — worst: ' + fleet.worst;
      const body = document.getElementById('rows');
      body.replaceChildren(...fleet.targets.map((t) => {
        const tr = document.createElement('tr');
        tr.className = t.status;
        const cert = (role) => t.certificates.find((c) => c.role === role);
        const finding = t.error ? t.error.code + ': ' + t.error.message : t.finding ? t.finding.message : '';
        const cells = [t.status, t.name, days(cert('root')), days(cert('issuer')), t.rotation && t.rotation.phase, finding];
        for (const v of cells) { const td = document.createElement('td'); td.appendChild(text(v)); tr.appendChild(td); }
        const fix = document.createElement('td');
        if (t.finding && t.finding.fix) { const code = document.createElement('code'); code.textContent = t.finding.fix; fix.appendChild(code); }
        tr.appendChild(fix);
        return tr;
      }));
    } catch (e) {
      document.getElementById('generated').textContent = 'cannot read /api/fleet: ' + e;
    }
  }
  load();
  setInterval(load, refresh);
})();
</script>
</body>
</html>
`;
}
