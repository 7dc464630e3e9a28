/* stockd's status page. Reads /ui/api/overview every second and, once signed
   in with the auth token, the data endpoints. Every value that came from the
   server goes into the page with textContent (never as HTML), and the token
   lives only in a variable of this script: not in the URL, not in storage. */
'use strict';

(function () {
  const OVERVIEW_MS = 1000;
  const DATA_MS = 3000;
  /* Low stock reads the latest stock events: about 2 ms of Redis, so less often. */
  const LOW_STOCK_MS = 10000;
  const FETCH_TIMEOUT_MS = 5000;
  const SPARK_POINTS = 60;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const NO_TOKEN_TEXT = 'stockd runs without an auth token, so it serves no stock or ' +
    'reservation data here. Start stockd with --auth-token-file (or --tenants-file) ' +
    'to use this part of the page.';

  let token = null;      /* the bearer token while signed in, else null */
  let session = 0;       /* bumped on sign in and out: late answers of an old session are dropped */
  let dataTimer = null;
  let lastNow = 0;
  const spark = { reserves: [], errors: [] };

  const $ = (id) => document.getElementById(id);

  /* ---- formatting: every function returns plain text ---- */

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const rateFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  function isNum(x) { return typeof x === 'number' && Number.isFinite(x); }
  function fmtInt(x) { return isNum(x) ? intFmt.format(x) : '-'; }
  function fmtRate(x) { return isNum(x) ? rateFmt.format(x) : '-'; }
  function fmtMs(x) {
    if (!isNum(x)) return '-';
    return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : intFmt.format(x);
  }
  function pad2(n) { return String(n).padStart(2, '0'); }
  /* A duration in seconds, coarse as it grows: 42s, 5m 07s, 2h 05m, 3d 04h. */
  function fmtAge(s) {
    if (!isNum(s)) return '-';
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + pad2(s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + pad2(Math.floor(s / 60) % 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + pad2(Math.floor(s / 3600) % 24) + 'h';
  }
  /* Unix ms as "2026-12-02 12:01:02.123 UTC" (stockd's times are Redis's clock). */
  function fmtTime(ms) {
    if (!isNum(ms)) return '-';
    return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
  }
  function fmtClock(ms) {
    if (!isNum(ms)) return '-';
    return new Date(ms).toISOString().slice(11, 23);
  }
  function fmtBytes(b) {
    if (!isNum(b) || b < 0) return '-';
    if (b < 1024 * 1024) return (b / 1024).toFixed(0) + ' KiB';
    if (b < 1024 * 1024 * 1024) return (b / 1048576).toFixed(1) + ' MiB';
    return (b / 1073741824).toFixed(2) + ' GiB';
  }
  /* A value of a data row: numbers grouped, null as '-', anything else as text. */
  function fmtCell(v) {
    if (v === null || v === undefined) return '-';
    if (isNum(v)) return intFmt.format(v);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function label(key) { return key.replace(/_/g, ' '); }

  /* ---- DOM helpers: text only ---- */

  function setText(id, v) { $(id).textContent = v; }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function cell(text, cls) { return el('td', text, cls); }
  function numCell(v) { return cell(fmtCell(v), 'num'); }
  /* A button that looks like a link: lets a sku or id open its lookup. */
  function linkButton(text, onClick) {
    const b = el('button', text, 'link');
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }
  function showError(id, text) {
    const p = $(id);
    p.textContent = text;
    p.hidden = !text;
  }
  function tbody(tableId) { return $(tableId).tBodies[0]; }

  /* ---- the API ---- */

  /* GET path; with auth, the token goes in the Authorization header (and
     nowhere else). Resolves to {status, body}; status 0: no answer. */
  async function api(path, bearer) {
    const headers = { Accept: 'application/json' };
    if (bearer) headers.Authorization = 'Bearer ' + bearer;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const resp = await fetch(path, {
        headers, cache: 'no-store', credentials: 'omit', redirect: 'error', signal: ctl.signal,
      });
      let body = null;
      try { body = await resp.json(); } catch (e) { body = null; }
      return { status: resp.status, body };
    } catch (e) {
      return { status: 0, body: null, why: e.name === 'AbortError' ? 'no answer in time' : 'unreachable' };
    } finally {
      clearTimeout(timer);
    }
  }

  function ok(res) {
    return res.status === 200 && res.body && typeof res.body.result === 'object' && res.body.result !== null;
  }

  /* The text shown for a failed call: stockd's message and reason, as text. */
  function errorText(res) {
    if (res.status === 0) return 'stockd: ' + res.why;
    const err = res.body && res.body.error;
    if (!err) return 'HTTP ' + res.status;
    let text = String(err.message || 'error ' + err.code);
    const data = err.data || {};
    const extra = [];
    if (data.reason) extra.push(String(data.reason));
    if (data.field) extra.push('field: ' + String(data.field));
    if (extra.length) text += ' (' + extra.join(', ') + ')';
    return text;
  }

  /* ---- overview ---- */

  function pushSpark(o) {
    if (!isNum(o.now) || o.now === lastNow) return;
    lastNow = o.now;
    const r = o.rates || {};
    spark.reserves.push(isNum(r.reserves) ? r.reserves : 0);
    spark.errors.push(isNum(r.errors) ? r.errors : 0);
    while (spark.reserves.length > SPARK_POINTS) spark.reserves.shift();
    while (spark.errors.length > SPARK_POINTS) spark.errors.shift();
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    return e;
  }

  function drawSpark() {
    const box = $('spark');
    const w = 600, h = 80, top = 4;
    const max = Math.max(1, ...spark.reserves, ...spark.errors);
    const step = w / (SPARK_POINTS - 1);
    const x0 = w - (spark.reserves.length - 1) * step;
    const pts = (vals) => vals.map((v, i) =>
      (x0 + i * step).toFixed(1) + ',' + (h - (v / max) * (h - top)).toFixed(1));
    const parts = [];
    for (const f of [0.25, 0.5, 0.75]) {
      const y = (h - f * (h - top)).toFixed(1);
      parts.push(svg('line', { x1: 0, x2: w, y1: y, y2: y, class: 'spark-grid', 'vector-effect': 'non-scaling-stroke' }));
    }
    if (spark.reserves.length > 1) {
      const r = pts(spark.reserves);
      parts.push(svg('polygon', {
        points: x0.toFixed(1) + ',' + h + ' ' + r.join(' ') + ' ' + w + ',' + h, class: 'spark-area',
      }));
      parts.push(svg('polyline', { points: r.join(' '), class: 'spark-reserves', id: 'spark-reserves', 'vector-effect': 'non-scaling-stroke' }));
      parts.push(svg('polyline', { points: pts(spark.errors).join(' '), class: 'spark-errors', id: 'spark-errors', 'vector-effect': 'non-scaling-stroke' }));
    }
    box.replaceChildren(...parts);
    setText('spark-max', fmtRate(max));
  }

  function renderRows(tableId, emptyId, rows, makeRow) {
    tbody(tableId).replaceChildren(...rows.map(makeRow));
    if (emptyId) $(emptyId).hidden = rows.length > 0;
  }

  function renderOverview(o) {
    setText('version', 'v' + String(o.version));
    const ready = o.ready || {};
    const badge = $('ready');
    badge.textContent = String(ready.text || (ready.ok ? 'ready' : 'not ready'));
    badge.className = 'badge ' + (ready.ok ? 'ok' : 'bad');
    setText('uptime', fmtAge(o.uptime_s));
    setText('auth-mode', o.auth === 'none' ? 'none (no data)' : String(o.auth));
    setText('updated', fmtClock(o.now) + ' UTC');
    $('updated').dataset.now = String(o.now);

    const r = o.rates || {};
    setText('rate-requests', fmtRate(r.requests));
    setText('rate-reserves', fmtRate(r.reserves));
    setText('rate-held', fmtRate(r.reserves_held));
    setText('rate-errors', fmtRate(r.errors));

    const lat = o.latency || {};
    for (const kind of ['all', 'reserve']) {
      const l = lat[kind] || {};
      setText('lat-' + kind + '-p50', fmtMs(l.p50_ms));
      setText('lat-' + kind + '-p90', fmtMs(l.p90_ms));
      setText('lat-' + kind + '-p99', fmtMs(l.p99_ms));
      setText('lat-' + kind + '-count', fmtInt(l.count));
    }
    setText('lat-window', isNum(lat.window_s) ? fmtAge(lat.window_s) : '-');
    setText('connections', fmtInt(o.connections));
    setText('inflight', fmtInt(o.inflight));
    setText('rss', fmtBytes(o.rss_bytes));

    renderRows('errors-table', 'errors-empty', o.errors || [], (e) => {
      const tr = el('tr');
      tr.append(cell(String(e.code)), cell(fmtCell(e.reason)), cell(fmtRate(e.per_s), 'num'), numCell(e.total));
      return tr;
    });
    renderRows('methods-table', 'methods-empty', o.methods || [], (m) => {
      const tr = el('tr');
      tr.append(cell(fmtCell(m.method)), cell(fmtRate(m.per_s), 'num'), numCell(m.total), numCell(m.errors));
      return tr;
    });

    const rd = o.redis || {};
    const up = $('redis-up');
    up.textContent = rd.up ? 'up' : 'down';
    up.className = 'badge ' + (rd.up ? 'ok' : 'bad');
    setText('redis-mode', fmtCell(rd.mode));
    setText('redis-master', rd.master ? String(rd.master) : '-');
    setText('redis-failovers', fmtInt(rd.failovers));
    setText('redis-connects', fmtInt(rd.connects));
    setText('redis-disconnects', fmtInt(rd.disconnects));
    setText('redis-oom', rd.out_of_memory ? 'yes: writes refused' : 'no');
    $('redis-oom').className = rd.out_of_memory ? 'bad-text' : '';
    const cl = rd.cluster;
    setText('redis-cluster-masters', cl ? fmtInt(cl.masters_up) + ' up of ' + fmtInt(cl.masters) : 'not a cluster');
    setText('redis-cluster-slots', cl ? fmtInt(cl.slots) : '-');
    const du = rd.durability || {};
    setText('redis-durability', !du.required ? 'none' :
      du.required + ' replica' + (du.required > 1 ? 's' : '') + ', ' + fmtInt(du.failures) + ' failures');

    const sw = o.sweeper || {};
    const runs = sw.runs || {};
    setText('sweeper-expired', fmtInt(sw.expired_total));
    setText('sweeper-expired-rate', fmtRate(sw.expired_per_s));
    setText('sweeper-quarantined', fmtInt(sw.quarantined_total));
    setText('sweeper-runs', fmtInt(runs.done) + ' / ' + fmtInt(runs.cut) + ' / ' + fmtInt(runs.failed));
    setText('sweeper-last-done', isNum(sw.last_done_age_s) ? fmtAge(sw.last_done_age_s) + ' ago' : 'none yet');

    const hooks = o.webhooks || [];
    $('webhooks').hidden = hooks.length === 0;
    renderRows('webhooks-table', null, hooks, (w) => {
      const tr = el('tr');
      tr.append(cell(fmtCell(w.index)), cell(fmtCell(w.group)), numCell(w.delivered), numCell(w.undelivered),
        cell(fmtAge(w.oldest_age_s), 'num'), numCell(w.failing));
      return tr;
    });

    pushSpark(o);
    drawSpark();
  }

  async function pollOverview() {
    const res = await api('/ui/api/overview', null);
    try {
      if (ok(res)) {
        renderOverview(res.body.result);
        showError('overview-error', '');
      } else {
        showError('overview-error', 'overview: ' + errorText(res));
        const badge = $('ready');
        badge.textContent = res.status === 0 ? 'unreachable' : 'error';
        badge.className = 'badge bad';
      }
    } catch (e) {
      showError('overview-error', 'overview: ' + String(e && e.message));
    }
    setTimeout(pollOverview, OVERVIEW_MS);
  }

  /* ---- signing in and out ---- */

  function clearData() {
    for (const id of ['low-stock-table', 'ledger-table']) tbody(id).replaceChildren();
    for (const id of ['stock-table', 'res-alloc-table']) {
      const t = $(id);
      t.tHead.rows[0].replaceChildren();
      tbody(id).replaceChildren();
      if (t.tFoot) t.tFoot.rows[0].replaceChildren();
    }
    $('res-fields').replaceChildren();
    for (const id of ['holds-live', 'holds-skus', 'holds-oldest-age', 'holds-overdue', 'holds-next'])
      setText(id, '-');
    for (const id of ['stock-sku', 'low-stock-scanned', 'ledger-updated']) setText(id, '');
    for (const id of ['holds-error', 'low-stock-error', 'ledger-error', 'sku-error', 'res-error'])
      showError(id, '');
    for (const id of ['holds-note', 'stock-result', 'res-result', 'low-stock-empty', 'ledger-empty', 'stock-empty'])
      $(id).hidden = true;
    $('sku-search').value = '';
    $('res-id').value = '';
  }

  function signOut(message) {
    token = null;
    session++;
    if (dataTimer !== null) clearTimeout(dataTimer);
    dataTimer = null;
    clearData();
    $('data').hidden = true;
    $('signed-in').hidden = true;
    $('login-form').hidden = false;
    $('token').value = '';
    showError('login-error', message || '');
  }

  /* A data call answered 401 or 403: the token is not (or no longer) good. */
  function authLost(res) {
    if (res.status === 401) { signOut('the token is no longer accepted: sign in again'); return true; }
    if (res.status === 403) { signOut(NO_TOKEN_TEXT); return true; }
    return false;
  }

  async function signIn(ev) {
    ev.preventDefault();
    const candidate = $('token').value.trim();
    if (!candidate) return;
    const btn = $('login-btn');
    btn.disabled = true;
    showError('login-error', '');
    const res = await api('/ui/api/auth', candidate);
    btn.disabled = false;
    if (ok(res) && res.body.result.authenticated) {
      token = candidate;
      session++;
      $('token').value = '';
      $('login-form').hidden = true;
      $('signed-in').hidden = false;
      const tenant = res.body.result.tenant;
      setText('whoami', tenant ? 'signed in as tenant ' + String(tenant) : 'signed in');
      $('data').hidden = false;
      refreshData();
    } else if (res.status === 401) {
      showError('login-error', 'wrong token');
      $('token').select();
    } else if (res.status === 403) {
      showError('login-error', NO_TOKEN_TEXT);
    } else {
      showError('login-error', errorText(res));
    }
  }

  /* One data call of the current session; null when it was dropped (signed
     out meanwhile, or the token was refused). */
  async function dataCall(path) {
    const mine = session;
    const res = await api(path, token);
    if (mine !== session || token === null) return null;
    if (authLost(res)) return null;
    return res;
  }

  /* ---- holds, low stock, ledger: refreshed while signed in ---- */

  function renderHolds(h) {
    setText('holds-live', fmtInt(h.holds));
    setText('holds-skus', fmtInt(h.skus));
    const note = $('holds-note');
    note.hidden = h.complete !== false;
    note.textContent = 'Counted the first 1,000 skus with holds only: there are more.';
    const n = h.next;
    const overdue = $('holds-overdue');
    overdue.className = '';
    if (!n) {
      setText('holds-oldest-age', 'no holds');
      overdue.textContent = '-';
      setText('holds-next', '-');
      return;
    }
    setText('holds-oldest-age', isNum(n.created_at) ? fmtAge((h.now - n.created_at) / 1000) : 'unknown');
    const late = h.now - n.deadline;
    if (late > 0) {
      overdue.textContent = fmtAge(late / 1000) + ' past its deadline';
      overdue.className = 'bad-text';
    } else {
      overdue.textContent = 'not overdue (expires in ' + fmtAge(-late / 1000) + ')';
    }
    const next = $('holds-next');
    next.replaceChildren(linkButton(String(n.reservation_id), () => lookUp(String(n.reservation_id))),
      document.createTextNode(' ' + fmtCell(n.sku) + ' @ ' + fmtCell(n.location) + ' x' + fmtCell(n.quantity)));
  }

  function renderLowStock(r) {
    const rows = r.rows || [];
    renderRows('low-stock-table', 'low-stock-empty', rows, (x) => {
      const tr = el('tr');
      const sku = cell('');
      sku.append(linkButton(fmtCell(x.sku), () => searchSku(String(x.sku))));
      const avail = numCell(x.available);
      if (isNum(x.available) && x.available <= 0) avail.classList.add('neg');
      tr.append(sku, cell(fmtCell(x.location)), avail, numCell(x.low_stock_threshold),
        numCell(x.on_hand), numCell(x.reserved));
      return tr;
    });
    setText('low-stock-scanned', isNum(r.scanned) ? fmtInt(r.scanned) + ' recent stock events scanned' : '');
  }

  const LEDGER_TYPES = ['reserve', 'release', 'expire', 'commit', 'restock', 'set', 'adjust'];

  function renderLedger(r) {
    const rows = r.entries || [];
    renderRows('ledger-table', 'ledger-empty', rows, (x) => {
      const tr = el('tr');
      const at = cell(fmtClock(x.at));
      at.title = fmtTime(x.at);
      const type = cell('');
      const t = String(x.type);
      type.append(el('span', t, 'type' + (LEDGER_TYPES.includes(t) ? ' type-' + t : '')));
      const res = cell('');
      if (x.reservation) {
        const id = String(x.reservation);
        res.append(linkButton(id, () => lookUp(id)));
      }
      tr.append(at, type, cell(fmtCell(x.sku)), cell(fmtCell(x.location)), numCell(x.quantity), res,
        cell(x.reason ? String(x.reason) : '', 'reason'));
      return tr;
    });
    setText('ledger-updated', 'as of ' + new Date().toISOString().slice(11, 19) + ' UTC');
  }

  async function refreshPanel(path, errorId, render) {
    const res = await dataCall(path);
    if (res === null) return;
    if (ok(res)) {
      showError(errorId, '');
      render(res.body.result);
    } else {
      showError(errorId, errorText(res));
    }
  }

  let lowStockAt = 0;
  let lowStockSession = null;

  async function refreshData() {
    if (dataTimer !== null) clearTimeout(dataTimer);
    dataTimer = null;
    const mine = session;
    const panels = [
      refreshPanel('/ui/api/holds', 'holds-error', renderHolds),
      refreshPanel('/ui/api/ledger?count=20', 'ledger-error', renderLedger),
    ];
    if (lowStockSession !== session || Date.now() - lowStockAt >= LOW_STOCK_MS) {
      lowStockSession = session;
      lowStockAt = Date.now();
      panels.push(refreshPanel('/ui/api/low-stock?count=50', 'low-stock-error', renderLowStock));
    }
    try {
      await Promise.all(panels);
    } finally {
      if (mine === session && token !== null) dataTimer = setTimeout(refreshData, DATA_MS);
    }
  }

  /* ---- stock by sku ---- */

  const STOCK_COLUMNS = ['location', 'on_hand', 'reserved', 'safety_stock', 'available',
    'backorder_limit', 'backordered', 'low_stock_threshold'];
  const ALLOC_COLUMNS = ['sku', 'location', 'quantity', 'backordered'];

  /* The known columns first, in their order, then any others the rows carry. */
  function columnsOf(rows, preferred, skip) {
    const seen = new Set();
    for (const r of rows) for (const k of Object.keys(r)) if (!skip.includes(k)) seen.add(k);
    return preferred.filter((k) => seen.has(k)).concat([...seen].filter((k) => !preferred.includes(k)));
  }

  function headRow(table, cols) {
    table.tHead.rows[0].replaceChildren(...cols.map((c) => el('th', label(c), c === cols[0] ? '' : 'num')));
  }

  function renderStock(s) {
    const rows = s.locations || [];
    const cols = columnsOf(rows, STOCK_COLUMNS, ['sku']);
    const table = $('stock-table');
    setText('stock-sku', fmtCell(s.sku));
    headRow(table, cols);
    renderRows('stock-table', 'stock-empty', rows, (r) => {
      const tr = el('tr');
      for (const c of cols) {
        const td = c === cols[0] ? cell(fmtCell(r[c])) : numCell(r[c]);
        if (c === 'available' && isNum(r[c]) && r[c] <= 0) td.classList.add('neg');
        tr.append(td);
      }
      return tr;
    });
    const totals = s.totals || {};
    table.tFoot.rows[0].replaceChildren(...cols.map((c, i) =>
      i === 0 ? cell('total') : cell(c in totals ? fmtCell(totals[c]) : '', 'num')));
    table.tFoot.hidden = rows.length === 0;
    $('stock-result').hidden = false;
  }

  async function searchSku(sku) {
    $('sku-search').value = sku;
    showError('sku-error', '');
    const res = await dataCall('/ui/api/stock?sku=' + encodeURIComponent(sku));
    if (res === null) return;
    if (ok(res)) {
      renderStock(res.body.result);
    } else {
      $('stock-result').hidden = true;
      showError('sku-error', errorText(res));
    }
  }

  /* ---- reservation lookup ---- */

  const RES_FIELDS = ['reservation_id', 'status', 'order_id', 'created_at', 'expires_at', 'reason'];
  const STATUS_CLASS = { held: 'badge ok', committed: 'badge', released: 'badge warn', expired: 'badge bad' };

  function renderReservation(r) {
    const keys = RES_FIELDS.filter((k) => k in r)
      .concat(Object.keys(r).filter((k) => !RES_FIELDS.includes(k) && k !== 'allocations'));
    $('res-fields').replaceChildren(...keys.map((k) => {
      const div = el('div');
      const dd = el('dd');
      if (/^[a-z_]+$/.test(k) && k !== 'id') dd.id = 'res-' + k.replace(/_/g, '-');
      const v = r[k];
      if (k === 'status') {
        dd.append(el('span', String(v), STATUS_CLASS[v] || 'badge'));
      } else if (k.endsWith('_at') && isNum(v)) {
        dd.textContent = fmtTime(v);
        dd.title = String(v);
      } else {
        dd.textContent = fmtCell(v);
      }
      div.append(el('dt', label(k)), dd);
      return div;
    }));
    const allocs = Array.isArray(r.allocations) ? r.allocations : [];
    const cols = columnsOf(allocs, ALLOC_COLUMNS, []);
    headRow($('res-alloc-table'), cols);
    renderRows('res-alloc-table', null, allocs, (a) => {
      const tr = el('tr');
      for (const c of cols) tr.append(c === 'sku' || c === 'location' ? cell(fmtCell(a[c])) : numCell(a[c]));
      return tr;
    });
    $('res-result').hidden = false;
  }

  async function lookUp(id) {
    $('res-id').value = id;
    showError('res-error', '');
    const res = await dataCall('/ui/api/reservation?id=' + encodeURIComponent(id));
    if (res === null) return;
    if (ok(res)) {
      renderReservation(res.body.result);
    } else {
      $('res-result').hidden = true;
      showError('res-error', errorText(res));
    }
  }

  /* ---- wiring ---- */

  function start() {
    $('login-form').addEventListener('submit', signIn);
    $('logout').addEventListener('click', () => signOut(''));
    $('sku-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const sku = $('sku-search').value.trim();
      if (sku) searchSku(sku);
    });
    $('res-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = $('res-id').value.trim();
      if (id) lookUp(id);
    });
    drawSpark();
    pollOverview();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
