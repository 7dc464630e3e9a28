// What the browser test (ui.mjs) and tools/screenshots/ share: redis-server
// and stockd on free ports in a temp dir, a JSON-RPC client, a demo
// catalogue, a reserve/release load, and chromium driven through
// chromedriver's W3C WebDriver HTTP API. Node 20, no npm packages.
// Every process started here is killed when this process exits, however it
// exits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls fn until it returns a truthy value (returned) or the deadline passes.
// fn may throw to say "not yet, and here is why": the last reason is in the
// timeout's message.
export async function waitFor(what, fn, { timeoutMs = 10000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      why = '';
    } catch (e) {
      why = e.message;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why ? ': ' + why : ''}`);
    await sleep(intervalMs);
  }
}

// ---- processes ----

const children = new Set();

// Starts a process that is killed when this one exits. group: the process
// gets its own process group, killed as a whole (chromedriver and the
// chromium it starts).
export function startProcess(cmd, args, { logFile, group = false, env } = {}) {
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  const p = spawn(cmd, args, { stdio: ['ignore', out, out], detached: group, env: env || process.env });
  if (logFile) fs.closeSync(out);
  p.group = group;
  p.exited = new Promise((resolve) => p.on('exit', (code, sig) => resolve({ code, sig })));
  p.on('error', () => {});
  children.add(p);
  p.on('exit', () => children.delete(p));
  return p;
}

function kill(p, sig) {
  try {
    if (p.group) process.kill(-p.pid, sig);
    else p.kill(sig);
  } catch (e) {
    /* already gone */
  }
}

// SIGTERM, then SIGKILL if it is still there after graceMs.
export async function stopProcess(p, graceMs = 3000) {
  if (!children.has(p)) return;
  kill(p, 'SIGTERM');
  const timer = setTimeout(() => kill(p, 'SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
  if (p.group) kill(p, 'SIGKILL'); /* what is left of its group */
}

export function killAll() {
  for (const p of children) kill(p, 'SIGKILL');
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`caught ${sig}: stopping`);
    killAll();
    process.exit(1);
  });
}

// Exits non-zero (killing every child) if main has not finished in time.
export function hardTimeout(ms) {
  const t = setTimeout(() => {
    console.error(`FAIL: hard timeout of ${ms / 1000} s`);
    killAll();
    process.exit(1);
  }, ms);
  return () => clearTimeout(t);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// ---- redis-server and stockd ----

function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setTimeout(500, () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) { s.destroy(); resolve(got.startsWith('+PONG')); }
    });
  });
}

async function startRedis(dir) {
  const port = await freePort();
  const p = startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')]);
  await waitFor('redis-server to answer PING', () => redisPing(port), { timeoutMs: 10000, intervalMs: 50 });
  return { port, proc: p };
}

// Reads stockd's log until it names its two ports.
async function stockdPorts(logFile) {
  return waitFor('stockd to log its ports', () => {
    const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    const rpc = text.match(/listening on 127\.0\.0\.1:(\d+)/);
    const http = text.match(/metrics on http:\/\/127\.0\.0\.1:(\d+)/);
    return rpc && http ? { port: Number(rpc[1]), http: Number(http[1]) } : null;
  }, { timeoutMs: 10000, intervalMs: 50 });
}

// Starts stockd on free ports against the Redis on redisPort, with the auth
// token in a file when token is given (none: stockd runs without auth).
// Returns {port, http, baseUrl, logFile, proc}.
export async function startStockd(bin, { dir, redisPort, token = null, name = 'stockd' }) {
  check(bin && fs.existsSync(bin), `stockd binary not found: ${bin} (pass it as the first argument)`);
  const args = ['--redis', `redis://127.0.0.1:${redisPort}/0`, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'];
  if (token !== null) {
    const tokenFile = path.join(dir, name + '.token');
    fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
    args.push('--auth-token-file', tokenFile);
  }
  const logFile = path.join(dir, name + '.log');
  const proc = startProcess(bin, args, { logFile });
  const exited = proc.exited.then(({ code, sig }) => {
    throw new Error(`${name} exited early (${sig || code}); see ${logFile}`);
  });
  exited.catch(() => {});
  const { port, http } = await Promise.race([stockdPorts(logFile), exited]);
  const baseUrl = `http://127.0.0.1:${http}`;
  await waitFor(`${name} /readyz`, async () => (await fetch(baseUrl + '/readyz')).status === 200,
    { timeoutMs: 10000, intervalMs: 50 });
  return { port, http, baseUrl, logFile, proc };
}

// Starts redis-server and stockd (with an auth token in a file) in dir.
// Returns {dir, token, port, http, baseUrl, redisPort, logFile, stop()}.
export async function startStack(bin, { dir, token = 'ui-test-token-' + process.pid } = {}) {
  check(bin && fs.existsSync(bin), `stockd binary not found: ${bin} (pass it as the first argument)`);
  const redis = await startRedis(dir);
  const s = await startStockd(bin, { dir, redisPort: redis.port, token });
  return {
    dir, token, port: s.port, http: s.http, baseUrl: s.baseUrl, redisPort: redis.port, logFile: s.logFile,
    async stop() {
      await stopProcess(s.proc);
      await stopProcess(redis.proc);
    },
  };
}

// ---- JSON-RPC over TCP, one JSON object per line ----

export class Rpc {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('error', reject);
      sock.once('connect', () => { sock.off('error', reject); resolve(new Rpc(sock)); });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = '';
    this.nextId = 1;
    this.pending = new Map();
    sock.setEncoding('utf8');
    sock.on('data', (d) => this.onData(d));
    sock.on('error', (e) => this.failAll(e));
    sock.on('close', () => this.failAll(new Error('connection closed')));
  }

  onData(d) {
    this.buf += d;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      const p = this.pending.get(msg.id);
      if (p) { this.pending.delete(msg.id); clearTimeout(p.timer); p.resolve(msg); }
    }
  }

  failAll(e) {
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(e); }
    this.pending.clear();
  }

  // The whole response: {result} or {error}.
  call(method, params, timeoutMs = 5000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.sock.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    });
  }

  // The result, or a thrown error naming the method and stockd's error.
  async ok(method, params) {
    const r = await this.call(method, params);
    if (r.error) throw new Error(`${method} ${JSON.stringify(params)}: ${JSON.stringify(r.error)}`);
    return r.result;
  }

  close() {
    this.sock.destroy();
  }
}

// ---- the demo catalogue and the load ----

// deploy/demo/catalogue.ndjson, plus low-stock thresholds and a few more
// skus so that every panel of the page has something to show.
export async function loadCatalogue(rpc) {
  const lines = fs.readFileSync(path.join(REPO, 'deploy/demo/catalogue.ndjson'), 'utf8')
    .split('\n').filter((l) => l.trim());
  for (const line of lines) {
    const req = JSON.parse(line);
    await rpc.ok(req.method, req.params);
  }
  const extra = [
    ['stock.set', { sku: 'MUG', location: 'wh-east', on_hand: 12, low_stock_threshold: 8 }],
    ['stock.set', { sku: 'TSHIRT-M', location: 'store-9', on_hand: 3, low_stock_threshold: 2 }],
    ['stock.set', { sku: 'POSTER', location: 'wh-west', on_hand: 1, low_stock_threshold: 2 }],
    ['stock.set', { sku: 'HOODIE-L', location: 'wh-east', on_hand: 60, low_stock_threshold: 10 }],
    ['stock.set', { sku: 'HOODIE-L', location: 'wh-west', on_hand: 4, low_stock_threshold: 5 }],
    ['stock.set', { sku: 'CAP', location: 'store-9', on_hand: 0, low_stock_threshold: 3 }],
    ['stock.adjust', { sku: 'HOODIE-L', location: 'wh-west', delta: -2, reason: 'damaged in transit' }],
    ['stock.adjust', { sku: 'CAP', location: 'store-9', delta: 5, reason: 'received' }],
    ['stock.adjust', { sku: 'CAP', location: 'store-9', delta: -4, reason: 'cycle count' }],
  ];
  for (const [method, params] of extra) await rpc.ok(method, params);
}

// Reserves and releases on a few connections, paced, until stopped; about
// one order in ten asks for more POSTERs than exist (1001 out_of_stock), so
// the error panels have something to show. It keeps count of the holds it
// has: pause() waits until every worker is idle, and then heldAllocations()
// is exact.
export function startLoad(port, token, { workers = 3, keep = 12, paceMs = 12 } = {}) {
  const state = { stopped: false, paused: false, idle: 0, wake: null };
  const stats = { reserves: 0, held: 0, releases: 0, outOfStock: 0, unexpected: [] };
  const holds = [];  // per worker: [{id, allocations}]
  let resumed = Promise.resolve();
  let resume = () => {};

  async function worker(w) {
    const rpc = await Rpc.connect(port);
    await rpc.ok('auth', { token });
    const mine = [];
    holds[w] = mine;
    for (let n = 1; !state.stopped; n++) {
      if (state.paused) {
        state.idle++;
        await resumed;
        state.idle--;
        continue;
      }
      const t0 = Date.now();
      if (n % 10 === 0) {
        const r = await rpc.call('reserve', { items: [{ sku: 'POSTER', quantity: 5 }], channel: 'web' });
        stats.reserves++;
        if (r.error && r.error.code === 1001) stats.outOfStock++;
        else stats.unexpected.push(r);
      } else if (mine.length >= keep) {
        const h = mine.shift();
        const r = await rpc.call('release', { reservation_id: h.id, reason: 'load: customer cancelled' });
        stats.releases++;
        if (r.error) stats.unexpected.push(r);
      } else {
        const items = n % 2 ? [{ sku: 'TSHIRT-M', quantity: 1 }]
          : [{ sku: 'TSHIRT-M', quantity: 1 }, { sku: n % 4 ? 'MUG' : 'HOODIE-L', quantity: 1 }];
        const r = await rpc.call('reserve', { items, channel: 'default' });
        stats.reserves++;
        if (r.result) {
          stats.held++;
          mine.push({ id: r.result.reservation_id, allocations: r.result.allocations.length });
        } else {
          stats.unexpected.push(r);
        }
      }
      const wait = paceMs - (Date.now() - t0);
      if (wait > 0) await sleep(wait);
    }
    rpc.close();
  }

  const running = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  running.catch(() => {});
  return {
    stats,
    running,
    async pause() {
      resumed = new Promise((resolve) => { resume = resolve; });
      state.paused = true;
      await waitFor('the load to pause', () => state.idle === workers, { timeoutMs: 10000, intervalMs: 10 });
    },
    resume() {
      state.paused = false;
      resume();
    },
    heldAllocations() {
      return holds.reduce((sum, mine) => sum + (mine || []).reduce((s, h) => s + h.allocations, 0), 0);
    },
    heldIds() {
      return holds.flatMap((mine) => (mine || []).map((h) => h.id));
    },
    async stop() {
      state.stopped = true;
      this.resume();
      await running;
    },
  };
}

// ---- chromium through chromedriver (W3C WebDriver) ----

export const CHROMIUM_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--window-size=1400,1000'];

export class Browser {
  static async start(dir, { flags = [] } = {}) {
    const driver = process.env.CHROMEDRIVER || '/usr/bin/chromedriver';
    const port = await freePort();
    const proc = startProcess(driver, [`--port=${port}`], { logFile: path.join(dir, 'chromedriver.log'), group: true });
    const b = new Browser(`http://127.0.0.1:${port}`, proc);
    await waitFor('chromedriver to be ready', async () => {
      const r = await fetch(b.base + '/status');
      return (await r.json()).value.ready;
    }, { timeoutMs: 15000, intervalMs: 100 });
    const options = { args: [...CHROMIUM_FLAGS, ...flags, `--user-data-dir=${path.join(dir, 'profile')}`] };
    const bin = process.env.CHROMIUM || '/usr/bin/chromium';
    if (fs.existsSync(bin)) options.binary = bin;
    const r = await b.raw('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          'goog:chromeOptions': options,
          'goog:loggingPrefs': { browser: 'ALL' },
          timeouts: { script: 10000, pageLoad: 20000, implicit: 0 },
        },
      },
    });
    b.session = r.sessionId;
    return b;
  }

  constructor(base, proc) {
    this.base = base;
    this.proc = proc;
    this.session = null;
  }

  async raw(method, p, body) {
    const r = await fetch(this.base + p, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30000),
    });
    const json = await r.json();
    if (!r.ok)
      throw new Error(`webdriver ${method} ${p}: ${json.value.error}: ${String(json.value.message).split('\n')[0]}`);
    return json.value;
  }

  cmd(method, p, body) {
    return this.raw(method, `/session/${this.session}${p}`, body);
  }

  go(url) { return this.cmd('POST', '/url', { url }); }
  url() { return this.cmd('GET', '/url'); }

  // Runs a function body in the page (arguments: arguments[0]...); returns its value.
  js(script, ...args) { return this.cmd('POST', '/execute/sync', { script, args }); }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return Object.values(v)[0]; /* the one key is the W3C web element identifier */
  }

  async click(css) {
    const id = await this.find(css);
    await this.cmd('POST', `/element/${id}/click`, {});
  }

  async type(css, text) {
    const id = await this.find(css);
    await this.cmd('POST', `/element/${id}/clear`, {});
    await this.cmd('POST', `/element/${id}/value`, { text });
  }

  async text(css) {
    return this.js('const e = document.querySelector(arguments[0]); return e ? e.textContent : null;', css);
  }

  async visible(css) {
    const id = await this.find(css);
    return this.cmd('GET', `/element/${id}/displayed`);
  }

  async screenshot(file) {
    const png = await this.cmd('GET', '/screenshot');
    fs.writeFileSync(file, Buffer.from(png, 'base64'));
  }

  // The browser's console (chromedriver's log extension): [{level, message}].
  consoleLog() { return this.cmd('POST', '/se/log', { type: 'browser' }); }

  async quit() {
    if (this.session) {
      try { await this.cmd('DELETE', ''); } catch (e) { /* the process goes anyway */ }
      this.session = null;
    }
    await stopProcess(this.proc);
  }
}
