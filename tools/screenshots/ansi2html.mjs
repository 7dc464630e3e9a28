// Turns a terminal capture (`tmux capture-pane -e -p`: text with SGR colour
// sequences) into a small self-contained HTML page: monospace on a dark
// background, the 16 ANSI colours mapped to a readable palette, 256-colour
// and true-colour sequences kept. Every character of the capture is escaped.
//
// usage: node ansi2html.mjs < capture.txt > capture.html
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const BG = '#11161d';
const FG = '#d8dee9';
// black red green yellow blue magenta cyan white, then the bright ones
const PALETTE = ['#2e3440', '#e06c75', '#98c379', '#e5c07b', '#61afef', '#c678dd', '#56b6c2', '#d8dee9',
  '#5c6370', '#ff7b86', '#b5e890', '#ffd68a', '#82c4ff', '#dda0f0', '#7fd8e3', '#ffffff'];

function color256(n) {
  if (n < 16) return PALETTE[n];
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const c = n - 16;
  const level = (x) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${level(Math.floor(c / 36))},${level(Math.floor(c / 6) % 6)},${level(c % 6)})`;
}

function escape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fresh() {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false };
}

// Applies one SGR sequence's parameters to the state.
function sgr(st, params) {
  const p = params.length ? params : [0];
  for (let i = 0; i < p.length; i++) {
    const n = p[i];
    if (n === 0) Object.assign(st, fresh());
    else if (n === 1) st.bold = true;
    else if (n === 2) st.dim = true;
    else if (n === 3) st.italic = true;
    else if (n === 4) st.underline = true;
    else if (n === 7) st.reverse = true;
    else if (n === 22) { st.bold = false; st.dim = false; }
    else if (n === 23) st.italic = false;
    else if (n === 24) st.underline = false;
    else if (n === 27) st.reverse = false;
    else if (n >= 30 && n <= 37) st.fg = PALETTE[n - 30];
    else if (n === 39) st.fg = null;
    else if (n >= 40 && n <= 47) st.bg = PALETTE[n - 40];
    else if (n === 49) st.bg = null;
    else if (n >= 90 && n <= 97) st.fg = PALETTE[n - 90 + 8];
    else if (n >= 100 && n <= 107) st.bg = PALETTE[n - 100 + 8];
    else if (n === 38 || n === 48) {
      let c = null;
      if (p[i + 1] === 5) { c = color256(p[i + 2] || 0); i += 2; }
      else if (p[i + 1] === 2) { c = `rgb(${p[i + 2] || 0},${p[i + 3] || 0},${p[i + 4] || 0})`; i += 4; }
      if (n === 38) st.fg = c;
      else st.bg = c;
    }
  }
}

function style(st) {
  let fg = st.fg || FG;
  let bg = st.bg;
  if (st.reverse) { [fg, bg] = [bg || BG, fg]; }
  const css = [];
  if (fg !== FG) css.push(`color:${fg}`);
  if (bg) css.push(`background:${bg}`);
  if (st.bold) css.push('font-weight:bold');
  if (st.dim) css.push('opacity:0.65');
  if (st.italic) css.push('font-style:italic');
  if (st.underline) css.push('text-decoration:underline');
  return css.join(';');
}

// The capture as HTML: one <pre id="term"> of styled spans.
export function ansiToHtml(text, { title = 'terminal' } = {}) {
  const st = fresh();
  let out = '';
  let run = '';
  let runStyle = '';
  const flush = () => {
    if (run) out += runStyle ? `<span style="${runStyle}">${escape(run)}</span>` : escape(run);
    run = '';
  };
  const re = /\x1b\[([0-9;:]*)([A-Za-z])|\x1b[()][0-9A-Za-z]|\x1b[=>]|([^\x1b]+)|\x1b/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m[3] !== undefined) {
      const s = style(st);
      if (s !== runStyle) { flush(); runStyle = s; }
      run += m[3].replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
    } else if (m[2] === 'm') {
      sgr(st, m[1] === '' ? [] : m[1].split(/[;:]/).map((x) => Number(x) || 0));
    }
    /* any other sequence (cursor moves, charsets) has no place in a capture */
  }
  flush();
  const body = out.replace(/\n+$/, '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
  html, body { margin: 0; background: #1b2029; }
  body { padding: 24px; display: inline-block; }
  #term { margin: 0; padding: 14px 18px; background: ${BG}; color: ${FG}; border-radius: 8px;
          font: 14px/1.3 "DejaVu Sans Mono", "Liberation Mono", monospace; white-space: pre;
          box-shadow: 0 4px 18px rgba(0, 0, 0, 0.45); }
</style></head>
<body><pre id="term">${body}</pre></body></html>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(ansiToHtml(fs.readFileSync(0, 'utf8')));
}
