#!/usr/bin/env node
// Checks that a rendered overlay fits stockd (see deploy/check.sh):
//
//   node consistency.mjs --overlay NAME --help-file FILE --uid UID
//                        [--external-secret] [--print-env] RENDERED.yaml
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
//
// StatefulSets in the render (dev's Redis and PostgreSQL) are checked too:
// security and pinned images, PostgreSQL's user/password/database against
// the connection strings that reach it, and that each store's
// NetworkPolicies admit exactly the pods whose environment connects to it.
//
// Prints "ok   NAME: ..." or "FAIL NAME: ..." per check; exits 1 on a FAIL.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const opt = { overlay: "?", helpFile: null, exportHelpFile: null, uid: null, externalSecret: false, printEnv: false, exportCtr: false, file: null };
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
  else opt.file = a;
}
if (!opt.file) {
  console.error("usage: consistency.mjs --overlay NAME --help-file FILE --uid UID [--external-secret] RENDERED.yaml");
  process.exit(2);
}

const objs = parseAllDocuments(readFileSync(opt.file, "utf8"))
  .map((d) => d.toJS())
  .filter((o) => o && typeof o === "object");
const ofKind = (k) => objs.filter((o) => o.kind === k);
const byName = (k, n) => objs.find((o) => o.kind === k && o.metadata?.name === n);

let failures = 0;
function report(name, problems, okText) {
  if (problems.length) {
    failures++;
    console.log(`FAIL ${opt.overlay}: ${name}: ${[...new Set(problems)].join("; ")}`);
  } else {
    console.log(`ok   ${opt.overlay}: ${name}: ${okText}`);
  }
}
const selects = (selector, labels) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const portOf = (hostport) => {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(hostport ?? "");
  return m ? { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) } : null;
};

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

// The environment as the kubelet builds it: envFrom first, env wins.
// name -> { value, from } | { secret: {name, key} } | { other }
function envOf(ctr) {
const env = new Map();
const envProblems = [];
for (const src of ctr.envFrom ?? []) {
  if (src.configMapRef) {
    const cm = byName("ConfigMap", src.configMapRef.name);
    if (!cm) {
      envProblems.push(`envFrom ConfigMap ${src.configMapRef.name} is not in the render`);
      continue;
    }
    for (const [k, v] of Object.entries(cm.data ?? {})) env.set((src.prefix ?? "") + k, { value: String(v), from: cm.metadata.name });
  } else if (src.secretRef) {
    envProblems.push(`envFrom secretRef ${src.secretRef.name}: take secrets key by key (secretKeyRef)`);
  }
}
for (const e of ctr.env ?? []) {
  if ("value" in e) env.set(e.name, { value: String(e.value) });
  else if (e.valueFrom?.secretKeyRef) env.set(e.name, { secret: e.valueFrom.secretKeyRef });
  else if (e.valueFrom?.configMapKeyRef) {
    const r = e.valueFrom.configMapKeyRef;
    const v = byName("ConfigMap", r.name)?.data?.[r.key];
    if (v === undefined) envProblems.push(`${e.name}: ConfigMap ${r.name} key ${r.key} is not in the render`);
    env.set(e.name, { value: v === undefined ? "" : String(v) });
  } else env.set(e.name, { other: true });
}
return { env, envProblems };
}
const { env, envProblems } = envOf(ctr);
const secretsInRender = ofKind("Secret");
function secretValue(ref) {
  const s = secretsInRender.find((x) => x.metadata?.name === ref.name);
  if (!s) return undefined;
  if (s.stringData?.[ref.key] !== undefined) return String(s.stringData[ref.key]);
  if (s.data?.[ref.key] !== undefined) return Buffer.from(String(s.data[ref.key]), "base64").toString("utf8");
  return undefined;
}

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
    const egress = (n.spec.egress ?? []).flatMap((r) => r.ports ?? []);
    for (const [port, proto] of [[6379, "TCP"], [53, "UDP"], [53, "TCP"]])
      if (!egress.some((p) => p.port === port && (p.protocol ?? "TCP") === proto)) problems.push(`${n.metadata.name}: no egress to ${port}/${proto}`);
  }
  if (nps.length && !ingressPorts.has(listenPort)) problems.push(`no ingress to rpc (${listenPort})`);
  if (nps.length && !ingressPorts.has(httpPort)) problems.push(`no ingress to http (${httpPort})`);
  report("networkpolicy", problems, `ingress ${[...ingressPorts].join(",")}; egress Redis and DNS only`);
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
  for (const k of ["STOCKD_REDIS_URL", "STOCKD_AUTH_TOKEN"]) {
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
  if (url !== undefined && !/^(redis:\/\/|unix:\/\/\/)/.test(url)) problems.push("the Redis URL is neither redis:// nor unix:///");
  report("secrets", problems, opt.externalSecret ? `from the operator's Secret (${refs.join(", ")}), none in the render` : `${refs.join(", ")} in the render`);
}

// 11. Redis in the render (dev): durable and non-evicting, reachable by the URL
{
  const redisSets = ofKind("StatefulSet").filter((s) => (s.spec?.template?.spec?.containers ?? []).some((c) => /(^|\/)redis(:|@|$)/.test(c.image ?? "")));
  if (redisSets.length) {
    const problems = [];
    for (const s of redisSets) {
      const conf = (s.spec.template.spec.volumes ?? [])
        .map((v) => v.configMap && byName("ConfigMap", v.configMap.name))
        .filter(Boolean)
        .flatMap((cm) => Object.values(cm.data ?? {}))
        .join("\n");
      const has = (re, what) => { if (!re.test(conf)) problems.push(`${s.metadata.name}: redis.conf lacks ${what}`); };
      has(/^appendonly\s+yes\s*$/m, "appendonly yes");
      has(/^appendfsync\s+always\s*$/m, "appendfsync always");
      has(/^maxmemory-policy\s+noeviction\s*$/m, "maxmemory-policy noeviction");
      if (!(s.spec.volumeClaimTemplates ?? []).length) problems.push(`${s.metadata.name}: no volumeClaimTemplates`);
      const mounts = s.spec.template.spec.containers.flatMap((c) => c.volumeMounts ?? []);
      for (const vct of s.spec.volumeClaimTemplates ?? [])
        if (!mounts.some((m) => m.name === vct.metadata?.name)) problems.push(`${s.metadata.name}: claim ${vct.metadata?.name} is not mounted`);
    }
    const url = secretValue(env.get("STOCKD_REDIS_URL")?.secret ?? {});
    const m = /^redis:\/\/(?:[^@/]*@)?([^:/]+):(\d+)/.exec(url ?? "");
    if (!m) problems.push("the Redis URL in the render has no host:port");
    else {
      const svc = byName("Service", m[1]);
      const labelsOf = (s) => s.spec.template.metadata?.labels ?? {};
      if (!svc) problems.push(`the Redis URL names ${m[1]}, which is no Service in the render`);
      else if (!(svc.spec.ports ?? []).some((p) => p.port === Number(m[2]))) problems.push(`Service ${m[1]} has no port ${m[2]}`);
      else if (!redisSets.some((s) => selects(svc.spec.selector, labelsOf(s)))) problems.push(`Service ${m[1]} does not select the Redis pods`);
    }
    report("redis", problems, `${redisSets.map((s) => s.metadata.name).join(",")}: AOF appendfsync always, noeviction, PVC; the URL reaches it`);
  }
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

// ---- connections: URLs in the environment -> Services -> store pods -------
// A Redis URL (redis://[user[:password]@]host[:port][/db]) or a libpq URI
// (postgres[ql]://...) or key=value connection string; null for anything else.
function parseConn(v) {
  if (typeof v !== "string") return null;
  const dec = (x) => (x === undefined ? undefined : decodeURIComponent(x));
  const m = /^(redis|postgres(?:ql)?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\[[^\]]*\]|[^:/?]*)(?::(\d+))?(?:\/([^?]*))?/.exec(v);
  if (m) {
    const kind = m[1] === "redis" ? "redis" : "postgresql";
    return { kind, user: dec(m[2]) || undefined, password: dec(m[3]), host: m[4].replace(/^\[|\]$/g, ""),
             port: m[5] ? Number(m[5]) : kind === "redis" ? 6379 : 5432, db: dec(m[6]) || undefined };
  }
  if (/^\s*[a-z_]+\s*=/.test(v)) {
    const kv = {};
    for (const x of v.matchAll(/([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) kv[x[1]] = x[2].replace(/^'|'$/g, "").replace(/\\(.)/g, "$1");
    return { kind: "postgresql", user: kv.user, password: kv.password, host: kv.host ?? kv.hostaddr ?? "", port: kv.port ? Number(kv.port) : 5432, db: kv.dbname };
  }
  return null;
}
const maskConn = (v) => String(v).replace(/(:\/\/[^:@/]*:)[^@/]*@/, "$1***@").replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/, "$1***");
// Pod-owning objects: name, kind, pod labels, pod spec.
const workloads = [...ofKind("Deployment"), ...ofKind("StatefulSet")].map((o) => ({
  obj: o, name: o.metadata?.name, kind: o.kind, labels: o.spec?.template?.metadata?.labels ?? {}, spec: o.spec?.template?.spec ?? {},
}));
const namedPort = (w, p) => (typeof p === "number" ? p : (w.spec.containers ?? []).flatMap((c) => c.ports ?? []).find((x) => x.name === p)?.containerPort);
// host:port -> { svc, target: the workload behind it, port: its container port } | { problem }
function reach(host, port) {
  const [name, ns] = String(host ?? "").split(".");
  const svc = ofKind("Service").find((x) => x.metadata?.name === name && (!ns || ns === "svc" || (x.metadata.namespace ?? ns) === ns));
  if (!svc) return { problem: `${host} is no Service in the render` };
  const sp = (svc.spec?.ports ?? []).find((x) => x.port === port);
  if (!sp) return { problem: `Service ${svc.metadata.name} has no port ${port}` };
  const target = workloads.find((w) => selects(svc.spec?.selector, w.labels));
  if (!target) return { problem: `Service ${svc.metadata.name} selects no pods in the render` };
  const cport = namedPort(target, sp.targetPort ?? sp.port);
  if (cport === undefined) return { problem: `Service ${svc.metadata.name} targetPort ${sp.targetPort} is not a port of ${target.name}` };
  return { svc, target, port: cport };
}
// Every connection a workload's containers are given through their
// environment (values from the render's ConfigMaps and Secrets).
function connectionsOf(w) {
  const out = [];
  for (const c of w.spec.containers ?? []) {
    for (const [k, v] of envOf(c).env) {
      const value = v.secret ? secretValue(v.secret) : v.value;
      const conn = parseConn(value);
      if (conn) out.push({ env: k, value, conn, ref: v.secret });
    }
  }
  return out;
}

// ---- the stockd-export container ----------------------------------------------
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
          const r = reach(conn.host, conn.port);
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

// ---- stores in the render (dev): Redis and PostgreSQL as StatefulSets ------
const stores = workloads.filter((w) => w.kind === "StatefulSet");
const clients = workloads.filter((w) => w.kind === "Deployment");
// store name -> [{ client, env, conn, port }]: who connects to it, per the render
const users = new Map(stores.map((st) => [st.name, []]));
for (const w of workloads)
  for (const c of connectionsOf(w)) {
    const r = reach(c.conn.host, c.conn.port);
    if (!r.problem && users.has(r.target.name)) users.get(r.target.name).push({ client: w, ...c, port: r.port });
  }

// 13. every store runs as strictly as the stockd pods, from a pinned image
if (stores.length) {
  const problems = [];
  for (const st of stores) {
    const ps = st.spec.securityContext ?? {};
    const n = st.name;
    if (ps.runAsNonRoot !== true) problems.push(`${n}: pod runAsNonRoot is not true`);
    if (!Number.isInteger(ps.runAsUser) || ps.runAsUser === 0) problems.push(`${n}: pod runAsUser ${ps.runAsUser} is not a non-zero uid`);
    if (ps.fsGroup === undefined) problems.push(`${n}: pod fsGroup is not set (the volume must be writable by the uid)`);
    if (st.spec.automountServiceAccountToken !== false) problems.push(`${n}: automountServiceAccountToken is not false`);
    if (st.spec.enableServiceLinks !== false) problems.push(`${n}: enableServiceLinks is not false (Service links put variables into the image's environment)`);
    for (const c of st.spec.containers ?? []) {
      const cs = c.securityContext ?? {};
      const cn = `${n}/${c.name}`;
      if (cs.readOnlyRootFilesystem !== true) problems.push(`${cn}: readOnlyRootFilesystem is not true`);
      if (cs.allowPrivilegeEscalation !== false) problems.push(`${cn}: allowPrivilegeEscalation is not false`);
      if (!(cs.capabilities?.drop ?? []).includes("ALL")) problems.push(`${cn}: capabilities do not drop ALL`);
      if ((cs.capabilities?.add ?? []).length) problems.push(`${cn}: capabilities added`);
      if ((cs.seccompProfile ?? ps.seccompProfile)?.type !== "RuntimeDefault") problems.push(`${cn}: seccompProfile is not RuntimeDefault`);
      for (const k of ["requests", "limits"])
        for (const r of ["cpu", "memory"]) if (c.resources?.[k]?.[r] === undefined) problems.push(`${cn}: resources.${k}.${r} is not set`);
      const img = /^(?:(.*)@(sha256:[0-9a-f]{64})|(.*?)(?::([^:/]+))?)$/.exec(c.image ?? "");
      if (!img?.[2] && (!img?.[4] || img[4] === "latest")) problems.push(`${cn}: image ${c.image} is not pinned by a tag (or digest)`);
      if (!c.readinessProbe || !c.livenessProbe) problems.push(`${cn}: no readiness and liveness probes`);
    }
    if (!(st.obj.spec.volumeClaimTemplates ?? []).length && !(st.spec.volumes ?? []).some((v) => v.emptyDir))
      problems.push(`${n}: neither a PVC nor an emptyDir for its data`);
  }
  report("stores", problems, `${stores.map((st) => `${st.name} (${(st.spec.containers ?? []).map((c) => c.image).join(",")}, uid ${st.spec.securityContext?.runAsUser})`).join(", ")}: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, requests and limits, probes, pinned image`);
}

// 14. PostgreSQL in the render (dev): reached with the user, password and
// database it is initialised with; data on the claim; probes pg_isready
{
  const pgs = stores.filter((st) => (st.spec.containers ?? []).some((c) => /(^|\/)postgres(:|@|$)/.test(c.image ?? "")));
  if (pgs.length) {
    const problems = [];
    const texts = [];
    for (const st of pgs) {
      const c = st.spec.containers.find((x) => /(^|\/)postgres(:|@|$)/.test(x.image ?? ""));
      const n = st.name;
      const { env: penv, envProblems } = envOf(c);
      problems.push(...envProblems.map((p) => `${n}: ${p}`));
      const val = (k) => { const v = penv.get(k); return v?.secret ? secretValue(v.secret) : v?.value; };
      const user = val("POSTGRES_USER") ?? "postgres";
      const db = val("POSTGRES_DB") ?? user;
      const pw = penv.get("POSTGRES_PASSWORD");
      if (!pw?.secret) problems.push(`${n}: POSTGRES_PASSWORD must come from a secretKeyRef`);
      else if (secretValue(pw.secret) === undefined) problems.push(`${n}: POSTGRES_PASSWORD: Secret ${pw.secret.name} key ${pw.secret.key} is not in the render`);
      const password = pw?.secret ? secretValue(pw.secret) : undefined;
      const pgPort = (c.ports ?? []).find((p) => p.containerPort === 5432 || p.name === "postgres")?.containerPort;
      if (pgPort === undefined) problems.push(`${n}: no container port 5432`);
      // who connects, with what
      const us = users.get(n) ?? [];
      if (!us.length) problems.push(`${n}: no connection string in the render reaches it`);
      for (const u of us) {
        const where = `${u.client.name} ${u.env}`;
        if (u.conn.kind !== "postgresql") problems.push(`${where}: a ${u.conn.kind} URL reaches PostgreSQL ${n}`);
        if ((u.conn.user ?? "") !== user) problems.push(`${where}: user ${u.conn.user}, ${n} creates ${user}`);
        if ((u.conn.db ?? u.conn.user) !== db) problems.push(`${where}: database ${u.conn.db}, ${n} creates ${db}`);
        if (password !== undefined && u.conn.password !== password) problems.push(`${where}: the password is not ${n}'s POSTGRES_PASSWORD`);
        if (u.port !== pgPort) problems.push(`${where}: reaches port ${u.port}, PostgreSQL listens on ${pgPort}`);
      }
      // PGDATA: a subdirectory of a PVC (or emptyDir) mount
      const pgdata = (val("PGDATA") ?? "/var/lib/postgresql/data").replace(/\/+$/, "");
      const mounts = c.volumeMounts ?? [];
      const claims = new Set((st.obj.spec.volumeClaimTemplates ?? []).map((v) => v.metadata?.name));
      const emptyDirs = new Set((st.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
      const dataMount = mounts.find((m) => pgdata.startsWith(m.mountPath.replace(/\/+$/, "") + "/") || pgdata === m.mountPath.replace(/\/+$/, ""));
      if (!dataMount) problems.push(`${n}: PGDATA ${pgdata} is on no volume`);
      else {
        if (!claims.has(dataMount.name) && !emptyDirs.has(dataMount.name)) problems.push(`${n}: PGDATA ${pgdata} is on volume ${dataMount.name}, neither a claim nor an emptyDir`);
        if (pgdata === dataMount.mountPath.replace(/\/+$/, "")) problems.push(`${n}: PGDATA ${pgdata} is the volume's root (initdb wants an empty directory; a volume may hold lost+found): use a subdirectory`);
        if (dataMount.readOnly) problems.push(`${n}: PGDATA's volume is mounted read-only`);
      }
      for (const vct of st.obj.spec.volumeClaimTemplates ?? [])
        if (!mounts.some((m) => m.name === vct.metadata?.name)) problems.push(`${n}: claim ${vct.metadata?.name} is not mounted`);
      // a read-only root needs the socket directory on a volume
      if (c.securityContext?.readOnlyRootFilesystem === true && !mounts.some((m) => ["/var/run/postgresql", "/run/postgresql", "/var/run", "/run"].includes(m.mountPath.replace(/\/+$/, "")) && !m.readOnly))
        problems.push(`${n}: read-only root but /var/run/postgresql (socket, lock file) is on no writable volume`);
      // probes: pg_isready over TCP on the server's port
      for (const pname of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const pr = c[pname];
        if (!pr) { if (pname !== "startupProbe") problems.push(`${n}: no ${pname}`); continue; }
        const cmd = pr.exec?.command ?? [];
        const line = cmd.join(" ");
        if (!/(^|\/)pg_isready(\s|$)/.test(cmd[0] === "sh" || cmd[0] === "/bin/sh" ? cmd.slice(2).join(" ") : cmd[0] ?? "")) { problems.push(`${n}: ${pname} is not an exec of pg_isready`); continue; }
        const host = /(?:^|\s)(?:-h\s*|--host[=\s])(\S+)/.exec(line)?.[1];
        const port = /(?:^|\s)(?:-p\s*|--port[=\s])(\d+)/.exec(line)?.[1];
        if (!host || !/^(127\.0\.0\.1|localhost|::1)$/.test(host)) problems.push(`${n}: ${pname} does not ask over TCP on the loopback (--host=127.0.0.1), as clients connect`);
        if ((port ? Number(port) : 5432) !== pgPort) problems.push(`${n}: ${pname} asks port ${port ?? 5432}, PostgreSQL listens on ${pgPort}`);
      }
      texts.push(`${n}: ${us.map((u) => `${u.client.name} ${u.env}`).join(", ") || "nobody"} -> user ${user}, database ${db}, its password; PGDATA ${pgdata} on ${dataMount?.name}; probes pg_isready on 127.0.0.1:${pgPort}`);
    }
    report("postgres", problems, texts.join("; "));
  }
}

// 15. who may reach each store: its NetworkPolicies admit exactly the pods
// whose environment connects to it, on its port only, and it opens nothing;
// those pods' own policies let them out to that port
if (stores.length) {
  const problems = [];
  const texts = [];
  const peerOk = (n, peer) => {
    if (peer.namespaceSelector || peer.ipBlock) { problems.push(`${n}: a peer with ${peer.ipBlock ? "ipBlock" : "namespaceSelector"} (admits pods outside this overlay)`); return false; }
    const sel = peer.podSelector;
    if (!sel) { problems.push(`${n}: a peer without podSelector`); return false; }
    if ((sel.matchExpressions ?? []).length) problems.push(`${n}: a peer with matchExpressions`);
    for (const k of ["app.kubernetes.io/name", "app.kubernetes.io/component"])
      if (!sel.matchLabels?.[k]) problems.push(`${n}: peer ${JSON.stringify(sel.matchLabels ?? {})} does not name ${k} (too broad)`);
    return true;
  };
  for (const st of stores) {
    const nps = ofKind("NetworkPolicy").filter((x) => selects(x.spec?.podSelector?.matchLabels, st.labels));
    const ports = new Set((st.spec.containers ?? []).flatMap((c) => c.ports ?? []).map((p) => p.containerPort));
    if (!nps.length) problems.push(`${st.name}: no NetworkPolicy selects its pods (every pod may connect)`);
    const admitted = new Set();
    for (const n of nps) {
      const nn = `NetworkPolicy ${n.metadata.name}`;
      const types = n.spec.policyTypes ?? [];
      if (!types.includes("Ingress") || !types.includes("Egress")) problems.push(`${nn}: policyTypes must be Ingress and Egress`);
      if ((n.spec.egress ?? []).length) problems.push(`${nn}: egress rules (${st.name} opens no connections)`);
      for (const rule of n.spec.ingress ?? []) {
        if (!rule.from?.length) { problems.push(`${nn}: an ingress rule from anywhere`); continue; }
        if (!rule.ports?.length) problems.push(`${nn}: an ingress rule without ports (all of ${st.name}'s ports)`);
        for (const p of rule.ports ?? []) {
          const r = namedPort(st, p.port);
          if (r === undefined || !ports.has(r)) problems.push(`${nn}: ingress port ${p.port} is not a port of ${st.name}`);
        }
        for (const peer of rule.from) {
          if (!peerOk(nn, peer)) continue;
          const hit = workloads.filter((w) => selects(peer.podSelector.matchLabels, w.labels));
          if (!hit.length) problems.push(`${nn}: peer ${JSON.stringify(peer.podSelector.matchLabels)} selects no pods in the render`);
          for (const w of hit) admitted.add(w.name);
        }
      }
    }
    const need = new Set((users.get(st.name) ?? []).map((u) => u.client.name));
    for (const a of admitted) if (!need.has(a)) problems.push(`${st.name}: admits ${a}, which does not connect to it`);
    if (nps.length) for (const u of need) if (!admitted.has(u)) problems.push(`${st.name}: ${u} connects to it but is not admitted`);
    // the clients' side: their own policies must let them out to that port
    for (const u of users.get(st.name) ?? []) {
      const own = ofKind("NetworkPolicy").filter((x) => selects(x.spec?.podSelector?.matchLabels, u.client.labels) && (x.spec.policyTypes ?? []).includes("Egress"));
      if (own.length && !own.some((x) => (x.spec.egress ?? []).some((r) => !r.ports?.length || r.ports.some((p) => p.port === u.port && (p.protocol ?? "TCP") === "TCP"))))
        problems.push(`${u.client.name}: its NetworkPolicies (${own.map((x) => x.metadata.name).join(",")}) allow no egress to ${st.name}'s port ${u.port}`);
    }
    texts.push(`${st.name} <- ${[...admitted].sort().join(", ") || "nobody"} on ${[...ports].join(",")}`);
  }
  report("store access", problems, `${texts.join("; ")}: exactly the pods that connect to each, which may go out to it; the stores open no connections`);
}

process.exit(failures ? 1 : 0);
