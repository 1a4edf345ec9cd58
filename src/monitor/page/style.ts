/**
 * The page's stylesheet, inlined into the HTML (no external asset). Colours are CSS variables with a
 * dark set under `prefers-color-scheme: dark`; every status colour is paired with a symbol and a
 * word in the markup, so nothing depends on colour alone. Below 40rem the table becomes one card per
 * target and the timeline's labels sit above their bars, so a phone needs no horizontal scrolling.
 */
export const PAGE_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa;
  --ok: #1a7f37; --warn: #9a6700; --crit: #cf222e; --down: #6e7781;
  --ok-bar: #2da44e; --warn-bar: #d4a72c; --crit-bar: #cf222e; --unknown-bar: #8c959f;
  --window: rgba(212, 167, 44, 0.16); --phase: rgba(84, 174, 255, 0.22); --now: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
    --ok: #3fb950; --warn: #d29922; --crit: #f85149; --down: #9198a1;
    --ok-bar: #2ea043; --warn-bar: #bb8009; --crit-bar: #da3633; --unknown-bar: #656c76;
    --window: rgba(187, 128, 9, 0.22); --phase: rgba(56, 139, 253, 0.28); --now: #4493f8;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main { max-width: 90rem; margin: 0 auto; padding: 0.75rem 1rem; }
h1 { font-size: 1.35rem; margin: 0.25rem 0; }
h2 { font-size: 1.1rem; margin: 1rem 0 0.5rem; }
code { font: 0.85rem/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: break-word; }
.muted { color: var(--muted); }
#summary { font-size: 1.05rem; font-weight: 600; margin: 0.25rem 0; }
#load-error { border: 1px solid var(--crit); color: var(--crit); padding: 0.5rem 0.75rem; border-radius: 6px; }
#load-error[hidden] { display: none; }

.st { font-weight: 600; white-space: nowrap; }
.st-healthy { color: var(--ok); } .st-warning { color: var(--warn); }
.st-critical, .st-expired { color: var(--crit); } .st-unreachable { color: var(--down); }

/* Timeline */
.legend { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; font-size: 0.85rem; color: var(--muted); margin-bottom: 0.5rem; }
.swatch { display: inline-block; width: 1.1rem; height: 0.7rem; vertical-align: middle; border-radius: 2px; margin-right: 0.3rem; }
.timeline { border: 1px solid var(--line); border-radius: 6px; background: var(--panel); padding: 0.5rem; }
.tl-row { display: grid; grid-template-columns: minmax(8rem, 14rem) 1fr; gap: 0.5rem; align-items: center; }
.tl-target { border-top: 1px solid var(--line); padding: 0.35rem 0; }
.tl-target:first-of-type { border-top: 0; }
.tl-name { font-weight: 600; overflow-wrap: anywhere; }
.tl-role { font-size: 0.8rem; color: var(--muted); padding-left: 0.75rem; }
.track { position: relative; height: 1.15rem; }
.axis .track { height: 1.3rem; }
.tick { position: absolute; top: 0; font-size: 0.72rem; color: var(--muted); white-space: nowrap; transform: translateX(-50%); }
.bar { position: absolute; top: 0.15rem; height: 0.85rem; border-radius: 3px; min-width: 2px; }
.bar-healthy { background: var(--ok-bar); }
.bar-warning { background: var(--warn-bar); }
.bar-critical, .bar-expired { background: var(--crit-bar); }
.bar-open { background: repeating-linear-gradient(90deg, var(--unknown-bar) 0 6px, transparent 6px 9px); }
.bar.clipped-end { border-top-right-radius: 0; border-bottom-right-radius: 0; }
.tl-error { position: relative; z-index: 3; font-size: 0.85rem; color: var(--down); overflow-wrap: anywhere; }
.track.note { height: auto; min-height: 1.15rem; }
.overlay { position: absolute; top: 0; bottom: 0; pointer-events: none; }
.window { background: var(--window); }
.phase { background: var(--phase); border-left: 2px solid var(--now); min-width: 3px; }
.tl-rotation { font-size: 0.8rem; color: var(--now); }
.now { width: 0; border-left: 2px solid var(--now); z-index: 2; }
.now-label { position: absolute; top: -0.1rem; left: 0.25rem; font-size: 0.72rem; color: var(--now); font-weight: 600; white-space: nowrap; }

/* Table: it scrolls in its own box when wider than the screen, never the page. */
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
caption { text-align: left; color: var(--muted); font-size: 0.85rem; padding-bottom: 0.35rem; }
th, td { border-bottom: 1px solid var(--line); padding: 0.35rem 0.4rem; text-align: left; vertical-align: top; }
thead th { vertical-align: bottom; }
tbody th { font-weight: normal; min-width: 7rem; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th button:focus-visible, .copy:focus-visible { outline: 2px solid var(--now); outline-offset: 2px; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
td.num { font-variant-numeric: tabular-nums; }
td .st { white-space: normal; }
.date { white-space: nowrap; }
td code { overflow-wrap: anywhere; }
td[data-label="Finding"] { min-width: 9rem; }
tbody th strong { overflow-wrap: anywhere; }
.fix { display: flex; gap: 0.4rem; align-items: flex-start; }
/* The fix column stays bounded with real commands (kubeconfig paths): at most three lines, then an
   ellipsis; the whole command is the title and what Copy copies. */
td[data-label="Fix"] { max-width: 22rem; }
.fix code { min-width: 9rem; display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3; overflow: hidden; }
.copy { font: inherit; font-size: 0.8rem; border: 1px solid var(--line); background: var(--panel); color: var(--fg);
  border-radius: 4px; padding: 0.1rem 0.45rem; cursor: pointer; white-space: nowrap; }

@media (max-width: 40rem) {
  header, main { padding: 0.5rem 0.6rem; }
  .tl-row { grid-template-columns: 1fr; gap: 0.1rem; }
  .tl-row > :first-child:empty { display: none; }
  .tl-role { padding-left: 0; }
  table, tbody, tr { display: block; width: 100%; }
  tbody th { white-space: normal; }
  thead tr { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; }
  thead th { border: 0; padding: 0.2rem 0; }
  tbody tr { border: 1px solid var(--line); border-radius: 6px; margin: 0.5rem 0; padding: 0.25rem 0.5rem; }
  td, tbody th { border: 0; padding: 0.2rem 0; display: grid; grid-template-columns: 8.5rem 1fr; gap: 0.5rem; }
  td::before, tbody th::before { content: attr(data-label); color: var(--muted); font-size: 0.8rem; }
  td > div, th > div { min-width: 0; overflow-wrap: anywhere; }
  .st { white-space: normal; }
  .fix code { min-width: 0; }
}
`;
