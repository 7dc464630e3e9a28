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
//
// Prints "ok   NAME: ..." or "FAIL NAME: ..." per check; exits 1 on a FAIL.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const opt = { overlay: "?", helpFile: null, uid: null, externalSecret: false, printEnv: false, file: null };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--overlay") opt.overlay = args[++i];
  else if (a === "--help-file") opt.helpFile = args[++i];
  else if (a === "--uid") opt.uid = Number(args[++i]);
  else if (a === "--external-secret") opt.externalSecret = true;
  else if (a === "--print-env") opt.printEnv = true;
  else if (a === "--print-paths") opt.printPaths = true;
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
const env = new Map(); // name -> { value } | { secret: {name, key} } | { configMap: ... }
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
const secretsInRender = ofKind("Secret");
function secretValue(ref) {
  const s = secretsInRender.find((x) => x.metadata?.name === ref.name);
  if (!s) return undefined;
  if (s.stringData?.[ref.key] !== undefined) return String(s.stringData[ref.key]);
  if (s.data?.[ref.key] !== undefined) return Buffer.from(String(s.data[ref.key]), "base64").toString("utf8");
  return undefined;
}

if (opt.printPaths) {
  console.log(ctr.livenessProbe?.httpGet?.path ?? "-");
  console.log(ctr.readinessProbe?.httpGet?.path ?? "-");
  console.log(pod.metadata?.annotations?.["prometheus.io/path"] ?? "-");
  process.exit(0);
}
if (opt.printEnv) {
  for (const [k, v] of env) {
    let val = v.value;
    if (v.secret) val = secretValue(v.secret) ?? (k === "STOCKD_REDIS_URL" ? "redis://:placeholder@redis.invalid:6379/0" : "placeholder-token");
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

process.exit(failures ? 1 : 0);
