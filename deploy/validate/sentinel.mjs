#!/usr/bin/env node
// A Redis Sentinel set-up in a rendered overlay (deploy/k8s/overlays/
// dev-sentinel), checked against itself and against stockd's settings for
// deploy/check.sh, through consistency.mjs:
//   - the sentinels: at least 3, a quorum they can reach with one of them
//     lost, stable names (a headless Service that publishes pods before they
//     are ready), host names kept and handed out (resolve-hostnames,
//     announce-hostnames), the host lists their start-up script is given
//     naming exactly the pods of the render;
//   - the data nodes: at least a master and a replica, the same host lists,
//     a redis.conf fit for stockd, its data on a claim;
//   - stockd: a redis+sentinel:// URL naming exactly the sentinels and the
//     master name they monitor, without a password; its passwords from the
//     very Secret keys the sentinels and the data nodes use; a durability
//     the replicas can meet, with WAIT's timeout below the request timeout.
//
// Run on its own, it writes what deploy/validate/rehearse-sentinel.sh needs
// to start the set-up on loopback addresses:
//   node sentinel.mjs --rehearsal DIR RENDERED.yaml
//     DIR/redis/{init.sh,template.conf,env}, DIR/sentinel/{...},
//     DIR/secrets/<file> (the Secret's values under the names the scripts
//     read), DIR/topology (REDIS_REPLICAS=, SENTINEL_REPLICAS=, MASTER_NAME=, DB=)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadRender, selects, parseConn, durabilityReplicas, redisConfProblems } from "./render.mjs";

const REDIS_IMAGE = /(^|\/)redis(:|@|$)/;
export const isRedis = (w) => (w.spec.containers ?? []).some((c) => REDIS_IMAGE.test(c.image ?? ""));
export const isSentinel = (w) =>
  (w.spec.containers ?? []).some((c) => {
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map(String);
    return argv.includes("--sentinel") || /(^|\/)redis-sentinel$/.test(argv[0] ?? "");
  });

// The plain environment of a workload's init containers (the start-up
// scripts' settings): name -> value.
export function initEnv(R, w) {
  const out = new Map();
  for (const c of w.spec.initContainers ?? []) for (const [k, v] of R.envOf(c).env) if (v.value !== undefined) out.set(k, v.value);
  return out;
}
const words = (s) => String(s ?? "").split(/\s+/).filter(Boolean);
const portVar = (env, name, dflt) => Number(env.get(name) ?? dflt);

// The connections the set-up's init containers are told about: SENTINELS
// (on SENTINEL_PORT), REDIS_NODES and FIRST_MASTER (on REDIS_PORT).
// -> [{ client, target, port, via }] for the hosts that resolve in the render.
export function topologyEdges(R) {
  const out = [];
  for (const w of R.workloads) {
    const env = initEnv(R, w);
    const lists = [
      ["SENTINELS", words(env.get("SENTINELS")), portVar(env, "SENTINEL_PORT", 26379)],
      ["REDIS_NODES", words(env.get("REDIS_NODES")), portVar(env, "REDIS_PORT", 6379)],
      ["FIRST_MASTER", words(env.get("FIRST_MASTER")), portVar(env, "REDIS_PORT", 6379)],
    ];
    for (const [name, hosts, port] of lists)
      for (const h of hosts) {
        const r = R.reach(h, port);
        if (!r.problem) out.push({ client: w, target: r.target, port: r.port, via: `${name} ${h}` });
      }
  }
  return out;
}

// Where a redis+sentinel:// connection leads: each sentinel of the URL, and
// the data nodes those sentinels monitor (the master they name may be any).
export function sentinelUrlEdges(R, w, c) {
  const out = [];
  for (const h of c.conn.hosts) {
    const r = R.reach(h.host, h.port);
    if (r.problem) continue;
    out.push({ target: r.target, port: r.port });
    const env = initEnv(R, r.target);
    for (const n of words(env.get("REDIS_NODES"))) {
      const d = R.reach(n, portVar(env, "REDIS_PORT", 6379));
      if (!d.problem) out.push({ target: d.target, port: d.port });
    }
  }
  return out;
}

// The ConfigMap key behind a path a container sees (through a configMap
// volume mount), or undefined.
export function configFile(R, w, c, path) {
  for (const m of c.volumeMounts ?? []) {
    const dir = m.mountPath.replace(/\/+$/, "");
    if (!path.startsWith(`${dir}/`)) continue;
    const vol = (w.spec.volumes ?? []).find((v) => v.name === m.name);
    const cm = vol?.configMap && R.byName("ConfigMap", vol.configMap.name);
    const key = path.slice(dir.length + 1);
    const item = (vol?.configMap?.items ?? []).find((i) => i.path === key);
    const v = cm?.data?.[item ? item.key : key];
    if (v !== undefined) return String(v);
  }
  return undefined;
}
// The Secret key behind a file a container sees (through a secret volume).
export function secretFile(R, w, c, path) {
  for (const m of c.volumeMounts ?? []) {
    const dir = m.mountPath.replace(/\/+$/, "");
    if (!path.startsWith(`${dir}/`)) continue;
    const vol = (w.spec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.secret) continue;
    const file = path.slice(dir.length + 1);
    const items = vol.secret.items;
    const key = items ? items.find((i) => i.path === file)?.key : file;
    if (key !== undefined) return { name: vol.secret.secretName, key };
  }
  return undefined;
}
// The script an init container runs (["sh", PATH] or [PATH]) and its text.
export function initScript(R, w) {
  const c = (w.spec.initContainers ?? [])[0];
  if (!c) return {};
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map(String);
  const path = /(^|\/)(ba|da)?sh$/.test(argv[0] ?? "") ? argv[1] : argv[0];
  return { c, path, text: path && configFile(R, w, c, path) };
}
export const scriptDefault = (text, name) => new RegExp(`\\$\\{${name}:=([^}]*)\\}`).exec(text ?? "")?.[1];

// The facts both the checks and the rehearsal need, or { problem }.
function setUp(R) {
  const sentinels = R.workloads.filter((w) => w.kind === "StatefulSet" && isSentinel(w));
  const data = R.workloads.filter((w) => w.kind === "StatefulSet" && isRedis(w) && !isSentinel(w));
  if (sentinels.length !== 1) return { problem: `expected one StatefulSet of sentinels, found ${sentinels.length}` };
  if (data.length !== 1) return { problem: `expected one StatefulSet of Redis data nodes beside the sentinels, found ${data.length}` };
  const s = sentinels[0];
  const d = data[0];
  const side = (w, confVar, confDefault) => {
    const script = initScript(R, w);
    const env = initEnv(R, w);
    const template = script.c && configFile(R, w, script.c, env.get("TEMPLATE") ?? scriptDefault(script.text, "TEMPLATE") ?? "");
    return { w, env, script, template, conf: env.get(confVar) ?? scriptDefault(script.text, confVar) ?? confDefault,
             secrets: env.get("SECRETS") ?? scriptDefault(script.text, "SECRETS") ?? "" };
  };
  return { s: side(s, "CONF", "/data/sentinel.conf"), d: side(d, "CONF", "/run/redis/redis.conf") };
}

export function sentinelChecks(ctx) {
  const { R, opt, env } = ctx;
  const anySentinel = R.workloads.some(isSentinel);
  if (!anySentinel && !opt.sentinel) return;
  const set = setUp(R);
  if (set.problem) {
    R.report("sentinel", [set.problem], "");
    return;
  }
  const { s, d } = set;
  const replicas = (w) => w.obj.spec.replicas ?? 1;

  // Stable names for a StatefulSet's pods: its governing Service is headless
  // and publishes pods before they are ready (the init containers and the
  // sentinels look each other up while starting), and SELF is the pod's own
  // name through it.
  const naming = (side, problems) => {
    const w = side.w;
    const svc = R.byName("Service", w.obj.spec.serviceName);
    if (!svc) problems.push(`${w.name}: serviceName ${w.obj.spec.serviceName} is no Service in the render`);
    else {
      if (svc.spec.clusterIP !== "None") problems.push(`${w.name}: Service ${svc.metadata.name} is not headless (clusterIP: None)`);
      if (svc.spec.publishNotReadyAddresses !== true) problems.push(`${w.name}: Service ${svc.metadata.name} does not publishNotReadyAddresses: starting pods could not find each other`);
      if (!selects(svc.spec.selector, w.labels)) problems.push(`${w.name}: Service ${svc.metadata.name} does not select its pods`);
    }
    const c = side.script.c;
    const self = (c?.env ?? []).find((e) => e.name === "SELF")?.value;
    const podName = (c?.env ?? []).find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath;
    if (podName !== "metadata.name") problems.push(`${w.name}: the init container's POD_NAME is not the pod's name (fieldRef metadata.name)`);
    if (self !== `$(POD_NAME).${w.obj.spec.serviceName}`) problems.push(`${w.name}: SELF is ${self}, not $(POD_NAME).${w.obj.spec.serviceName}`);
    if (!side.script.text) problems.push(`${w.name}: the init container's script ${side.script.path} is in no ConfigMap mounted there`);
    if (!side.template) problems.push(`${w.name}: the template the script copies is in no ConfigMap mounted in the init container`);
    // The file the init container writes is the one the server reads.
    const main = (w.spec.containers ?? [])[0];
    const argv = [...(main?.command ?? []), ...(main?.args ?? [])].map(String);
    if (!argv.includes(side.conf)) problems.push(`${w.name}: the server does not read ${side.conf}, the file the init container writes`);
    const vol = (ctr) => (ctr?.volumeMounts ?? []).find((m) => side.conf.startsWith(`${m.mountPath.replace(/\/+$/, "")}/`));
    const vi = vol(c);
    const vm = vol(main);
    if (!vi || !vm || vi.name !== vm.name || vi.readOnly || vm.readOnly) problems.push(`${w.name}: ${side.conf} is not on one writable volume of both the init container and the server`);
    else if (!(w.spec.volumes ?? []).some((v) => v.name === vi.name && v.emptyDir) && !(w.obj.spec.volumeClaimTemplates ?? []).some((v) => v.metadata?.name === vi.name))
      problems.push(`${w.name}: ${side.conf} is on volume ${vi.name}, neither an emptyDir nor a claim (the server rewrites it)`);
    // One pod at a time in a drain.
    const pdbs = R.ofKind("PodDisruptionBudget").filter((p) => selects(p.spec?.selector?.matchLabels, w.labels));
    if (pdbs.length !== 1 || ![1, "1"].includes(pdbs[0].spec.maxUnavailable)) problems.push(`${w.name}: expected one PodDisruptionBudget with maxUnavailable 1`);
  };
  // A host list names exactly the pods of a StatefulSet, each once.
  const listIs = (what, hosts, port, target, problems) => {
    const pods = new Set();
    for (const h of hosts) {
      const r = R.reach(h, port);
      if (r.problem) problems.push(`${what}: ${r.problem}`);
      else if (r.target !== target || !r.pod) problems.push(`${what}: ${h} is not a pod of ${target.name}`);
      else if (pods.has(r.pod)) problems.push(`${what}: ${h} twice`);
      else pods.add(r.pod);
    }
    if (pods.size !== replicas(target)) problems.push(`${what} names ${pods.size} of ${target.name}'s ${replicas(target)} pods`);
  };
  // The Secret key behind a password file the script reads.
  const passwordRef = (side, file) => side.script.c && secretFile(R, side.w, side.script.c, `${side.secrets}/${file}`);
  const sameRef = (a, b) => !!a && !!b && a.name === b.name && a.key === b.key;
  const masterName = s.env.get("MASTER_NAME");
  const redisPort = portVar(s.env, "REDIS_PORT", 6379);
  const sentinelPort = portVar(s.env, "SENTINEL_PORT", 26379);

  // 1. the sentinels
  {
    const problems = [];
    const n = replicas(s.w);
    const quorum = Number(s.env.get("QUORUM"));
    if (n < 3) problems.push(`${n} sentinels: a failover needs a majority, so fewer than 3 cannot lose one`);
    if (!Number.isInteger(quorum) || quorum < 1) problems.push(`QUORUM ${s.env.get("QUORUM")} is not a whole number >= 1`);
    else if (quorum > n) problems.push(`QUORUM ${quorum} > ${n} sentinels: the master could never be agreed down`);
    else if (quorum > n - 1) problems.push(`QUORUM ${quorum} of ${n}: with one sentinel lost the master could never be agreed down`);
    if (!masterName) problems.push("MASTER_NAME is not set");
    naming(s, problems);
    for (const k of ["resolve-hostnames", "announce-hostnames"])
      if (!new RegExp(`^\\s*sentinel\\s+${k}\\s+yes\\s*$`, "m").test(s.template ?? ""))
        problems.push(`sentinel.conf lacks \`sentinel ${k} yes\` (the pods are known by their DNS names; their IPs change)`);
    listIs("sentinels' SENTINELS", words(s.env.get("SENTINELS")), sentinelPort, s.w, problems);
    listIs("sentinels' REDIS_NODES", words(s.env.get("REDIS_NODES")), redisPort, d.w, problems);
    if (!words(s.env.get("REDIS_NODES")).includes(s.env.get("FIRST_MASTER"))) problems.push(`FIRST_MASTER ${s.env.get("FIRST_MASTER")} is not in REDIS_NODES`);
    const sentinelCtr = (s.w.spec.containers ?? []).flatMap((c) => c.ports ?? []).map((p) => p.containerPort);
    if (!sentinelCtr.includes(sentinelPort)) problems.push(`no container port ${sentinelPort} (SENTINEL_PORT)`);
    R.report("sentinels", problems, `${s.w.name}: ${n} pods, quorum ${quorum} (one may be lost), master "${masterName}", names through headless Service ${s.w.obj.spec.serviceName}, SENTINELS and REDIS_NODES name exactly the pods`);
  }

  // 2. the data nodes
  const durability = durabilityReplicas(env.get("STOCKD_DURABILITY")?.value) ?? 0;
  {
    const problems = [];
    const n = replicas(d.w);
    if (n < 2) problems.push(`${n} data node(s): no replica to fail over to`);
    naming(d, problems);
    problems.push(...redisConfProblems(d.w.name, d.template ?? "", durability, n - 1));
    for (const k of ["SENTINELS", "REDIS_NODES", "FIRST_MASTER", "MASTER_NAME", "REDIS_PORT", "SENTINEL_PORT"])
      if ((d.env.get(k) ?? "") !== (s.env.get(k) ?? "")) problems.push(`${k} of the data nodes (${d.env.get(k)}) is not the sentinels' (${s.env.get(k)})`);
    const main = (d.w.spec.containers ?? [])[0];
    if (!(main?.ports ?? []).some((p) => p.containerPort === redisPort)) problems.push(`no container port ${redisPort} (REDIS_PORT)`);
    const dir = /^\s*dir\s+(\S+)\s*$/m.exec(d.template ?? "")?.[1];
    const dataMount = (main?.volumeMounts ?? []).find((m) => m.mountPath.replace(/\/+$/, "") === dir);
    if (!dataMount || !(d.w.obj.spec.volumeClaimTemplates ?? []).some((v) => v.metadata?.name === dataMount.name))
      problems.push(`redis.conf's dir ${dir} is not a claim of ${d.w.name} (the AOF would not survive the pod)`);
    for (const f of ["redis-password", "sentinel-password"])
      if (!sameRef(passwordRef(d, f), passwordRef(s, f))) problems.push(`the data nodes' ${f} is not the sentinels' (Secret key)`);
    R.report("redis data nodes", problems, `${d.w.name}: ${n} pods (a master and ${n - 1} replica${n > 2 ? "s" : ""}), the sentinels' host lists, redis.conf: AOF ${/^\s*appendfsync\s+(\S+)/m.exec(d.template ?? "")?.[1]}, noeviction, min-replicas-to-write within the replicas; data on a claim`);
  }

  // 3. stockd against the set-up
  {
    const problems = [];
    const urlVar = env.get("STOCKD_REDIS_URL");
    const conn = parseConn(urlVar?.secret ? R.secretValue(urlVar.secret) : urlVar?.value);
    if (conn?.kind !== "sentinel") problems.push("STOCKD_REDIS_URL is not a redis+sentinel:// URL, yet the render runs sentinels");
    else {
      const hosts = conn.hosts.map((h) => `${h.host}:${h.port}`);
      listIs("STOCKD_REDIS_URL", conn.hosts.map((h) => h.host), sentinelPort, s.w, problems);
      if (conn.hosts.some((h) => h.port !== sentinelPort)) problems.push(`STOCKD_REDIS_URL: a sentinel not on port ${sentinelPort}: ${hosts.join(",")}`);
      if (conn.master !== masterName) problems.push(`STOCKD_REDIS_URL's master name ${conn.master} is not the one the sentinels monitor (${masterName})`);
      if (conn.password !== undefined && conn.password !== "") problems.push("STOCKD_REDIS_URL carries a password: give it with STOCKD_REDIS_PASSWORD from a Secret key");
    }
    const want = [["STOCKD_REDIS_PASSWORD", "redis-password", d], ["STOCKD_SENTINEL_PASSWORD", "sentinel-password", s]];
    for (const [k, f, side] of want) {
      const ref = env.get(k)?.secret;
      const theirs = passwordRef(side, f);
      if (!ref) problems.push(`${k} is not set from a Secret key (the ${side === d ? "data nodes" : "sentinels"} require a password)`);
      else if (!sameRef(ref, theirs)) problems.push(`${k} comes from ${ref.name}/${ref.key}, the ${side === d ? "data nodes" : "sentinels"} read theirs from ${theirs?.name}/${theirs?.key}`);
    }
    const n = replicas(d.w) - 1;
    const dv = env.get("STOCKD_DURABILITY")?.value;
    if (durabilityReplicas(dv) === null) problems.push(`STOCKD_DURABILITY=${dv} is not none, replica or replica:N`);
    else if (durability > n) problems.push(`STOCKD_DURABILITY=${dv} waits for ${durability} replicas, the render has ${n}: every write would answer 2002`);
    const num = (k, dflt) => Number(env.get(k)?.value ?? dflt);
    const wait = num("STOCKD_DURABILITY_TIMEOUT_MS", 1000);
    const request = num("STOCKD_REQUEST_TIMEOUT_MS", 2000);
    const stuck = num("STOCKD_REDIS_STUCK_MS", 5000);
    if (durability && !(wait < request && wait < stuck)) problems.push(`STOCKD_DURABILITY_TIMEOUT_MS ${wait} must be below STOCKD_REQUEST_TIMEOUT_MS ${request} and STOCKD_REDIS_STUCK_MS ${stuck}`);
    R.report("stockd and sentinel", problems, `the URL names the ${replicas(s.w)} sentinels and "${masterName}", no password in it; STOCKD_REDIS_PASSWORD and STOCKD_SENTINEL_PASSWORD from the keys the data nodes and sentinels read; durability ${dv ?? "none"} with ${n} replica${n > 1 ? "s" : ""}, WAIT ${wait} ms < request ${request} ms`);
  }
}

// ---- the rehearsal's files -------------------------------------------------
function rehearsalFiles(dir, file) {
  const R = loadRender(file, "rehearsal");
  const set = setUp(R);
  if (set.problem) throw new Error(set.problem);
  const q = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
  const topo = new Set(["POD_NAME", "SELF", "FIRST_MASTER", "REDIS_NODES", "SENTINELS", "REDIS_PORT", "SENTINEL_PORT", "TEMPLATE", "CONF", "SECRETS", "DATA"]);
  mkdirSync(join(dir, "secrets"), { recursive: true });
  for (const [name, side] of [["redis", set.d], ["sentinel", set.s]]) {
    mkdirSync(join(dir, name), { recursive: true });
    if (!side.script.text || !side.template) throw new Error(`${side.w.name}: no script or template in the render`);
    writeFileSync(join(dir, name, "init.sh"), side.script.text);
    writeFileSync(join(dir, name, "template.conf"), side.template);
    writeFileSync(join(dir, name, "env"), [...side.env].filter(([k]) => !topo.has(k)).map(([k, v]) => `export ${k}=${q(v)}\n`).join(""));
    for (const f of ["redis-password", "sentinel-password"]) {
      const ref = side.script.c && secretFile(R, side.w, side.script.c, `${side.secrets}/${f}`);
      const v = ref && R.secretValue(ref);
      if (v === undefined) throw new Error(`${side.w.name}: no Secret value for ${f}`);
      writeFileSync(join(dir, "secrets", f), v);
    }
  }
  const stockd = R.workloads.find((w) => (w.spec.containers ?? []).some((c) => c.name === "stockd"));
  const url = stockd && R.connectionsOf(stockd).find((c) => c.env === "STOCKD_REDIS_URL")?.conn;
  writeFileSync(join(dir, "topology"), [
    `REDIS_REPLICAS=${set.d.w.obj.spec.replicas ?? 1}`,
    `SENTINEL_REPLICAS=${set.s.w.obj.spec.replicas ?? 1}`,
    `MASTER_NAME=${q(set.s.env.get("MASTER_NAME"))}`,
    `DB=${q(url?.db ?? 0)}`,
    "",
  ].join("\n"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [flag, dir, file] = process.argv.slice(2);
  if (flag !== "--rehearsal" || !dir || !file) {
    console.error("usage: sentinel.mjs --rehearsal DIR RENDERED.yaml");
    process.exit(2);
  }
  try {
    rehearsalFiles(dir, file);
  } catch (e) {
    console.error(`sentinel.mjs: ${e.message}`);
    process.exit(1);
  }
}
