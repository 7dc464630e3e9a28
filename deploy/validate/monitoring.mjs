// The checks of deploy/validate/monitoring.sh that read files: the alert
// rules and their tests, the Grafana dashboard, and the metric and label
// names their PromQL uses against what stockd and stockd-export expose.
// Each command prints one "ok ..." or "FAIL ..." line per check and exits 1
// when one failed.
//
//   node monitoring.mjs rules ALERTS.yaml TESTS.yaml DOC.md
//       every alert has `for`, a severity, summary, description and a
//       runbook_url whose section is in DOC.md, and a test where it fires
//       and one where it does not
//   node monitoring.mjs dashboard DASHBOARD.json
//       parses; uid, variables, unique ids, grid positions, targets with an
//       expr and the datasource variable
//   node monitoring.mjs dashboard-rules DASHBOARD.json OUT.yaml
//       writes the dashboard's PromQL as recording rules (Grafana's
//       variables replaced) for `promtool check rules`, which parses it
//   node monitoring.mjs names --rules ALERTS.yaml --dashboard DASHBOARD.json METRICS.txt...
//       every metric named in the PromQL is in one of the expositions
//       (histogram series by their _bucket/_sum/_count names; `up` is
//       Prometheus's own), and every label name used (matchers, by/on
//       clauses, legends, annotations) is a label of those metrics or a
//       target label (job, instance)
//   node monitoring.mjs list --rules ALERTS.yaml --dashboard DASHBOARD.json
//       prints each metric named, with its matchers' labels, and the
//       grouping and legend labels
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";

let failures = 0;
const ok = (msg) => console.log(`ok   ${msg}`);
const fail = (msg) => {
  console.log(`FAIL ${msg}`);
  failures++;
};

// ---- PromQL --------------------------------------------------------------------

const AGGREGATIONS = new Set([
  "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
  "bottomk", "topk", "quantile", "limitk", "limit_ratio",
]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]);
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
// Series Prometheus makes itself, not an exporter.
const BUILTIN = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"]);
// Labels the scrape adds to every series.
const TARGET_LABELS = new Set(["job", "instance"]);

function tokenize(expr) {
  const tokens = [];
  const re = /\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_:][A-Za-z0-9_:]*|[0-9][0-9A-Za-z_.+]*|\.[0-9]+|=~|!~|!=|==|<=|>=|[-+*/%^(){}\[\],=<>@]/y;
  let m;
  while (re.lastIndex < expr.length) {
    const at = re.lastIndex;
    if (!(m = re.exec(expr))) throw new Error(`cannot read PromQL at "${expr.slice(at, at + 20)}"`);
    const t = m[0];
    if (/^\s/.test(t) || t.startsWith("#")) continue;
    let kind = "punct";
    if (/^["'`]/.test(t)) kind = "string";
    else if (t.startsWith("$")) kind = "var";
    else if (/^[A-Za-z_:]/.test(t)) kind = "ident";
    else if (/^[0-9.]/.test(t)) kind = "number";
    tokens.push({ kind, text: t });
  }
  return tokens;
}

// The metric names of an expression, each with the label names its
// matchers use, and the label names of its by/without/on/ignoring/group_*
// clauses.
function analyse(expr) {
  const tokens = tokenize(expr);
  const selectors = []; // {name, labels: [..]}
  const grouping = new Set();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const next = tokens[i + 1];
    if (t.text === "[") {
      while (i < tokens.length && tokens[i].text !== "]") i++;
      continue;
    }
    if (t.text === "{") {
      // A selector without a name ({__name__="x"}): its matchers.
      const labels = [];
      i = matchers(tokens, i, labels);
      const name = labels.find((l) => l.name === "__name__");
      if (name) selectors.push({ name: name.value, labels: labels.filter((l) => l.name !== "__name__").map((l) => l.name) });
      continue;
    }
    if (t.kind !== "ident") continue;
    const lower = t.text.toLowerCase();
    if (GROUPING.has(t.text)) {
      if (next && next.text === "(") {
        i += 2;
        for (; i < tokens.length && tokens[i].text !== ")"; i++)
          if (tokens[i].kind === "ident") grouping.add(tokens[i].text);
      }
      continue;
    }
    if (KEYWORDS.has(lower)) continue;
    if (next && next.text === "(") continue; // a function or an aggregation
    if (AGGREGATIONS.has(t.text) && next && GROUPING.has(next.text)) continue; // sum by (...) (...)
    const sel = { name: t.text, labels: [] };
    if (next && next.text === "{") {
      const labels = [];
      i = matchers(tokens, i + 1, labels);
      sel.labels = labels.map((l) => l.name);
    }
    selectors.push(sel);
  }
  return { selectors, grouping: [...grouping] };
}

// Reads the matchers from the "{" at tokens[i]; returns the index of "}".
function matchers(tokens, i, out) {
  for (i++; i < tokens.length && tokens[i].text !== "}"; i++) {
    if (tokens[i].kind === "ident" && tokens[i + 1] && /^(=|!=|=~|!~)$/.test(tokens[i + 1].text)) {
      const v = tokens[i + 2];
      out.push({ name: tokens[i].text, value: v && v.kind === "string" ? v.text.slice(1, -1) : "" });
      i += 2;
    }
  }
  return i;
}

// ---- inputs --------------------------------------------------------------------

function loadRules(file) {
  const doc = parse(readFileSync(file, "utf8"));
  const rules = [];
  for (const g of doc.groups ?? []) for (const r of g.rules ?? []) rules.push({ group: g.name, ...r });
  return rules;
}

function loadDashboard(file) {
  return JSON.parse(readFileSync(file, "utf8"));
}

// Every panel, rows' nested panels included.
function allPanels(d) {
  const out = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    for (const q of p.panels ?? []) out.push(q);
  }
  return out;
}

// The PromQL of the dashboard: panel targets and query variables, with
// where each comes from and the label names its legend uses.
function dashboardExprs(d) {
  const out = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== "string") continue;
      const legend = [...(t.legendFormat ?? "").matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]);
      out.push({ where: `dashboard panel ${p.id} "${p.title}" ${t.refId}`, key: `panel_${p.id}_${t.refId}`, expr: t.expr, labels: legend });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : v.query?.query ?? "";
    // Grafana's label_values(METRIC_OR_SELECTOR, LABEL) and friends.
    const lv = /^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/.exec(q);
    const where = `dashboard variable ${v.name}`, key = `variable_${v.name}`;
    if (lv) out.push({ where, key, expr: lv[1], labels: [lv[2]] });
    else if (/^\s*query_result\((.*)\)\s*$/.test(q)) out.push({ where, key, expr: q.replace(/^\s*query_result\((.*)\)\s*$/, "$1"), labels: [] });
    else if (/^\s*label_names\(/.test(q) || /^\s*metrics\(/.test(q)) continue;
    else if (q.trim()) out.push({ where, key, expr: q, labels: [] });
  }
  return out;
}

function rulesExprs(rules) {
  return rules.map((r) => {
    const text = Object.values(r.annotations ?? {}).join(" ") + " " + Object.values(r.labels ?? {}).join(" ");
    const labels = [...text.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
    return { where: `rule ${r.alert ?? r.record}`, expr: String(r.expr), labels };
  });
}

// The Prometheus text exposition: series name -> label names (null: a
// family declared by # TYPE with no sample now), and the families' types.
function loadExposition(files) {
  const series = new Map();
  const types = new Map();
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      let m;
      if ((m = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)/.exec(line))) {
        types.set(m[1], m[2]);
        continue;
      }
      if (line.startsWith("#") || !line.trim()) continue;
      if (!(m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s/.exec(line))) continue;
      const labels = series.get(m[1]) ?? new Set();
      for (const l of (m[3] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.add(l[1]);
      series.set(m[1], labels);
    }
  }
  for (const [family, type] of types) {
    const names = type === "histogram" ? [`${family}_bucket`, `${family}_sum`, `${family}_count`]
      : type === "summary" ? [family, `${family}_sum`, `${family}_count`] : [family];
    for (const n of names) if (!series.has(n)) series.set(n, null);
  }
  return { series, types };
}

// ---- commands ------------------------------------------------------------------

function slug(heading) {
  // GitHub's anchors: lower case, punctuation dropped, spaces to dashes.
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function cmdRules(alertsFile, testsFile, docFile) {
  const rules = loadRules(alertsFile).filter((r) => r.alert);
  const doc = readFileSync(docFile, "utf8");
  const anchors = new Set([...doc.matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => slug(m[1])));
  const problems = [];
  const names = new Set();
  for (const r of rules) {
    const p = [];
    if (names.has(r.alert)) p.push("defined twice");
    names.add(r.alert);
    if (!r.for) p.push("no `for`");
    if (!["critical", "warning", "info"].includes(r.labels?.severity)) p.push(`severity ${JSON.stringify(r.labels?.severity)} (want critical, warning or info)`);
    for (const a of ["summary", "description", "runbook_url"]) if (!r.annotations?.[a]) p.push(`no ${a}`);
    const url = r.annotations?.runbook_url ?? "";
    const m = /^docs\/monitoring\.md#(.+)$/.exec(url);
    if (url && !m) p.push(`runbook_url ${url} is not docs/monitoring.md#<section>`);
    else if (m && !anchors.has(m[1])) p.push(`runbook_url ${url}: no such section in ${docFile}`);
    if (p.length) problems.push(`${r.alert}: ${p.join(", ")}`);
  }
  if (problems.length) fail(`rules: ${problems.join("; ")}`);
  else ok(`rules: ${rules.length} alerts, each with for, severity, summary, description and a runbook section in docs/monitoring.md`);

  const tests = parse(readFileSync(testsFile, "utf8"));
  const fires = new Set();
  const quiet = new Set();
  for (const t of tests.tests ?? [])
    for (const a of t.alert_rule_test ?? []) {
      if ((a.exp_alerts ?? []).length > 0) {
        fires.add(a.alertname);
        if (a.exp_alerts.some((e) => !e.exp_labels || !e.exp_annotations)) problems.push(`${a.alertname}: an expected alert without exp_labels or exp_annotations`);
      } else quiet.add(a.alertname);
    }
  const missing = [];
  for (const r of rules) {
    if (!fires.has(r.alert)) missing.push(`${r.alert} never fires`);
    if (!quiet.has(r.alert)) missing.push(`${r.alert} has no case where it stays quiet`);
  }
  for (const n of new Set([...fires, ...quiet])) if (!names.has(n)) missing.push(`a test names ${n}, which is not an alert`);
  if (missing.length) fail(`rule tests: ${missing.join("; ")}`);
  else ok(`rule tests: every alert (${rules.length}) has a case where it fires (labels and annotations) and one where it does not`);
}

function cmdDashboard(file) {
  let d;
  try {
    d = loadDashboard(file);
  } catch (e) {
    fail(`dashboard: ${file} does not parse: ${e.message}`);
    return;
  }
  const p = [];
  if (d.uid !== "stockd") p.push(`uid ${JSON.stringify(d.uid)} (want "stockd")`);
  if (!(d.schemaVersion >= 36)) p.push(`schemaVersion ${d.schemaVersion} (want 36 or later)`);
  const vars = d.templating?.list ?? [];
  const ds = vars.find((v) => v.name === "datasource");
  if (!ds || ds.type !== "datasource" || ds.query !== "prometheus") p.push("no variable `datasource` of type datasource for prometheus");
  const inst = vars.find((v) => v.name === "instance");
  if (!inst || inst.type !== "query") p.push("no query variable `instance`");
  const dsRef = (x) => x && (x.uid === "${datasource}" || x.uid === "$datasource");
  if (inst && !dsRef(inst.datasource)) p.push("variable instance does not use the datasource variable");

  const panels = allPanels(d);
  const ids = new Map();
  const cells = new Map();
  let targets = 0;
  for (const pn of panels) {
    const name = `panel ${pn.id} "${pn.title ?? ""}"`;
    if (typeof pn.id !== "number") p.push(`${name}: no numeric id`);
    else if (ids.has(pn.id)) p.push(`${name}: id ${pn.id} used twice`);
    ids.set(pn.id, true);
    const g = pn.gridPos;
    if (!g || ![g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n >= 0) || g.w < 1 || g.h < 1 || g.x + g.w > 24) {
      p.push(`${name}: gridPos ${JSON.stringify(g)} (want h, w, x, y; x + w <= 24)`);
    } else {
      for (let yy = g.y; yy < g.y + g.h; yy++)
        for (let xx = g.x; xx < g.x + g.w; xx++) {
          const k = `${xx},${yy}`;
          if (cells.has(k)) {
            p.push(`${name}: overlaps panel ${cells.get(k)}`);
            yy = Infinity;
            break;
          }
          cells.set(k, pn.id);
        }
    }
    if (pn.type === "row") continue;
    if (!pn.title) p.push(`${name}: no title`);
    if (!dsRef(pn.datasource)) p.push(`${name}: datasource is not the datasource variable`);
    if (!Array.isArray(pn.targets) || pn.targets.length === 0) {
      p.push(`${name}: no targets`);
      continue;
    }
    const refs = new Set();
    for (const t of pn.targets) {
      targets++;
      if (typeof t.expr !== "string" || !t.expr.trim()) p.push(`${name} ${t.refId}: no expr`);
      if (!dsRef(t.datasource)) p.push(`${name} ${t.refId}: datasource is not the datasource variable`);
      if (!t.refId || refs.has(t.refId)) p.push(`${name}: refId ${JSON.stringify(t.refId)} missing or used twice`);
      refs.add(t.refId);
    }
  }
  const rows = panels.filter((x) => x.type === "row").length;
  if (p.length) fail(`dashboard: ${p.join("; ")}`);
  else ok(`dashboard: uid stockd, schemaVersion ${d.schemaVersion}, variables datasource and instance, ${rows} rows, ${panels.length - rows} panels with ${targets} targets (unique ids, grid positions without overlap, every target with an expr and the datasource variable)`);
}

function cmdDashboardRules(file, out) {
  const d = loadDashboard(file);
  // Each named after its panel and refId (or variable): promtool's message
  // names the record.
  const rules = dashboardExprs(d).map((e) => ({
    record: `dashboard:${e.key.replace(/[^A-Za-z0-9_]/g, "_")}`,
    expr: e.expr
      .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}/g, "1m")
      .replace(/\$__range|\$\{__range\}/g, "1h")
      .replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, ".*"),
  }));
  writeFileSync(out, JSON.stringify({ groups: [{ name: "dashboard", rules }] }, null, 1));
  console.log(rules.length);
}

function cmdNames(args) {
  const rulesFiles = [], dashFiles = [], metricFiles = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--rules") rulesFiles.push(args[++i]);
    else if (args[i] === "--dashboard") dashFiles.push(args[++i]);
    else metricFiles.push(args[i]);
  }
  const { series, types } = loadExposition(metricFiles);
  const exprs = [];
  for (const f of rulesFiles) exprs.push(...rulesExprs(loadRules(f)));
  for (const f of dashFiles) exprs.push(...dashboardExprs(loadDashboard(f)));

  const unknown = new Map(); // name -> where
  const badLabels = [];
  const used = new Set();
  const unsampled = new Set(); // declared by # TYPE, no sample: labels unknown
  for (const e of exprs) {
    let a;
    try {
      a = analyse(e.expr);
    } catch (err) {
      fail(`${e.where}: ${err.message}`);
      continue;
    }
    const known = new Set(TARGET_LABELS);
    let complete = true; // every metric's labels known (has samples)
    for (const s of a.selectors) {
      if (BUILTIN.has(s.name)) continue;
      used.add(s.name);
      if (!series.has(s.name)) {
        let why = "";
        const base = s.name.replace(/_(bucket|sum|count)$/, "");
        if (types.get(s.name) === "histogram") why = " (a histogram: its series are _bucket, _sum, _count)";
        else if (base !== s.name && types.has(base)) why = ` (${base} is a ${types.get(base)}, not a histogram)`;
        if (!unknown.has(s.name)) unknown.set(s.name, `${e.where}${why}`);
        complete = false;
        continue;
      }
      const labels = series.get(s.name);
      if (labels === null) {
        unsampled.add(s.name);
        complete = false;
        continue;
      }
      for (const l of labels) known.add(l);
      for (const l of s.labels)
        if (!TARGET_LABELS.has(l) && !labels.has(l)) badLabels.push(`${e.where}: ${s.name} has no label ${l} (it has ${[...labels].join(", ") || "none"})`);
    }
    if (!complete) continue;
    for (const l of [...a.grouping, ...e.labels])
      if (!known.has(l)) badLabels.push(`${e.where}: label ${l} is on none of its metrics`);
  }
  if (unknown.size) fail(`metric names not in /metrics: ${[...unknown].map(([n, w]) => `${n} (${w})`).join("; ")}`);
  else ok(`metric names: all ${used.size} metrics named by ${rulesFiles.length} rule file(s) and ${dashFiles.length} dashboard(s) (${exprs.length} expressions) are in /metrics`);
  if (badLabels.length) fail(`label names: ${[...new Set(badLabels)].join("; ")}`);
  else if (!unknown.size)
    ok(`label names: every label of a matcher, by/on clause, legend and annotation is one of its metrics' or a target label (${
      unsampled.size ? `not checked, no sample in the scrapes: ${[...unsampled].sort().join(", ")}` : `all ${used.size} metrics had samples`})`);
}

function cmdList(args) {
  const exprs = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--rules") exprs.push(...rulesExprs(loadRules(args[++i])));
    else if (args[i] === "--dashboard") exprs.push(...dashboardExprs(loadDashboard(args[++i])));
  }
  const names = new Map();
  const other = new Set();
  for (const e of exprs) {
    const a = analyse(e.expr);
    for (const s of a.selectors) {
      const l = names.get(s.name) ?? new Set();
      s.labels.forEach((x) => l.add(x));
      names.set(s.name, l);
    }
    [...a.grouping, ...e.labels].forEach((x) => other.add(x));
  }
  for (const [n, l] of [...names].sort()) console.log(l.size ? `${n}{${[...l].join(",")}}` : n);
  console.log(`labels of by/on clauses, legends and annotations: ${[...other].sort().join(" ")}`);
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  if (cmd === "rules") cmdRules(rest[0], rest[1], rest[2]);
  else if (cmd === "dashboard") cmdDashboard(rest[0]);
  else if (cmd === "dashboard-rules") cmdDashboardRules(rest[0], rest[1]);
  else if (cmd === "names") cmdNames(rest);
  else if (cmd === "list") cmdList(rest);
  else {
    console.error("usage: node monitoring.mjs rules|dashboard|dashboard-rules|names|list ...");
    process.exit(2);
  }
} catch (e) {
  fail(`${cmd}: ${e.message}`);
}
process.exit(failures ? 1 : 0);
