// The screenshot of `stockctl top` (docs/screenshots/top.png): starts
// redis-server and stockd with the demo catalogue and a load (as the browser
// test does), runs `stockctl top` in a detached tmux session of 110x34,
// captures the pane with its colours, turns it into HTML (ansi2html.mjs) and
// screenshots that with chromium headless. Exits non-zero, with a message,
// when stockctl has no `top` command or top does not show live numbers.
//
// usage: node top.mjs STOCKD STOCKCTL OUT.png
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  Browser, Rpc, check, hardTimeout, killAll, loadCatalogue, log, startLoad, startStack, tempDir, waitFor,
} from '../../tests/browser/lib.mjs';
import { ansiToHtml } from './ansi2html.mjs';

const [stockd, stockctl, outFile] = process.argv.slice(2);
const SOCK = `stockd-top-${process.pid}`;
const COLS = 110;
const ROWS = 34;

function tmux(...args) {
  const r = spawnSync('tmux', ['-L', SOCK, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args[0]}: ${(r.stderr || '').trim() || 'exit ' + r.status}`);
  return r.stdout;
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

async function main() {
  check(stockd && stockctl && outFile, 'usage: node top.mjs STOCKD STOCKCTL OUT.png');
  check(fs.existsSync(stockctl), `no stockctl at ${stockctl}`);
  const help = spawnSync(stockctl, ['--help'], { encoding: 'utf8' });
  check(/^\s*top\b/m.test((help.stdout || '') + (help.stderr || '')),
    `${stockctl} has no "top" command yet: top.png was not regenerated`);

  const dir = tempDir('stockd-top-');
  let stack = null;
  let load = null;
  let rpc = null;
  let browser = null;
  let session = false;
  try {
    stack = await startStack(stockd, { dir });
    rpc = await Rpc.connect(stack.port);
    await rpc.ok('auth', { token: stack.token });
    await loadCatalogue(rpc);
    load = startLoad(stack.port, stack.token);

    /* top's exit status stays on the screen, and the pane stays open */
    const cmd = `${shellQuote(stockctl)} top --http 127.0.0.1:${stack.http} --token ${shellQuote(stack.token)};` +
      ` echo "[top exited: $?]"; sleep 60`;
    tmux('new-session', '-d', '-s', 'top', '-x', String(COLS), '-y', String(ROWS), cmd);
    session = true;
    const started = Date.now();
    let previous = '';
    let redraws = 0;
    await waitFor('stockctl top to show live numbers for a few seconds', () => {
      const text = tmux('capture-pane', '-p', '-t', 'top');
      check(!text.includes('[top exited'), `stockctl top exited:\n${text.trim()}`);
      if (text !== previous && text.trim()) redraws++;
      previous = text;
      return redraws >= 3 && Date.now() - started > 6000 && /reserve/i.test(text);
    }, { timeoutMs: 30000, intervalMs: 500 });

    const ansi = tmux('capture-pane', '-e', '-p', '-t', 'top');
    const html = path.join(dir, 'top.html');
    fs.writeFileSync(html, ansiToHtml(ansi, { title: 'stockctl top' }));

    /* q: top gives the terminal back and exits 0 */
    tmux('send-keys', '-t', 'top', 'q');
    await waitFor('stockctl top to exit on q', () => {
      const text = tmux('capture-pane', '-p', '-t', 'top');
      const m = text.match(/\[top exited: (\d+)\]/);
      if (m) check(m[1] === '0', `top exited ${m[1]}`);
      return !!m;
    }, { timeoutMs: 5000 });

    browser = await Browser.start(dir);
    await browser.go('file://' + html);
    const id = await browser.find('body');
    const png = await browser.cmd('GET', `/element/${id}/screenshot`);
    fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
    fs.writeFileSync(outFile, Buffer.from(png, 'base64'));
    log(`wrote ${outFile}`);
  } finally {
    if (session) { try { tmux('kill-server'); } catch (e) { /* gone */ } }
    if (load) await load.stop().catch(() => {});
    if (rpc) rpc.close();
    if (browser) await browser.quit().catch(() => {});
    if (stack) await stack.stop().catch(() => {});
  }
  fs.rmSync(dir, { recursive: true, force: true }); /* kept when something failed */
}

const cancel = hardTimeout(120000);
main().then(() => {
  cancel();
  process.exit(0);
}, (e) => {
  cancel();
  console.error(`screenshots: FAIL: ${e.message}`);
  try { tmux('kill-server'); } catch (err) { /* not started */ }
  killAll();
  process.exit(1);
});
