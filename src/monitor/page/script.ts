/**
 * The page's script, inlined into the HTML. Plain ES2020 in a string (the page has no build step and
 * no framework): it reads the refresh interval from `<meta name="warden-refresh">`, fetches
 * `/api/fleet` (FLEET-CONTRACT.md), and redraws the timeline and the table, keeping the user's sort.
 * Everything from the JSON goes in through textContent, never as HTML.
 *
 * Written without template literals so it can live inside one.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var DAY = 86400000;
  var WARNING_DAYS = 30;
  var STATUS_RANK = { critical: 0, expired: 0, unreachable: 1, warning: 2, healthy: 3 };
  var SYMBOL = { healthy: '✓', warning: '⚠', critical: '✖', expired: '✖', unreachable: '⊘' };
  var ROLE_ORDER = ['root', 'issuer', 'jwt-key'];
  var NBSP = '\u00a0'; // keeps a symbol with its word, and a number with its unit, when a cell wraps
  var refreshSeconds = Number(document.querySelector('meta[name="warden-refresh"]').content) || 30;
  var sort = { key: 'status', dir: 1 };
  var fleet = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'style') Object.assign(node.style, attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  function statusBadge(status) {
    var known = Object.prototype.hasOwnProperty.call(SYMBOL, status);
    return el('span', { class: 'st st-' + (known ? status : 'unreachable'), 'data-status': status,
      text: (known ? SYMBOL[status] : '?') + NBSP + status });
  }

  function cert(target, role) {
    return (target.certificates || []).filter(function (c) { return c.role === role; })[0] || null;
  }

  /** "expired 3 d ago", "5 h", "12 d" from seconds left. */
  function left(seconds) {
    if (seconds === null || seconds === undefined) return 'unknown';
    var abs = Math.abs(seconds), text;
    if (abs < 3600) text = Math.floor(abs / 60) + NBSP + 'min';
    else if (abs < 86400) text = Math.floor(abs / 3600) + NBSP + 'h';
    else text = Math.floor(abs / 86400) + NBSP + 'd';
    return seconds < 0 ? 'expired ' + text + ' ago' : text;
  }

  function date(iso) { return iso ? new Date(iso).toISOString().slice(0, 10) : 'unknown'; }
  function time(iso) { return new Date(iso).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'; }

  // ---- timeline ----------------------------------------------------------------------------

  /** The time span drawn: the certificates' validity, at least 30 d back and 60 d ahead, at most 1 y back and 3 y ahead. */
  function span(targets, now) {
    var start = now - 30 * DAY, end = now + 60 * DAY;
    targets.forEach(function (t) {
      (t.certificates || []).forEach(function (c) {
        start = Math.min(start, Date.parse(c.notBefore));
        if (c.notAfter) end = Math.max(end, Date.parse(c.notAfter));
      });
    });
    return { start: Math.max(start, now - 365 * DAY), end: Math.min(end, now + 3 * 365 * DAY) };
  }

  function pct(ms, s) { return Math.min(100, Math.max(0, ((ms - s.start) / (s.end - s.start)) * 100)); }

  function box(from, to, s) {
    var l = pct(from, s), r = pct(to, s);
    return { left: l + '%', width: Math.max(0, r - l) + '%' };
  }

  function ticks(s) {
    var d = new Date(s.start), out = [];
    d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    var months = Math.max(1, Math.ceil((s.end - s.start) / (30 * DAY) / 6));
    for (var i = 0; i < 40 && d.getTime() < s.end; i++) {
      out.push(d.getTime());
      d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
    }
    return out;
  }

  function overlays(s, now, phases) {
    var nodes = [el('div', { class: 'overlay window', style: box(now, now + WARNING_DAYS * DAY, s) })];
    (phases || []).forEach(function (p) {
      var end = p.endedAt ? Date.parse(p.endedAt) : now;
      nodes.push(el('div', { class: 'overlay phase', 'data-phase': p.name, title: 'rotation phase ' + p.name,
        style: box(Date.parse(p.startedAt), Math.max(end, Date.parse(p.startedAt)), s) }));
    });
    nodes.push(el('div', { class: 'overlay now', style: { left: pct(now, s) + '%' } }));
    return nodes;
  }

  function lane(label, s, now, phases, content, note) {
    return el('div', { class: 'tl-row' }, [
      el('div', { class: 'tl-role', text: label }),
      el('div', { class: note ? 'track note' : 'track' }, overlays(s, now, phases).concat(content)),
    ]);
  }

  function drawTimeline(targets, now) {
    var root = document.getElementById('timeline');
    root.textContent = '';
    var s = span(targets, now);
    var axis = el('div', { class: 'tl-row axis', 'aria-hidden': 'true' }, [el('div'), el('div', { class: 'track' },
      // Month labels, leaving room for the "now" label.
      ticks(s).filter(function (t) { return Math.abs(pct(t, s) - pct(now, s)) > 7; }).map(function (t) {
        return el('span', { class: 'tick', style: { left: pct(t, s) + '%' }, text: new Date(t).toISOString().slice(0, 7) });
      }).concat([el('div', { class: 'overlay now', id: 'now-line', style: { left: pct(now, s) + '%' } },
        [el('span', { class: 'now-label', text: 'now' })])]))]);
    root.appendChild(axis);
    targets.forEach(function (t) {
      var phases = t.rotation && t.rotation.phases && t.rotation.phases.length ? t.rotation.phases
        : t.rotation ? [{ name: t.rotation.phase, startedAt: t.rotation.since, endedAt: null }] : [];
      var group = el('div', { class: 'tl-target', 'data-target': t.name, role: 'group', 'aria-label': t.name }, [
        el('div', { class: 'tl-row' }, [el('div', { class: 'tl-name' }, [statusBadge(t.status), ' ', t.name]),
          // The phases are hours on a scale of years: say which one in words too.
          t.rotation ? el('div', { class: 'tl-rotation', text: 'rotating: ' + t.rotation.phase + ' since ' + time(t.rotation.since) }) : el('div')]),
      ]);
      var certs = (t.certificates || []).slice().sort(function (a, b) {
        return ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role);
      });
      if (t.error || certs.length === 0) {
        var why = t.error ? t.error.code + ': ' + t.error.message : 'no certificates found';
        group.appendChild(lane('', s, now, phases, [el('div', { class: 'tl-error', text: why })], true));
      }
      certs.forEach(function (c) {
        var from = Date.parse(c.notBefore), to = c.notAfter ? Date.parse(c.notAfter) : s.end;
        var bar = el('div', {
          class: 'bar ' + (c.notAfter ? 'bar-' + c.status : 'bar-open') + (to > s.end ? ' clipped-end' : ''),
          'data-role': c.role, 'data-status': c.status, 'data-not-after': c.notAfter || '',
          title: c.role + ' ' + c.subject + ': ' + date(c.notBefore) + ' → ' + date(c.notAfter) + ' (' + c.status + ', ' + left(c.secondsLeft) + ')',
          style: box(from, Math.max(from, to), s),
        });
        group.appendChild(lane(c.role + ' · ' + (c.notAfter ? left(c.secondsLeft) : 'no expiry known'), s, now, phases, [bar]));
      });
      root.appendChild(group);
    });
  }

  // ---- table -------------------------------------------------------------------------------

  var COLUMNS = [
    { key: 'status', label: 'Status', value: function (t) { return rank(t.status); } },
    { key: 'target', label: 'Target', value: function (t) { return t.name.toLowerCase(); } },
    { key: 'root', label: 'Root', value: seconds('root') },
    { key: 'issuer', label: 'Issuer', value: seconds('issuer') },
    { key: 'jwt-key', label: 'JWT key', value: seconds('jwt-key') },
    { key: 'rotation', label: 'Rotation', value: function (t) { return t.rotation ? t.rotation.phase : null; } },
    { key: 'configmap', label: 'ConfigMap', value: function (t) { return bool(t.configMapInSync); } },
    { key: 'sentry', label: 'Sentry', value: function (t) { return bool(t.sentryReady); } },
    { key: 'apps', label: 'Apps not converged', value: function (t) { return t.appsNotConverged; } },
    { key: 'finding', label: 'Finding', value: function (t) { return t.finding ? rank(t.finding.severity) : null; } },
    { key: 'fix', label: 'Fix', value: function (t) { return t.finding && t.finding.fix; } },
  ];

  function rank(status) { return Object.prototype.hasOwnProperty.call(STATUS_RANK, status) ? STATUS_RANK[status] : 1; }
  function bool(v) { return v === null || v === undefined ? null : v ? 1 : 0; }
  function seconds(role) { return function (t) { var c = cert(t, role); return c ? c.secondsLeft : null; }; }

  /** Sorted by the chosen column; unknown values last either way, then the worst status, then the name. */
  function sorted(targets) {
    var col = COLUMNS.filter(function (c) { return c.key === sort.key; })[0];
    return targets.slice().sort(function (a, b) {
      var x = col.value(a), y = col.value(b);
      var xn = x === null || x === undefined, yn = y === null || y === undefined;
      if (xn !== yn) return xn ? 1 : -1;
      if (!xn && x !== y) return (x < y ? -1 : 1) * sort.dir;
      return rank(a.status) - rank(b.status) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
  }

  function yesNo(v, yes, no) {
    if (v === null || v === undefined) return el('span', { class: 'muted', text: '—' });
    return v ? el('span', { class: 'st st-healthy', text: '✓' + NBSP + yes }) : el('span', { class: 'st st-critical', text: '✖' + NBSP + no });
  }

  function daysCell(t, role) {
    var c = cert(t, role);
    if (!c) return [el('span', { class: 'muted', text: '—' })];
    if (!c.notAfter) return [el('span', { class: 'muted', text: 'no expiry known' })];
    return [el('span', { class: 'st st-' + c.status, 'data-status': c.status, text: SYMBOL[c.status] + NBSP + left(c.secondsLeft) }),
      el('br'), el('span', { class: 'muted date', text: date(c.notAfter) })];
  }

  function fixCell(t) {
    var fix = t.finding && t.finding.fix;
    if (!fix) return [el('span', { class: 'muted', text: '—' })];
    var button = el('button', { type: 'button', class: 'copy', 'aria-label': 'Copy the fix command for ' + t.name, text: 'Copy' });
    button.addEventListener('click', function () { copy(fix, button); });
    // Long commands (kubeconfig paths, EKS context ARNs) are clamped to a few lines; the title and Copy have it whole.
    return [el('div', { class: 'fix' }, [el('code', { text: fix, title: fix }), button])];
  }

  function copy(text, button) {
    var done = function () { button.textContent = 'Copied'; setTimeout(function () { button.textContent = 'Copy'; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { button.textContent = 'Select and copy'; });
    } else {
      var area = el('textarea', { style: { position: 'fixed', opacity: '0' } });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { if (document.execCommand('copy')) done(); } finally { area.remove(); }
    }
  }

  function findingCell(t) {
    if (t.error) {
      return [el('span', { class: 'st st-unreachable' }, ['⊘' + NBSP, el('code', { text: t.error.code })]), ' ', t.error.message, el('br'),
        el('span', { class: 'muted', text: t.lastSuccessfulRead ? 'last read ' + time(t.lastSuccessfulRead) : 'never read' })];
    }
    if (!t.finding) return [el('span', { class: 'muted', text: '—' })];
    return [statusBadge(t.finding.severity), ' ', el('code', { text: t.finding.code }), ' ', t.finding.message];
  }

  function drawTable(targets) {
    var head = document.querySelector('#fleet thead tr');
    if (!head.children.length) {
      COLUMNS.forEach(function (c) {
        var button = el('button', { type: 'button', text: c.label });
        button.addEventListener('click', function () {
          sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : 1 };
          if (fleet) draw(fleet);
        });
        head.appendChild(el('th', { scope: 'col', 'data-key': c.key }, [button]));
      });
    }
    Array.prototype.forEach.call(head.children, function (th) {
      if (th.getAttribute('data-key') === sort.key) th.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    var body = document.querySelector('#fleet tbody');
    body.textContent = '';
    sorted(targets).forEach(function (t) {
      var meta = [t.kind === 'kubernetes' && t.daprNamespace ? null : t.kind, t.daprNamespace, t.daprVersion ? 'Dapr ' + t.daprVersion : null]
        .filter(Boolean).join(' · ');
      var rotation = t.rotation ? [el('span', { text: t.rotation.phase }), el('br'), el('span', { class: 'muted', text: 'since ' + time(t.rotation.since) })]
        : [el('span', { class: 'muted', text: '—' })];
      var cells = [
        [statusBadge(t.status)],
        [el('strong', { text: t.name }), el('br'), el('span', { class: 'muted', text: meta })],
        daysCell(t, 'root'), daysCell(t, 'issuer'), daysCell(t, 'jwt-key'),
        rotation,
        [yesNo(t.configMapInSync, 'in sync', 'drift')],
        [yesNo(t.sentryReady, 'ready', 'not ready')],
        [t.appsNotConverged === null || t.appsNotConverged === undefined ? el('span', { class: 'muted', text: '—' })
          : el('span', { class: t.appsNotConverged > 0 ? 'st st-warning' : '', text: (t.appsNotConverged > 0 ? '⚠' + NBSP : '') + t.appsNotConverged })],
        findingCell(t),
        fixCell(t),
      ];
      body.appendChild(el('tr', { 'data-target': t.name, 'data-status': t.status }, cells.map(function (content, i) {
        // One wrapper per cell, so the phone layout's two-column grid holds the label and the content.
        var cell = el(i === 1 ? 'th' : 'td', { 'data-label': COLUMNS[i].label, class: i >= 2 && i <= 4 ? 'num' : '' }, [el('div', {}, content)]);
        if (i === 1) cell.setAttribute('scope', 'row');
        return cell;
      })));
    });
  }

  // ---- loading -----------------------------------------------------------------------------

  function draw(data) {
    var targets = data.targets || [];
    var now = Date.parse(data.generatedAt) || new Date().getTime();
    var counts = {};
    targets.forEach(function (t) { counts[t.status] = (counts[t.status] || 0) + 1; });
    var summary = document.getElementById('summary');
    summary.textContent = '';
    summary.appendChild(statusBadge(data.worst || 'healthy'));
    summary.appendChild(document.createTextNode(' ' + targets.length + ' target' + (targets.length === 1 ? '' : 's') +
      (targets.length ? ': ' + ['critical', 'unreachable', 'warning', 'healthy'].filter(function (s) { return counts[s]; })
        .map(function (s) { return counts[s] + ' ' + s; }).join(', ') : '')));
    document.getElementById('updated').textContent = 'Data from ' + time(new Date(now).toISOString()) + ', refreshed every ' + refreshSeconds + ' s';
    document.getElementById('empty').hidden = targets.length > 0;
    drawTimeline(sorted(targets), now);
    drawTable(targets);
  }

  function load() {
    fetch('api/fleet', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (data) {
        if (!data || !Array.isArray(data.targets)) throw new Error('the answer has no targets list');
        fleet = data;
        document.getElementById('load-error').hidden = true;
        draw(data);
      })
      .catch(function (e) {
        var banner = document.getElementById('load-error');
        banner.textContent = 'Could not load /api/fleet (' + e.message + '); ' +
          (fleet ? 'showing the last data; ' : '') + 'retrying in ' + refreshSeconds + ' s.';
        banner.hidden = false;
      })
      .then(function () { setTimeout(load, refreshSeconds * 1000); });
  }

  load();
})();
`;
