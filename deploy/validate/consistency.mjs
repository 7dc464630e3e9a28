#!/usr/bin/env node
// Checks that a rendered overlay fits stockd (see deploy/check.sh):
//
//   node consistency.mjs --overlay NAME --help-file FILE --uid UID
//                        [--external-secret] [--no-export] [--sentinel]
//                        [--print-env] RENDERED.yaml
//
//   --help-file  the output of `stockd --help`: the environment variables it reads
//   --uid        the numeric USER of the image (deploy/Dockerfile)
//   --external-secret  the Secret must NOT be in the render (prod: the
//                operator creates it); otherwise it must be, with its keys
//   --print-env  print the stockd container's environment (NAME=VALUE lines,
//                secrets as in the render or a placeholder) and exit
//   --print-paths  print the liveness, readiness and metrics paths (one a
//                line) and exit
//   --export     with --print-env / --print-paths: the stockd-export
//                container's instead of stockd's
//   --export-help-file  the output of `stockd-export --help`: also check the
//                stockd-export Deployment (one replica, Recreate, its
//                environment, ports, probes, security, NetworkPolicy,
//                secrets: dev's connection string reaches the PostgreSQL of
//                the render), and that it and stockd select each other's
//                pods with nothing
//   --no-export  the overlay leaves stockd-export out (its Redis is behind
//                Sentinel, which stockd-export does not follow): it must not
//                be in the render
//   --sentinel   the overlay runs Redis with Sentinel: sentinel.mjs's checks
//                must find sentinels (they run whenever the render has some)
//   --cluster    the overlay runs a Redis Cluster: cluster.mjs's checks must
//                find one (they run whenever the render has one)
//   --print-tenants  print the tenants file stockd is given (the Secret's
//                value behind STOCKD_TENANTS_FILE; nothing without one) and exit
//
// StatefulSets in the render (dev's Redis, PostgreSQL, sentinels) are
// checked by stores.mjs and sentinel.mjs: security and pinned images,
// PostgreSQL's user/password/database against the connection strings that
// reach it, the Sentinel and Cluster set-ups against stockd's URL and
// settings (cluster.mjs: also the tenants file), and that
// each store's NetworkPolicies admit exactly the pods that connect to it.
//
// Prints "ok   NAME: ..." or "FAIL NAME: ..." per check; exits 1 on a FAIL.
import { readFileSync } from "node:fs";
import { loadRender, selects, portOf, maskConn, parseConn, durabilityReplicas } from "./render.mjs";
import { storeChecks } from "./stores.mjs";
import { sentinelChecks } from "./sentinel.mjs";
import { clusterChecks, tenantsChecks, tenantsText } from "./cluster.mjs";

const args = process.argv.slice(2);
const opt = { overlay: "?", helpFile: null, exportHelpFile: null, uid: null, externalSecret: false, printEnv: false, exportCtr: false, noExport: false, sentinel: false, cluster: false, printTenants: false, file: null };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--overlay") opt.overlay = args[++i];
  else if (a === "--help-file") opt.helpFile = args[++i];
  else if (a === "--uid") opt.uid = Number(args[++i]);
  else if (a === "--external-secret") opt.externalSecret = true;
  else if (a === "--print-env") opt.printEnv = true;
  else if (a === "--print-paths") opt.printPaths = true;
  else if (a === "--export") opt.exportCtr = true;
  else if (a === "--export-help-file") opt.exportHelpFile = args[++i];
  else if (a === "--no-export") opt.noExport = true;
  else if (a === "--sentinel") opt.sentinel = true;
  else if (a === "--cluster") opt.cluster = true;
  else if (a === "--print-tenants") opt.printTenants = true;
  else opt.file = a;
}
if (!opt.file) {
  console.error("usage: consistency.mjs --overlay NAME --help-file FILE --uid UID [--external-secret] [--no-export] [--sentinel] [--cluster] RENDERED.yaml");
  process.exit(2);
}

const R = loadRender(opt.file, opt.overlay);
const { objs, ofKind, byName, report, envOf, secretValue, secretsInRender } = R;

// ---- the stockd container ---------------------------------------------------
const deployments = ofKind("Deployment").filter((d) =>
  (d.spec?.template?.spec?.containers ?? []).some((c) => c.name === "stockd"));
if (deployments.length !== 1) {
  report("stockd Deployment", [`expected exactly one Deployment with a container "stockd", found ${deployments.length}`]);
  process.exit(1);
}
const dep = deployments[0];
const pod = dep.spec.template;
const podSpec = pod.spec;
const ctr = podSpec.containers.find((c) => c.name === "stockd");
const podLabels = pod.metadata?.labels ?? {};

const { env, envProblems } = envOf(ctr);

// The stockd-export container, when the render has one.
const exportDeps = ofKind("Deployment").filter((d) =>
  (d.spec?.template?.spec?.containers ?? []).some((c) => c.name === "stockd-export"));
const exportCtr = exportDeps[0]?.spec.template.spec.containers.find((c) => c.name === "stockd-export");
const placeholders = {
  STOCKD_REDIS_URL: "redis://:placeholder@redis.invalid:6379/0",
  STOCKD_EXPORT_PG: "postgresql://placeholder:placeholder@pg.invalid:5432/placeholder",
};

if (opt.printPaths) {
  const [c, p] = opt.exportCtr ? [exportCtr, exportDeps[0]?.spec.template] : [ctr, pod];
  if (!c) process.exit(1);
  console.log(c.livenessProbe?.httpGet?.path ?? "-");
  console.log(c.readinessProbe?.httpGet?.path ?? "-");
  console.log(p.metadata?.annotations?.["prometheus.io/path"] ?? "-");
  process.exit(0);
}
if (opt.printTenants) {
  process.stdout.write(tenantsText(R, dep, ctr, env) ?? "");
  process.exit(0);
}
if (opt.printEnv) {
  if (opt.exportCtr && !exportCtr) process.exit(1);
  for (const [k, v] of opt.exportCtr ? envOf(exportCtr).env : env) {
    let val = v.value;
    if (v.secret) val = secretValue(v.secret) ?? placeholders[k] ?? "placeholder-token";
    if (val !== undefined) console.log(`${k}=${val}`);
  }
  process.exit(0);
}

// 1. every variable is one stockd reads; listen/http on all interfaces
{
  const help = readFileSync(opt.helpFile, "utf8");
  const known = new Set([...help.matchAll(/\b(STOCKD_[A-Z0-9_]+)\b/g)].map((m) => m[1]));
  const problems = [...envProblems];
  if (known.size < 5) problems.push(`could not read the environment variables from ${opt.helpFile}`);
  for (const k of env.keys()) if (!known.has(k)) problems.push(`${k} is not read by stockd`);
  for (const k of ["STOCKD_LISTEN", "STOCKD_HTTP"]) {
    const v = env.get(k);
    const hp = portOf(v?.value);
    if (!v || v.value === undefined) problems.push(`${k} is not set from the ConfigMap`);
    else if (!hp) problems.push(`${k}=${v.value} is not HOST:PORT`);
    else if (!["0.0.0.0", "::"].includes(hp.host)) problems.push(`${k}=${v.value}: must listen on 0.0.0.0 in a container`);
    else if (!v.from) problems.push(`${k} must come from the ConfigMap`);
  }
  report("env", problems, `${env.size} variables, all read by stockd; STOCKD_LISTEN=${env.get("STOCKD_LISTEN")?.value} STOCKD_HTTP=${env.get("STOCKD_HTTP")?.value}`);
}
const listenPort = portOf(env.get("STOCKD_LISTEN")?.value)?.port;
const httpPort = portOf(env.get("STOCKD_HTTP")?.value)?.port;
const ctrPorts = ctr.ports ?? [];
const resolvePort = (p) => (typeof p === "number" ? p : ctrPorts.find((x) => x.name === p)?.containerPort);

// 2. container ports
{
  const problems = [];
  const rpc = ctrPorts.find((p) => p.name === "rpc");
  const http = ctrPorts.find((p) => p.name === "http");
  if (!rpc) problems.push("no container port named rpc");
  else if (rpc.containerPort !== listenPort) problems.push(`port rpc is ${rpc.containerPort}, STOCKD_LISTEN says ${listenPort}`);
  if (!http) problems.push("no container port named http");
  else if (http.containerPort !== httpPort) problems.push(`port http is ${http.containerPort}, STOCKD_HTTP says ${httpPort}`);
  report("container ports", problems, `rpc=${rpc?.containerPort} http=${http?.containerPort}`);
}

// 3. probes
{
  const problems = [];
  const probe = (name, want) => {
    const p = ctr[name];
    if (!p?.httpGet) return problems.push(`${name} is not an httpGet probe`);
    if (p.httpGet.path !== want) problems.push(`${name} path ${p.httpGet.path}, stockd serves ${want}`);
    const port = resolvePort(p.httpGet.port);
    if (port === undefined) problems.push(`${name} port ${p.httpGet.port} is not a container port`);
    else if (port !== httpPort) problems.push(`${name} port ${p.httpGet.port} (${port}) is not STOCKD_HTTP's ${httpPort}`);
  };
  probe("readinessProbe", "/readyz");
  probe("livenessProbe", "/healthz");
  if (ctr.startupProbe) probe("startupProbe", "/healthz");
  report("probes", problems, `readiness /readyz and liveness /healthz on port ${httpPort}`);
}

// 4. Services
{
  const problems = [];
  const svcs = ofKind("Service").filter((s) => selects(s.spec?.selector, podLabels));
  if (svcs.length === 0) problems.push("no Service selects the stockd pods");
  for (const s of svcs) {
    if ((s.spec.type ?? "ClusterIP") !== "ClusterIP") problems.push(`Service ${s.metadata.name} is ${s.spec.type}, not ClusterIP`);
    for (const p of s.spec.ports ?? []) {
      const t = p.targetPort ?? p.port;
      if (resolvePort(t) === undefined) problems.push(`Service ${s.metadata.name} port ${p.name ?? p.port}: targetPort ${t} is not a container port`);
    }
    for (const want of ["rpc", "http"])
      if (!(s.spec.ports ?? []).some((p) => resolvePort(p.targetPort ?? p.port) === resolvePort(want)))
        problems.push(`Service ${s.metadata.name} does not expose ${want}`);
  }
  report("service", problems, svcs.map((s) => `${s.metadata.name} -> ${(s.spec.ports ?? []).map((p) => `${p.port}:${p.targetPort}`).join(",")}`).join(" "));
}

// 5. NetworkPolicy
const stockdConn = parseConn(secretValue(env.get("STOCKD_REDIS_URL")?.secret ?? {}) ?? env.get("STOCKD_REDIS_URL")?.value);
const sentinelPorts = stockdConn?.kind === "sentinel" ? [...new Set(stockdConn.hosts.map((h) => h.port))] : [];
{
  const problems = [];
  const nps = ofKind("NetworkPolicy").filter((n) => selects(n.spec?.podSelector?.matchLabels, podLabels));
  if (nps.length === 0) problems.push("no NetworkPolicy selects the stockd pods");
  const ingressPorts = new Set();
  for (const n of nps) {
    const types = n.spec.policyTypes ?? [];
    if (!types.includes("Ingress") || !types.includes("Egress")) problems.push(`${n.metadata.name}: policyTypes must be Ingress and Egress`);
    for (const rule of n.spec.ingress ?? []) {
      if (!rule.ports?.length) problems.push(`${n.metadata.name}: an ingress rule without ports`);
      if (!rule.from?.length) problems.push(`${n.metadata.name}: an ingress rule from anywhere`);
      for (const p of rule.ports ?? []) {
        const r = resolvePort(p.port);
        if (r === undefined) problems.push(`${n.metadata.name}: ingress port ${p.port} is not a container port`);
        else ingressPorts.add(r);
      }
    }
    for (const rule of n.spec.egress ?? []) {
      if (!rule.ports?.length) problems.push(`${n.metadata.name}: an egress rule without ports`);
      for (const p of rule.ports ?? []) {
        const ok = [6379, 26379].includes(p.port) ? (p.protocol ?? "TCP") === "TCP" : p.port === 53;
        if (!ok) problems.push(`${n.metadata.name}: egress to port ${p.port}/${p.protocol ?? "TCP"} (only Redis 6379/26379 and DNS 53)`);
      }
    }
    // With a redis+sentinel:// URL stockd asks the sentinels (their ports,
    // 26379 by default) and then connects to the master (6379).
    const egress = (n.spec.egress ?? []).flatMap((r) => r.ports ?? []);
    const need = [[6379, "TCP"], [53, "UDP"], [53, "TCP"], ...sentinelPorts.map((p) => [p, "TCP"])];
    for (const [port, proto] of need)
      if (!egress.some((p) => p.port === port && (p.protocol ?? "TCP") === proto)) problems.push(`${n.metadata.name}: no egress to ${port}/${proto}`);
  }
  if (nps.length && !ingressPorts.has(listenPort)) problems.push(`no ingress to rpc (${listenPort})`);
  if (nps.length && !ingressPorts.has(httpPort)) problems.push(`no ingress to http (${httpPort})`);
  report("networkpolicy", problems, `ingress ${[...ingressPorts].join(",")}; egress Redis${sentinelPorts.length ? ` (and Sentinel ${sentinelPorts.join(",")}, which the URL names)` : ""} and DNS only`);
}

// 6. PodDisruptionBudget
{
  const problems = [];
  const pdbs = ofKind("PodDisruptionBudget").filter((p) => selects(p.spec?.selector?.matchLabels, podLabels));
  const replicas = dep.spec.replicas ?? 1;
  if (pdbs.length !== 1) problems.push(`expected one PodDisruptionBudget for the stockd pods, found ${pdbs.length}`);
  for (const p of pdbs) {
    const { minAvailable, maxUnavailable } = p.spec;
    if (typeof minAvailable === "number" && minAvailable >= replicas) problems.push(`minAvailable ${minAvailable} >= replicas ${replicas}: drains would block`);
    if (maxUnavailable !== undefined && maxUnavailable !== 1 && maxUnavailable !== "1") problems.push(`maxUnavailable ${maxUnavailable}`);
    if (minAvailable === undefined && maxUnavailable === undefined) problems.push("neither minAvailable nor maxUnavailable");
  }
  if (replicas < 2) problems.push(`replicas ${replicas}: no availability during drains`);
  report("pdb", problems, `replicas ${replicas}, ${pdbs.map((p) => JSON.stringify(p.spec.maxUnavailable !== undefined ? { maxUnavailable: p.spec.maxUnavailable } : { minAvailable: p.spec.minAvailable })).join(" ")}`);
}

// 7. drain arithmetic
{
  const problems = [];
  const cmd = ctr.lifecycle?.preStop?.exec?.command ?? [];
  let sleep = NaN;
  if (cmd.length === 2 && /(^|\/)sleep$/.test(cmd[0]) && /^\d+$/.test(String(cmd[1]))) sleep = Number(cmd[1]);
  if (!Number.isFinite(sleep)) problems.push(`preStop must be ["/bin/sleep", "N"], is ${JSON.stringify(cmd)}`);
  else if (!cmd[0].startsWith("/")) problems.push("preStop sleep must be an absolute path (/bin/sleep)");
  const tv = env.get("STOCKD_REQUEST_TIMEOUT_MS")?.value;
  const timeoutMs = tv === undefined ? 2000 : Number(tv);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 10) problems.push(`STOCKD_REQUEST_TIMEOUT_MS=${tv}`);
  const grace = podSpec.terminationGracePeriodSeconds ?? 30;
  const margin = 5;
  const drain = (2 * timeoutMs) / 1000 + 1;
  const need = sleep + drain + margin;
  if (Number.isFinite(need) && grace < need)
    problems.push(`terminationGracePeriodSeconds ${grace} < preStop ${sleep} + drain ${drain} (2 * ${timeoutMs} ms + 1 s) + margin ${margin}`);
  report("drain", problems, `grace ${grace} s >= preStop ${sleep} + drain ${drain} (2 * ${timeoutMs} ms + 1 s) + margin ${margin}`);
}

// 8. security context
{
  const problems = [];
  const ps = podSpec.securityContext ?? {};
  const cs = ctr.securityContext ?? {};
  if (ps.runAsNonRoot !== true) problems.push("pod runAsNonRoot is not true");
  if (!Number.isInteger(ps.runAsUser) || ps.runAsUser === 0) problems.push(`pod runAsUser ${ps.runAsUser} is not a non-zero uid`);
  else if (opt.uid !== null && ps.runAsUser !== opt.uid) problems.push(`pod runAsUser ${ps.runAsUser} is not the image's USER ${opt.uid}`);
  if (ps.fsGroup === undefined) problems.push("pod fsGroup is not set");
  if (cs.readOnlyRootFilesystem !== true) problems.push("readOnlyRootFilesystem is not true");
  if (cs.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation is not false");
  if (!(cs.capabilities?.drop ?? []).includes("ALL")) problems.push("capabilities do not drop ALL");
  if ((cs.capabilities?.add ?? []).length) problems.push("capabilities added");
  if ((cs.seccompProfile ?? ps.seccompProfile)?.type !== "RuntimeDefault") problems.push("seccompProfile is not RuntimeDefault");
  for (const k of ["requests", "limits"])
    for (const r of ["cpu", "memory"]) if (ctr.resources?.[k]?.[r] === undefined) problems.push(`resources.${k}.${r} is not set`);
  report("security", problems, `non-root uid ${ps.runAsUser}, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, requests and limits`);
}

// 9. Prometheus annotations
{
  const problems = [];
  const a = pod.metadata?.annotations ?? {};
  if (a["prometheus.io/scrape"] !== "true") problems.push("prometheus.io/scrape is not \"true\"");
  if (Number(a["prometheus.io/port"]) !== httpPort) problems.push(`prometheus.io/port ${a["prometheus.io/port"]} is not STOCKD_HTTP's ${httpPort}`);
  if (a["prometheus.io/path"] !== "/metrics") problems.push(`prometheus.io/path ${a["prometheus.io/path"]} is not /metrics`);
  report("metrics", problems, `scrape :${httpPort}/metrics`);
}

// 10. secrets
{
  const problems = [];
  const refs = [];
  // The URL and the token always (with tenants: their file instead, checked
  // by cluster.mjs), and every password stockd is given.
  const token = env.has("STOCKD_TENANTS_FILE") ? [] : ["STOCKD_AUTH_TOKEN"];
  const secretVars = ["STOCKD_REDIS_URL", ...token, ...[...env.keys()].filter((k) => /PASSWORD$/.test(k))];
  for (const k of secretVars) {
    const v = env.get(k);
    if (!v?.secret) {
      problems.push(`${k} must come from a secretKeyRef`);
      continue;
    }
    refs.push(`${v.secret.name}/${v.secret.key}`);
    const s = secretsInRender.find((x) => x.metadata?.name === v.secret.name);
    if (opt.externalSecret) {
      if (s) problems.push(`Secret ${v.secret.name} is in the render: prod secrets must not be committed`);
    } else if (!s) problems.push(`Secret ${v.secret.name} is not in the render`);
    else if (secretValue(v.secret) === undefined) problems.push(`Secret ${v.secret.name} has no key ${v.secret.key}`);
  }
  if (opt.externalSecret && secretsInRender.length) problems.push(`the render holds Secret(s): ${secretsInRender.map((s) => s.metadata.name).join(", ")}`);
  const url = secretValue(env.get("STOCKD_REDIS_URL")?.secret ?? {});
  if (url !== undefined && !/^(redis:\/\/|redis\+sentinel:\/\/|redis\+cluster:\/\/|unix:\/\/\/)/.test(url)) problems.push("the Redis URL is neither redis://, redis+sentinel://, redis+cluster:// nor unix:///");
  // Where a password is given on its own, the URL carries none: one place
  // to change it, and the URL can be shown.
  const conn = parseConn(url);
  if (conn?.password && env.has("STOCKD_REDIS_PASSWORD")) problems.push("the Redis URL carries a password and STOCKD_REDIS_PASSWORD is set too: keep the password in one place");
  report("secrets", problems, opt.externalSecret ? `from the operator's Secret (${refs.join(", ")}), none in the render` : `${refs.join(", ")} in the render`);
}

// 10b. no secret in the open: not in a ConfigMap, not in a plain env
// value, not on a command line (where `ps` shows it), in any container of
// any workload of the render
{
  const problems = [];
  const secretish = /(PASSWORD|PASS|TOKEN|SECRET)$/;
  const values = R.allSecretValues().filter((v) => v.length >= 6);
  for (const w of R.workloads) {
    for (const c of [...(w.spec.initContainers ?? []), ...(w.spec.containers ?? [])]) {
      const where = `${w.name}/${c.name}`;
      const { env: cenv } = envOf(c);
      for (const [k, v] of cenv) {
        if (v.secret) continue;
        if (secretish.test(k) && v.value !== undefined && v.value !== "") problems.push(`${where}: ${k} is a plain value${v.from ? ` (ConfigMap ${v.from})` : ""}, not a secretKeyRef`);
        if (v.value && parseConn(v.value)?.password) problems.push(`${where}: ${k} holds a URL with a password in the open`);
        if (v.value && values.includes(v.value)) problems.push(`${where}: ${k} holds a Secret's value in the open`);
      }
      const fromSecret = new Set([...cenv].filter(([, v]) => v.secret).map(([k]) => k));
      for (const a of [...(c.command ?? []), ...(c.args ?? [])]) {
        for (const [, name] of String(a).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
          if (fromSecret.has(name)) problems.push(`${where}: the command line expands $(${name}), a Secret's value: ps shows it`);
        if (values.some((v) => String(a).includes(v))) problems.push(`${where}: a Secret's value on the command line`);
      }
    }
  }
  for (const cm of ofKind("ConfigMap"))
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      if (secretish.test(k)) problems.push(`ConfigMap ${cm.metadata.name}: key ${k} (secrets belong in a Secret)`);
      if (values.some((x) => String(v).includes(x))) problems.push(`ConfigMap ${cm.metadata.name}: key ${k} holds a Secret's value`);
      if (/^\s*(requirepass|masterauth)\s+\S/m.test(String(v)) || /^\s*sentinel\s+(auth-pass|sentinel-pass)\s/m.test(String(v)))
        problems.push(`ConfigMap ${cm.metadata.name}: key ${k} sets a Redis password (it belongs in a Secret)`);
    }
  report("no secret in the open", problems, `no password or token in a ConfigMap, a plain env value or a command line (${R.workloads.length} workloads)`);
}

// 12. labels
{
  const problems = [];
  for (const o of objs) {
    if (o.kind === "Namespace") continue;
    const l = o.metadata?.labels ?? {};
    for (const k of ["app.kubernetes.io/name", "app.kubernetes.io/part-of"])
      if (!l[k]) problems.push(`${o.kind}/${o.metadata?.name} has no ${k}`);
    const t = o.spec?.template?.metadata?.labels;
    if (o.spec?.selector?.matchLabels && t && !selects(o.spec.selector.matchLabels, t)) problems.push(`${o.kind}/${o.metadata?.name}: selector does not match its template`);
  }
  report("labels", problems, `${objs.length} objects labelled app.kubernetes.io/name and part-of`);
}

// ---- the stockd-export container ----------------------------------------------
if (opt.noExport && exportDeps.length)
  report("export", [`${exportDeps.map((d) => d.metadata.name).join(", ")} in the render: stockd-export does not follow Sentinel, leave it out of this overlay`], "");
else if (opt.noExport)
  report("export", [], `no stockd-export in the render (it does not follow ${opt.cluster ? "a cluster" : "Sentinel"})`);
if (opt.exportHelpFile) {
  const name = (n) => `export ${n}`;
  if (exportDeps.length !== 1) {
    report(name("Deployment"), [`expected exactly one Deployment with a container "stockd-export", found ${exportDeps.length}`]);
  } else {
    const xdep = exportDeps[0];
    const xpod = xdep.spec.template;
    const xspec = xpod.spec;
    const xlabels = xpod.metadata?.labels ?? {};
    const { env: xenv, envProblems: xenvProblems } = envOf(exportCtr);
    const xports = exportCtr.ports ?? [];
    const xresolve = (p) => (typeof p === "number" ? p : xports.find((x) => x.name === p)?.containerPort);
    const xhttp = portOf(xenv.get("STOCKD_EXPORT_HTTP")?.value)?.port;

    // E1. one replica, never two at once
    {
      const problems = [];
      if ((xdep.spec.replicas ?? 1) !== 1) problems.push(`replicas ${xdep.spec.replicas}: the export is one stream of batches, run exactly one`);
      if (xdep.spec.strategy?.type !== "Recreate") problems.push(`strategy ${xdep.spec.strategy?.type ?? "RollingUpdate (default)"}: an update must not run two exporters at once (Recreate)`);
      report(name("replicas"), problems, "1 replica, strategy Recreate");
    }

    // E2. the binary: the stockd image, stockd-export under tini
    {
      const problems = [];
      const cmd = exportCtr.command ?? [];
      if (JSON.stringify(cmd) !== JSON.stringify(["/usr/bin/tini", "--", "/usr/local/bin/stockd-export"]))
        problems.push(`command ${JSON.stringify(cmd)}, not ["/usr/bin/tini", "--", "/usr/local/bin/stockd-export"]`);
      if (exportCtr.image !== ctr.image) problems.push(`image ${exportCtr.image} is not stockd's ${ctr.image} (the binary ships in the stockd image)`);
      report(name("command"), problems, `${exportCtr.image}: tini -- stockd-export`);
    }

    // E3. every variable is one stockd-export reads; http on all interfaces;
    // the ledger is stockd's (the same namespace); secrets by secretKeyRef
    {
      const help = readFileSync(opt.exportHelpFile, "utf8");
      const known = new Set([...help.matchAll(/\b(STOCKD_[A-Z0-9_]+)\b/g)].map((m) => m[1]));
      const problems = [...xenvProblems];
      if (known.size < 5) problems.push(`could not read the environment variables from ${opt.exportHelpFile}`);
      for (const k of xenv.keys()) if (!known.has(k)) problems.push(`${k} is not read by stockd-export`);
      const v = xenv.get("STOCKD_EXPORT_HTTP");
      const hp = portOf(v?.value);
      if (!v || v.value === undefined) problems.push("STOCKD_EXPORT_HTTP is not set from a ConfigMap");
      else if (!hp) problems.push(`STOCKD_EXPORT_HTTP=${v.value} is not HOST:PORT`);
      else if (!["0.0.0.0", "::"].includes(hp.host)) problems.push(`STOCKD_EXPORT_HTTP=${v.value}: must listen on 0.0.0.0 in a container`);
      const ns = (e) => e.get("STOCKD_NAMESPACE")?.value ?? "inv";
      if (ns(xenv) !== ns(env)) problems.push(`STOCKD_NAMESPACE ${ns(xenv)} is not stockd's ${ns(env)}: it would export another ledger`);
      for (const k of ["STOCKD_REDIS_URL", "STOCKD_EXPORT_PG"])
        if (!xenv.get(k)?.secret) problems.push(`${k} must come from a secretKeyRef (it may hold a password)`);
      const redisRef = xenv.get("STOCKD_REDIS_URL")?.secret, stockdRef = env.get("STOCKD_REDIS_URL")?.secret;
      if (redisRef && stockdRef && (redisRef.name !== stockdRef.name || redisRef.key !== stockdRef.key))
        problems.push(`STOCKD_REDIS_URL comes from ${redisRef.name}/${redisRef.key}, stockd's from ${stockdRef.name}/${stockdRef.key}`);
      report(name("env"), problems, `${xenv.size} variables, all read by stockd-export; STOCKD_EXPORT_HTTP=${v?.value}, STOCKD_NAMESPACE=${ns(xenv)} as stockd's`);
    }

    // E4. port and probes
    {
      const problems = [];
      const http = xports.find((p) => p.name === "http");
      if (!http) problems.push("no container port named http");
      else if (http.containerPort !== xhttp) problems.push(`port http is ${http.containerPort}, STOCKD_EXPORT_HTTP says ${xhttp}`);
      const probe = (pname, want) => {
        const p = exportCtr[pname];
        if (!p?.httpGet) return problems.push(`${pname} is not an httpGet probe`);
        if (p.httpGet.path !== want) problems.push(`${pname} path ${p.httpGet.path}, stockd-export serves ${want}`);
        if (xresolve(p.httpGet.port) !== xhttp) problems.push(`${pname} port ${p.httpGet.port} is not STOCKD_EXPORT_HTTP's ${xhttp}`);
      };
      probe("readinessProbe", "/readyz");
      probe("livenessProbe", "/healthz");
      const a = xpod.metadata?.annotations ?? {};
      if (a["prometheus.io/scrape"] !== "true") problems.push("prometheus.io/scrape is not \"true\"");
      if (Number(a["prometheus.io/port"]) !== xhttp) problems.push(`prometheus.io/port ${a["prometheus.io/port"]} is not ${xhttp}`);
      if (a["prometheus.io/path"] !== "/metrics") problems.push(`prometheus.io/path ${a["prometheus.io/path"]} is not /metrics`);
      report(name("ports"), problems, `http=${http?.containerPort}: readiness /readyz, liveness /healthz, scrape /metrics`);
    }

    // E5. security context and resources, as for stockd
    {
      const problems = [];
      const ps = xspec.securityContext ?? {};
      const cs = exportCtr.securityContext ?? {};
      if (ps.runAsNonRoot !== true) problems.push("pod runAsNonRoot is not true");
      if (!Number.isInteger(ps.runAsUser) || ps.runAsUser === 0) problems.push(`pod runAsUser ${ps.runAsUser} is not a non-zero uid`);
      else if (opt.uid !== null && ps.runAsUser !== opt.uid) problems.push(`pod runAsUser ${ps.runAsUser} is not the image's USER ${opt.uid}`);
      if (cs.readOnlyRootFilesystem !== true) problems.push("readOnlyRootFilesystem is not true");
      if (cs.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation is not false");
      if (!(cs.capabilities?.drop ?? []).includes("ALL")) problems.push("capabilities do not drop ALL");
      if ((cs.capabilities?.add ?? []).length) problems.push("capabilities added");
      if ((cs.seccompProfile ?? ps.seccompProfile)?.type !== "RuntimeDefault") problems.push("seccompProfile is not RuntimeDefault");
      if (xspec.automountServiceAccountToken !== false) problems.push("automountServiceAccountToken is not false");
      for (const k of ["requests", "limits"])
        for (const r of ["cpu", "memory"]) if (exportCtr.resources?.[k]?.[r] === undefined) problems.push(`resources.${k}.${r} is not set`);
      report(name("security"), problems, `non-root uid ${ps.runAsUser}, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, requests and limits`);
    }

    // E6. its NetworkPolicy: Prometheus in; Redis, PostgreSQL and DNS out
    {
      const problems = [];
      const nps = ofKind("NetworkPolicy").filter((n) => selects(n.spec?.podSelector?.matchLabels, xlabels));
      if (nps.length === 0) problems.push("no NetworkPolicy selects the stockd-export pods");
      for (const n of nps) {
        const types = n.spec.policyTypes ?? [];
        if (!types.includes("Ingress") || !types.includes("Egress")) problems.push(`${n.metadata.name}: policyTypes must be Ingress and Egress`);
        for (const rule of n.spec.ingress ?? []) {
          if (!rule.from?.length) problems.push(`${n.metadata.name}: an ingress rule from anywhere`);
          if (!rule.ports?.length) problems.push(`${n.metadata.name}: an ingress rule without ports`);
          for (const p of rule.ports ?? [])
            if (xresolve(p.port) !== xhttp) problems.push(`${n.metadata.name}: ingress to ${p.port}, not http (${xhttp})`);
        }
        for (const rule of n.spec.egress ?? []) {
          if (!rule.ports?.length) problems.push(`${n.metadata.name}: an egress rule without ports`);
          for (const p of rule.ports ?? []) {
            const ok = [6379, 5432].includes(p.port) ? (p.protocol ?? "TCP") === "TCP" : p.port === 53;
            if (!ok) problems.push(`${n.metadata.name}: egress to port ${p.port}/${p.protocol ?? "TCP"} (only Redis 6379, PostgreSQL 5432 and DNS 53)`);
          }
        }
        const egress = (n.spec.egress ?? []).flatMap((r) => r.ports ?? []);
        for (const [port, proto] of [[6379, "TCP"], [5432, "TCP"], [53, "UDP"], [53, "TCP"]])
          if (!egress.some((p) => p.port === port && (p.protocol ?? "TCP") === proto)) problems.push(`${n.metadata.name}: no egress to ${port}/${proto}`);
      }
      report(name("networkpolicy"), problems, `${nps.map((n) => n.metadata.name).join(",")}: ingress ${xhttp} only; egress Redis, PostgreSQL and DNS only`);
    }

    // E7. the PostgreSQL secret: prod from the operator; otherwise in the
    // render, with its key, and the connection string reaches a PostgreSQL
    // of the render
    {
      const problems = [];
      const ref = xenv.get("STOCKD_EXPORT_PG")?.secret;
      const sec = ref && secretsInRender.find((x) => x.metadata?.name === ref.name);
      let text = "";
      if (!ref) problems.push("STOCKD_EXPORT_PG has no secretKeyRef");
      else if (opt.externalSecret) {
        if (sec) problems.push(`Secret ${ref.name} is in the render: prod secrets must not be committed`);
        text = `from the operator's Secret ${ref.name}/${ref.key}, not in the render`;
      } else if (!sec) {
        problems.push(`Secret ${ref.name} is not in the render: the pod would wait in CreateContainerConfigError`);
      } else {
        const v = secretValue(ref);
        const conn = parseConn(v);
        if (v === undefined) problems.push(`Secret ${ref.name} has no key ${ref.key}`);
        else if (conn?.kind !== "postgresql") problems.push(`${ref.name}/${ref.key} is neither a postgresql:// URI nor a key=value connection string`);
        else {
          const r = R.reach(conn.host, conn.port);
          if (r.problem) problems.push(`${ref.name}/${ref.key}: ${r.problem}`);
          else if (!(r.target.spec.containers ?? []).some((c) => /(^|\/)postgres(:|@|$)/.test(c.image ?? "")))
            problems.push(`${ref.name}/${ref.key}: Service ${r.svc.metadata.name} selects ${r.target.name}, which runs no postgres image`);
          text = `${ref.name}/${ref.key} in the render: ${maskConn(v)} -> Service ${r.svc?.metadata.name} -> ${r.target?.kind}/${r.target?.name}:${r.port}`;
        }
      }
      report(name("secrets"), problems, text);
    }

    // E8. stockd and stockd-export never select each other's pods
    {
      const problems = [];
      for (const kind of ["Service", "PodDisruptionBudget", "NetworkPolicy"])
        for (const o of ofKind(kind)) {
          const sel = kind === "Service" ? o.spec?.selector : kind === "NetworkPolicy" ? o.spec?.podSelector?.matchLabels : o.spec?.selector?.matchLabels;
          if (selects(sel, xlabels) && selects(sel, podLabels)) problems.push(`${kind}/${o.metadata.name} selects both the stockd and the stockd-export pods`);
          else if (kind !== "NetworkPolicy" && selects(sel, xlabels)) problems.push(`${kind}/${o.metadata.name} selects the stockd-export pods`);
        }
      if (selects(xdep.spec.selector?.matchLabels, podLabels)) problems.push("the stockd-export Deployment's selector matches the stockd pods");
      if (selects(dep.spec.selector?.matchLabels, xlabels)) problems.push("the stockd Deployment's selector matches the stockd-export pods");
      report(name("selectors"), problems, "no Service, PodDisruptionBudget or Deployment mixes the stockd and stockd-export pods");
    }
  }
}

// ---- the stores (StatefulSets) and the Sentinel set-up ----------------------
const ctx = { R, opt, dep, ctr, env, podLabels };
storeChecks(ctx);
sentinelChecks(ctx);
clusterChecks(ctx);
tenantsChecks(ctx);

process.exit(R.failures ? 1 : 0);
