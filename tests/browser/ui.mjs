#!/usr/bin/env node
// The status page in a real browser (chromium headless through
// chromedriver): stockd with an auth token, a demo catalogue and a
// reserve/release load; checks the overview is live and matches
// /ui/api/overview, that no stock or reservation data is served or shown
// without the token, that after signing in the stock table, a reservation,
// the holds and the ledger match the JSON-RPC truth, and that HTML in a sku
// or a release reason is shown as text and never runs. Saves screenshots in
// $STOCKD_SCREENSHOT_DIR (default: the test's temp dir).
//
// usage: node ui.mjs STOCKD_BINARY   (or STOCKD_BIN in the environment)
import fs from 'node:fs';
import path from 'node:path';
import {
  Browser, Rpc, check, hardTimeout, killAll, loadCatalogue, log, startLoad, startStack, startStockd, stopProcess,
  tempDir, waitFor,
} from './lib.mjs';

const HARD_TIMEOUT_MS = 170000;
const XSS_SKU = '<script>window.__pwned=1</script>';
const XSS_REASON = '<img src=x onerror="window.__pwned=2"><b>bold</b>';
const DATA_PATHS = ['/ui/api/auth', '/ui/api/stock?sku=TSHIRT-M', '/ui/api/reservation?id=RID',
  '/ui/api/ledger', '/ui/api/holds', '/ui/api/low-stock'];

// The page's formatting (ui.js), so a cell can be compared with its value.
const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
function fmtCell(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return intFmt.format(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function fmtTime(ms) { return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC'); }
function fmtClock(ms) { return new Date(ms).toISOString().slice(11, 23); }
function label(key) { return key.replace(/_/g, ' '); }
function num(text) { return Number(String(text).replace(/,/g, '')); }

const timings = [];
async function step(name, fn) {
  const t0 = Date.now();
  log(`--- ${name}`);
  await fn();
  timings.push([name, Date.now() - t0]);
}

// JSON with object keys sorted: WebDriver does not keep their order.
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}

function same(what, got, want) {
  check(JSON.stringify(canon(got)) === JSON.stringify(canon(want)),
    `${what}: the page shows ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

async function apiGet(baseUrl, p, headers = {}) {
  const r = await fetch(baseUrl + p, { headers, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  return { status: r.status, headers: r.headers, text, body };
}

// A table as text: {head: [..], rows: [[..]..], foot: [..]}.
const TABLE_JS = `
  const t = document.querySelector(arguments[0]);
  const cells = (tr) => tr ? [...tr.cells].map((c) => c.textContent) : [];
  return { head: cells(t.tHead && t.tHead.rows[0]), rows: [...t.tBodies[0].rows].map(cells),
           foot: cells(t.tFoot && t.tFoot.rows[0]) };`;

async function main() {
  const bin = process.argv[2] || process.env.STOCKD_BIN;
  const dir = tempDir('stockd-ui-');
  const shots = process.env.STOCKD_SCREENSHOT_DIR ? path.resolve(process.env.STOCKD_SCREENSHOT_DIR) : dir;
  fs.mkdirSync(shots, { recursive: true });
  log(`temp dir ${dir}, screenshots in ${shots}`);

  let stack = null;
  let browser = null;
  let load = null;
  let rpc = null;
  let other = null;
  try {
    let base;
    let token;
    await step('start redis-server and stockd, load the demo catalogue, start the load', async () => {
      stack = await startStack(bin, { dir });
      base = stack.baseUrl;
      token = stack.token;
      rpc = await Rpc.connect(stack.port);
      await rpc.ok('auth', { token });
      await loadCatalogue(rpc);
      load = startLoad(stack.port, token);
      log(`stockd on ${stack.port}, http ${base}`);
    });

    await step('the page and its headers', async () => {
      for (const p of ['/ui', '/ui/', '/ui/ui.css', '/ui/ui.js']) {
        const r = await apiGet(base, p);
        check(r.status === 200, `${p}: HTTP ${r.status}`);
        check(r.headers.get('x-content-type-options') === 'nosniff', `${p}: no nosniff`);
        if (p.startsWith('/ui/ui.')) continue;
        const csp = r.headers.get('content-security-policy') || '';
        check(csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), `${p}: CSP is ${csp}`);
      }
      browser = await Browser.start(dir);
      await browser.go(base + '/ui');
    });

    await step('the overview is live and matches /ui/api/overview', async () => {
      await waitFor('reserves/s > 0 on the page', async () => {
        const t = await browser.text('#rate-reserves');
        check(num(t) > 0, `#rate-reserves is ${t}`);
        return true;
      }, { timeoutMs: 15000 });
      await waitFor('the page to agree with /ui/api/overview', async () => {
        const o = (await apiGet(base, '/ui/api/overview')).body.result;
        const p = await browser.js(`const t = (id) => document.getElementById(id).textContent;
          return { version: t('version'), ready: t('ready'), auth: t('auth-mode'), requests: t('rate-requests'),
                   reserves: t('rate-reserves'), errors: t('rate-errors'), p99: t('lat-reserve-p99'),
                   connections: t('connections'), mode: t('redis-mode'), master: t('redis-master'),
                   up: t('redis-up'), failovers: t('redis-failovers'),
                   codes: [...document.querySelectorAll('#errors-table tbody tr')].map((r) => r.cells[0].textContent) };`);
        same('version', p.version, 'v' + o.version);
        same('ready', p.ready, o.ready.text);
        same('auth mode', p.auth, o.auth);
        same('redis mode', p.mode, o.redis.mode);
        same('redis master', p.master, o.redis.master);
        same('redis up', p.up, o.redis.up ? 'up' : 'down');
        same('failovers', num(p.failovers), o.redis.failovers);
        same('connections', num(p.connections), o.connections);
        same('error codes', p.codes, o.errors.map((e) => String(e.code)));
        check(o.errors.some((e) => e.code === 1001), 'no 1001 out_of_stock in /ui/api/overview errors');
        for (const k of ['requests', 'reserves', 'errors']) {
          const want = o.rates[k];
          check(Math.abs(num(p[k]) - want) <= Math.max(2, want * 0.3),
            `${k}/s: the page shows ${p[k]}, /ui/api/overview says ${want}`);
        }
        check(num(p.p99) > 0 && o.latency.reserve.p99_ms > 0, `reserve p99: page ${p.p99}, api ${o.latency.reserve.p99_ms}`);
        return true;
      }, { timeoutMs: 15000, intervalMs: 300 });
      /* screenshots for the docs: wait for a longer line */
      const points = process.env.STOCKD_SCREENSHOT_DIR ? 30 : 8;
      await waitFor(`a sparkline of ${points} points`, async () =>
        browser.js(`const l = document.getElementById('spark-reserves');
                    return !!l && l.getAttribute('points').split(' ').length >= arguments[0];`, points),
      { timeoutMs: (points + 15) * 1000 });
      await browser.screenshot(path.join(shots, 'ui-overview.png'));
    });

    await step('without the token: no data served, none shown', async () => {
      const rid = load.heldIds()[0];
      check(rid, 'the load holds no reservation yet');
      const skus = ['TSHIRT-M', 'MUG', 'wh-east', rid];
      const tries = [['no header', {}], ['a wrong token', { Authorization: 'Bearer not-' + token }],
        ['a Basic header', { Authorization: 'Basic ' + Buffer.from('x:' + token).toString('base64') }]];
      for (const p0 of DATA_PATHS) {
        const p = p0.replace('RID', encodeURIComponent(rid));
        for (const [what, headers] of tries) {
          const r = await apiGet(base, p, headers);
          check(r.status === 401, `${p} with ${what}: HTTP ${r.status}`);
          check(/^Bearer /.test(r.headers.get('www-authenticate') || ''), `${p} with ${what}: no WWW-Authenticate`);
          check(r.body && r.body.error && r.body.error.code === 1006 && !('result' in r.body),
            `${p} with ${what}: ${r.text}`);
          for (const s of skus) check(!r.text.includes(s), `${p} with ${what} leaks ${s}: ${r.text}`);
        }
        const q = await apiGet(base, p + (p.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token));
        check(q.status === 401, `${p} with the token in the query: HTTP ${q.status} (only the header counts)`);
      }
      const page = await browser.js(`return { data: document.getElementById('data').hidden,
          form: document.getElementById('login-form').hidden, text: document.body.innerText,
          all: document.body.textContent,
          rows: document.querySelectorAll('#data tbody tr, #res-fields div').length };`);
      check(page.data === true && page.form === false, 'before login: the data part is not hidden');
      check(page.rows === 0, `before login: ${page.rows} data rows in the page`);
      const asked = await browser.js(`return performance.getEntriesByType('resource').map((e) => e.name)
          .filter((n) => n.includes('/ui/api/') && !n.endsWith('/ui/api/overview'));`);
      same('data requests of the page before login', asked, []);
      const good = await apiGet(base, '/ui/api/auth', { Authorization: 'Bearer ' + token });
      check(good.status === 200 && good.body.result.authenticated === true, `/ui/api/auth with the token: ${good.text}`);
      for (const s of skus) check(!page.all.includes(s), `before login the page contains ${s}`);
    });

    await step('a wrong token is refused', async () => {
      await browser.type('#token', 'wrong-' + token);
      await browser.click('#login-btn');
      await waitFor('"wrong token"', async () => {
        const t = await browser.text('#login-error');
        check(t === 'wrong token' && await browser.visible('#login-error'), `#login-error: ${t}`);
        return true;
      });
      check(await browser.js('return document.getElementById("data").hidden;'), 'data shown after a wrong token');
    });

    await step('signing in', async () => {
      await browser.type('#token', token);
      await browser.click('#login-btn');
      await waitFor('the data part', () => browser.visible('#data'));
      const s = await browser.js(`return { token: document.getElementById('token').value, url: location.href,
          local: localStorage.length, session: sessionStorage.length, cookie: document.cookie,
          error: document.getElementById('login-error').hidden };`);
      check(s.token === '', 'the token field still holds the token');
      check(!s.url.includes(token) && s.url === base + '/ui', `the URL is ${s.url}`);
      check(s.local === 0 && s.session === 0 && s.cookie === '', `storage: ${JSON.stringify(s)}`);
      check(s.error === true, 'the login error is still shown');
    });

    let mine;
    let probe;
    await step('pause the load; reserve, adjust', async () => {
      await load.pause();
      mine = await rpc.ok('reserve', { order_id: 'ui-check-' + process.pid, channel: 'default',
        items: [{ sku: 'TSHIRT-M', quantity: 2 }, { sku: 'MUG', quantity: 1 }] });
      probe = await rpc.ok('stock.adjust', { sku: 'TSHIRT-M', location: 'store-9', delta: 3, reason: 'cycle count: +3' });
      log(`held by the load: ${load.heldAllocations()} allocations; mine: ${mine.reservation_id}`);
    });

    await step('stock by sku matches stock.get', async () => {
      await browser.type('#sku-search', 'TSHIRT-M');
      await browser.click('#sku-btn');
      const truth = await rpc.ok('stock.get', { sku: 'TSHIRT-M' });
      const cols = ['location', 'on_hand', 'reserved', 'safety_stock', 'available', 'backorder_limit',
        'backordered', 'low_stock_threshold'].filter((c) => truth.locations.some((r) => c in r));
      for (const r of truth.locations)
        for (const k of Object.keys(r)) if (k !== 'sku' && !cols.includes(k)) cols.push(k);
      const want = {
        head: cols.map(label),
        rows: truth.locations.map((r) => cols.map((c) => fmtCell(r[c]))),
        foot: cols.map((c, i) => (i === 0 ? 'total' : c in truth.totals ? fmtCell(truth.totals[c]) : '')),
      };
      check(truth.locations.length === 3 && truth.totals.reserved > 0, `stock.get: ${JSON.stringify(truth)}`);
      await waitFor('the stock table to match stock.get', async () => {
        same('#stock-table', await browser.js(TABLE_JS, '#stock-table'), want);
        same('#stock-sku', await browser.text('#stock-sku'), 'TSHIRT-M');
        return true;
      });
      await browser.js(`document.querySelector('.data').scrollIntoView({ block: 'start' });`);
      await browser.screenshot(path.join(shots, 'ui-stock.png'));
    });

    await step('holds match what is held', async () => {
      const held = load.heldAllocations() + mine.allocations.length;
      const api = (await apiGet(base, '/ui/api/holds', { Authorization: 'Bearer ' + token })).body.result;
      check(api.holds === held, `/ui/api/holds says ${api.holds}, the load and the test hold ${held}`);
      await waitFor(`#holds-live to show ${held}`, async () => {
        const p = await browser.js(`const t = (id) => document.getElementById(id).textContent;
          return { live: t('holds-live'), skus: t('holds-skus'), age: t('holds-oldest-age'), over: t('holds-overdue') };`);
        same('#holds-live', p.live, fmtCell(held));
        same('#holds-skus', p.skus, fmtCell(api.skus));
        check(/^\d+(s|m \d\ds)$/.test(p.age), `#holds-oldest-age: ${p.age}`);
        check(p.over.startsWith('not overdue'), `#holds-overdue: ${p.over}`);
        return true;
      });
    });

    await step('the ledger shows the latest movement', async () => {
      const api = (await apiGet(base, '/ui/api/ledger?count=1', { Authorization: 'Bearer ' + token })).body.result;
      const e = api.entries[0];
      check(e.type === 'adjust' && e.sku === 'TSHIRT-M' && e.location === 'store-9' && e.quantity === 3 &&
        e.reason === 'cycle count: +3', `the latest ledger entry is not the adjust: ${JSON.stringify(e)}`);
      await waitFor('the ledger\'s first row to be the adjust', async () => {
        const t = await browser.js(TABLE_JS, '#ledger-table');
        same('ledger row 1', t.rows[0], [fmtClock(e.at), 'adjust', 'TSHIRT-M', 'store-9', '3', '', 'cycle count: +3']);
        check(t.rows.length === 20, `${t.rows.length} ledger rows`);
        return true;
      });
      check(probe.on_hand === 6, `stock.adjust answered ${JSON.stringify(probe)}`);
    });

    await step('low stock matches /ui/api/low-stock', async () => {
      await waitFor('the low-stock table to match', async () => {
        const api = (await apiGet(base, '/ui/api/low-stock?count=50', { Authorization: 'Bearer ' + token })).body.result;
        check(api.rows.length > 0, 'no low-stock rows');
        const t = await browser.js(TABLE_JS, '#low-stock-table');
        same('#low-stock-table', t.rows, api.rows.map((r) => [r.sku, r.location, r.available,
          r.low_stock_threshold, r.on_hand, r.reserved].map(fmtCell)));
        return true;
      }, { timeoutMs: 15000 }); // the page reads low stock every 10 s
    });

    const RES_JS = `const f = {};
      for (const d of document.querySelectorAll('#res-fields div')) f[d.querySelector('dt').textContent] =
        [d.querySelector('dd').id, d.querySelector('dd').textContent];
      return f;`;
    async function checkReservation(id) {
      const truth = await rpc.ok('reservation.get', { reservation_id: id });
      const want = {};
      for (const [k, v] of Object.entries(truth)) {
        if (k === 'allocations') continue;
        want[label(k)] = ['res-' + k.replace(/_/g, '-'),
          k.endsWith('_at') && typeof v === 'number' ? fmtTime(v) : fmtCell(v)];
      }
      const cols = ['sku', 'location', 'quantity', 'backordered'].filter((c) => truth.allocations.some((a) => c in a));
      await waitFor(`the reservation ${id} to match reservation.get`, async () => {
        const got = await browser.js(RES_JS);
        same('reservation fields', got, want);
        same('#res-alloc-table', await browser.js(TABLE_JS, '#res-alloc-table'),
          { head: cols.map(label), rows: truth.allocations.map((a) => cols.map((c) => fmtCell(a[c]))), foot: [] });
        return true;
      });
      return truth;
    }

    await step('a reservation matches reservation.get', async () => {
      const missing = await rpc.call('reservation.get', { reservation_id: 'no-such-reservation' });
      check(missing.error && missing.error.code === 1002, `reservation.get of no id: ${JSON.stringify(missing)}`);
      await browser.type('#res-id', 'no-such-reservation');
      await browser.click('#res-btn');
      await waitFor('"not found" beside the lookup', async () => {
        same('#res-error', await browser.text('#res-error'), `${missing.error.message} (${missing.error.data.reason})`);
        return browser.visible('#res-error');
      });
      await browser.type('#res-id', mine.reservation_id);
      await browser.click('#res-btn');
      const truth = await checkReservation(mine.reservation_id);
      check(truth.status === 'held' && (await browser.text('#res-status')) === 'held', 'not held');
    });

    await step('a sku with <script> is rejected and shown as text', async () => {
      const truth = await rpc.call('stock.get', { sku: XSS_SKU });
      check(truth.error && truth.error.code === -32602, `stock.get of the sku: ${JSON.stringify(truth)}`);
      await browser.type('#sku-search', XSS_SKU);
      await browser.click('#sku-btn');
      const want = `${truth.error.message} (${truth.error.data.reason}, field: ${truth.error.data.field})`;
      await waitFor('the validation error beside the form', async () => {
        same('#sku-error', await browser.text('#sku-error'), want);
        return browser.visible('#sku-error');
      });
      const p = await browser.js(`return { pwned: typeof window.__pwned, scripts: document.scripts.length,
        result: document.getElementById('stock-result').hidden, value: document.getElementById('sku-search').value };`);
      same('window.__pwned', p.pwned, 'undefined');
      same('script elements', p.scripts, 1);
      check(p.result === true, 'the old stock table is still shown');
      same('the search field', p.value, XSS_SKU);
    });

    await step('a release reason with HTML is shown as text', async () => {
      await rpc.ok('release', { reservation_id: mine.reservation_id, reason: XSS_REASON });
      await browser.click('#res-btn');
      const truth = await checkReservation(mine.reservation_id);
      check(truth.reason === XSS_REASON && truth.status === 'released', `reservation.get: ${JSON.stringify(truth)}`);
      same('#res-reason', await browser.text('#res-reason'), XSS_REASON);
      await waitFor('the release in the ledger', async () => {
        const t = await browser.js(TABLE_JS, '#ledger-table');
        check(t.rows[0][1] === 'release' && t.rows[0][6] === XSS_REASON, `ledger row 1: ${JSON.stringify(t.rows[0])}`);
        check(t.rows.filter((r) => r[6] === XSS_REASON).length === mine.allocations.length, 'not one row per allocation');
        return true;
      });
      const p = await browser.js(`return { pwned: typeof window.__pwned,
        tags: document.querySelectorAll('img, b, script:not([src])').length, scripts: document.scripts.length };`);
      same('window.__pwned', p.pwned, 'undefined');
      same('<img>, <b> and inline <script> elements', p.tags, 0);
      same('script elements', p.scripts, 1);
      await browser.js(`document.getElementById('res-result').closest('.grid').scrollIntoView({ block: 'start' });`);
      await browser.screenshot(path.join(shots, 'ui-reservation.png'));
      await browser.js(`document.getElementById('ledger-table').closest('.panel').scrollIntoView({ block: 'start' });`);
      await browser.screenshot(path.join(shots, 'ui-ledger.png'));
    });

    await step('the load resumes; signing out forgets everything', async () => {
      load.resume();
      await browser.click('#logout');
      const p = await browser.js(`return { data: document.getElementById('data').hidden,
        form: document.getElementById('login-form').hidden, token: document.getElementById('token').value,
        all: document.body.textContent, rows: document.querySelectorAll('#data tbody tr, #res-fields div').length };`);
      check(p.data === true && p.form === false, 'after sign out: the data part is not hidden');
      same('rows after sign out', p.rows, 0);
      same('the token field', p.token, '');
      for (const s of ['TSHIRT-M', mine.reservation_id, XSS_REASON])
        check(!p.all.includes(s), `after sign out the page still contains ${s}`);
      await waitFor('reserves/s > 0 again', async () => num(await browser.text('#rate-reserves')) > 0);
    });

    await step('stockd without a token: 403, and the page says why', async () => {
      other = await startStockd(bin, { dir, redisPort: stack.redisPort, token: null, name: 'stockd-open' });
      for (const p of DATA_PATHS) {
        const r = await apiGet(other.baseUrl, p.replace('RID', encodeURIComponent(mine.reservation_id)),
          { Authorization: 'Bearer ' + token });
        check(r.status === 403 && r.body && r.body.error && r.body.error.code === 1006 && !('result' in r.body),
          `${p} of a stockd without a token: HTTP ${r.status} ${r.text}`);
        check(!r.text.includes('TSHIRT') && !r.text.includes(mine.reservation_id), `${p} leaks data: ${r.text}`);
      }
      await browser.go(other.baseUrl + '/ui');
      await waitFor('auth mode "none"', async () => (await browser.text('#auth-mode')) === 'none (no data)');
      await browser.type('#token', 'anything');
      await browser.click('#login-btn');
      await waitFor('the explanation beside the form', async () => {
        const t = await browser.text('#login-error');
        check(/runs without an auth token/.test(t) && /--auth-token-file/.test(t), `#login-error: ${t}`);
        return browser.visible('#login-error');
      });
      check(await browser.js('return document.getElementById("data").hidden;'), 'data shown without a token');
      await stopProcess(other.proc);
      other = null;
    });

    await step('the browser console has no CSP violation or error', async () => {
      const entries = await browser.consoleLog();
      const bad = entries.filter((e) => e.level === 'SEVERE' || /Content.Security.Policy|Refused to/i.test(e.message))
        /* the 401 of the wrong token, the 400 of the bad sku, the 404 of no id and the 403 were asked for */
        .filter((e) => !/Failed to load resource: the server responded with a status of 40[0134]/.test(e.message));
      check(bad.length === 0, `console: ${bad.map((e) => e.message).join(' | ')}`);
    });

    await step('stop the load', async () => {
      const st = load.stats;
      await load.stop();
      load = null;
      log(`load: ${st.reserves} reserves (${st.held} held, ${st.outOfStock} out of stock), ${st.releases} releases`);
      check(st.unexpected.length === 0, `unexpected answers to the load: ${JSON.stringify(st.unexpected.slice(0, 3))}`);
      check(st.held > 0 && st.outOfStock > 0 && st.releases > 0, 'the load did not run');
    });
  } finally {
    if (load) await load.stop().catch(() => {});
    if (rpc) rpc.close();
    if (browser) await browser.quit().catch(() => {});
    if (other) await stopProcess(other.proc).catch(() => {});
    if (stack) await stack.stop().catch(() => {});
  }
  return { dir, shots };
}

const cancel = hardTimeout(HARD_TIMEOUT_MS);
const t0 = Date.now();
main().then(({ dir, shots }) => {
  cancel();
  for (const [name, ms] of timings) log(`${String(ms).padStart(6)} ms  ${name}`);
  log(`PASS in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${shots}`);
  for (const f of fs.readdirSync(dir)) if (!f.endsWith('.png')) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  if (shots !== dir && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  process.exit(0);
}, (e) => {
  cancel();
  console.error(`FAIL: ${e.stack || e.message}`);
  killAll();
  process.exit(1);
});
