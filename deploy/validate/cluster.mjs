#!/usr/bin/env node
// A Redis Cluster set-up in a rendered overlay (deploy/k8s/overlays/
// dev-cluster), and a tenants file, checked against themselves and against
// stockd's settings for deploy/check.sh, through consistency.mjs:
//   - the nodes: one StatefulSet, masters x (1 + replicas per master) pods,
//     at least 3 masters (a failover needs a majority of masters), stable
//     names (a headless Service that publishes pods before they are ready,
//     with the client and bus ports), names announced to clients
//     (cluster-announce-hostname, cluster-preferred-endpoint-type hostname),
//     nodes.conf and the AOF on a claim, a redis.conf fit for stockd;
//   - the Job that creates the cluster: REDIS_NODES naming exactly the pods,
//     the nodes' image and password, as strict a pod as the nodes';
//   - stockd: a redis+cluster:// URL whose seeds are pods of the cluster, on
//     its port, without a password; STOCKD_REDIS_PASSWORD from the key the
//     nodes read; a durability each master's replicas can meet;
//   - tenants (any overlay with STOCKD_TENANTS_FILE): the file comes from a
//     Secret key mounted read-only, parses as stockd parses it, and
//     STOCKD_AUTH_TOKEN and webhooks are not set beside it.
//
// Run on its own, it writes what deploy/validate/rehearse-cluster.sh needs:
//   node cluster.mjs --rehearsal DIR RENDERED.yaml
//     DIR/redis/{init.sh,template.conf,env}, DIR/job/{create.sh,env},
//     DIR/secrets/redis-password, DIR/tenants (the tenants file),
//     DIR/topology (NODES=, REPLICAS_PER_MASTER=)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadRender, selects, parseConn, durabilityReplicas, redisConfProblems } from "./render.mjs";
import { isRedis, initEnv, configFile, secretFile, initScript, scriptDefault } from "./sentinel.mjs";

const words = (s) => String(s ?? "").split(/\s+/).filter(Boolean);
const confGet = (conf, k) =>
  [...String(conf ?? "").matchAll(new RegExp(`^\\s*${k}\\s+(\\S+)\\s*$`, "gm"))].map((x) => x[1].replace(/^"|"$/g, "")).pop();

// Redis Cluster's key slot of a hash tag: CRC16-XMODEM of its bytes & 16383.
export function slotOfTag(tag) {
  let crc = 0;
  for (const b of Buffer.from(tag)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 16383;
}
// The master (0-based) that `redis-cli --cluster create` gives a slot to:
// it splits the 16384 slots into equal contiguous ranges.
export const createMasterOf = (slot, masters) => {
  for (let m = 0, first = 0; m < masters; m++) {
    const last = Math.round(((m + 1) * 16384) / masters) - 1;
    if (slot >= first && slot <= last) return m;
    first = last + 1;
  }
  return masters - 1;
};

const isClusterNodes = (R, w) => {
  if (w.kind !== "StatefulSet" || !isRedis(w)) return false;
  const s = initScript(R, w);
  const env = initEnv(R, w);
  const t = s.c && configFile(R, w, s.c, env.get("TEMPLATE") ?? scriptDefault(s.text, "TEMPLATE") ?? "");
  return confGet(t, "cluster-enabled") === "yes";
};

// The facts the checks, the edges and the rehearsal need, null when the
// render runs no cluster, or { problem }.
function setUp(R) {
  const sets = R.workloads.filter((w) => isClusterNodes(R, w));
  if (!sets.length) return null;
  if (sets.length !== 1) return { problem: `expected one StatefulSet of cluster nodes, found ${sets.length}` };
  const w = sets[0];
  const script = initScript(R, w);
  const env = initEnv(R, w);
  const template = configFile(R, w, script.c, env.get("TEMPLATE") ?? scriptDefault(script.text, "TEMPLATE") ?? "");
  const port = Number(confGet(template, "port") ?? 6379);
  const bus = Number(confGet(template, "cluster-port") ?? port + 10000);
  const nodes = { w, env, script, template, port, bus,
                  conf: env.get("CONF") ?? scriptDefault(script.text, "CONF") ?? "/run/redis/redis.conf",
                  secrets: env.get("SECRETS") ?? scriptDefault(script.text, "SECRETS") ?? "" };
  // The Job: a container with REDIS_NODES that runs a script from a ConfigMap.
  let job = null;
  for (const j of R.workloads.filter((x) => x.kind === "Job"))
    for (const c of j.spec.containers ?? []) {
      const jenv = new Map([...R.envOf(c).env].filter(([, v]) => v.value !== undefined).map(([k, v]) => [k, v.value]));
      if (!jenv.has("REDIS_NODES")) continue;
      const argv = [...(c.command ?? []), ...(c.args ?? [])].map(String);
      const path = /(^|\/)(ba|da)?sh$/.test(argv[0] ?? "") ? argv[1] : argv[0];
      const text = path && configFile(R, j, c, path);
      job = { w: j, c, env: jenv, path, text, secrets: jenv.get("SECRETS") ?? scriptDefault(text, "SECRETS") ?? "" };
    }
  return { nodes, job };
}

// Who connects where inside the set-up: every node to every node (6379:
// replication; the bus port: gossip), the Job to every node.
// -> [{ client, target, port, via }]
export function clusterEdges(R) {
  const set = setUp(R);
  if (!set || set.problem) return [];
  const { nodes, job } = set;
  const out = [
    { client: nodes.w, target: nodes.w, port: nodes.port, via: "replication" },
    { client: nodes.w, target: nodes.w, port: nodes.bus, via: "cluster bus" },
  ];
  if (job) out.push({ client: job.w, target: nodes.w, port: nodes.port, via: "REDIS_NODES" });
  return out;
}

// Where a redis+cluster:// connection leads: the workloads of its seeds
// (the map then names any node of them).
export function clusterUrlEdges(R, w, c) {
  const out = [];
  for (const h of c.conn.hosts) {
    const r = R.reach(h.host, h.port);
    if (!r.problem) out.push({ target: r.target, port: r.port });
  }
  return out;
}

// A tenants file as stockd reads it -> { tenants: [names], problems }.
export function parseTenants(text) {
  const problems = [];
  const names = new Set();
  const tokens = new Set();
  String(text ?? "").split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const f = line.split(/[ \t]+/);
    const where = `line ${i + 1}`;
    if (f.length !== 2) return problems.push(`${where}: not "<tenant> <token>"`);
    const [t, tok] = f;
    if (t.length > 64 || !/^[A-Za-z0-9._~@/+=-]+$/.test(t)) problems.push(`${where}: tenant "${t}" is not an identifier of 1..64 bytes`);
    if (tok.length > 1023) problems.push(`${where}: the token is longer than 1023 bytes`);
    if (names.has(t)) problems.push(`${where}: tenant "${t}" twice`);
    if (tokens.has(tok)) problems.push(`${where}: a token given twice`);
    names.add(t);
    tokens.add(tok);
  });
  if (!names.size && !problems.length) problems.push("no tenant in it");
  return { tenants: [...names], problems };
}

// The Secret key behind STOCKD_TENANTS_FILE, through the stockd
// container's volume mounts -> { ref, mount } | { problem }.
function tenantsSource(R, dep, ctr, path) {
  const w = R.workloads.find((x) => x.obj === dep);
  for (const m of ctr.volumeMounts ?? []) {
    const dir = m.mountPath.replace(/\/+$/, "");
    if (!path.startsWith(`${dir}/`)) continue;
    const vol = (w.spec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.secret) return { problem: `${path} is on volume ${m.name}, which is not a Secret (the tokens are secrets)` };
    const ref = secretFile(R, w, ctr, path);
    if (!ref) return { problem: `${path} is no key of Secret ${vol.secret.secretName}` };
    return { ref, mount: m };
  }
  return { problem: `${path} is on no volume of the stockd container` };
}

export function tenantsText(R, dep, ctr, env) {
  const path = env.get("STOCKD_TENANTS_FILE")?.value;
  if (!path) return undefined;
  const src = tenantsSource(R, dep, ctr, path);
  return src.ref ? R.secretValue(src.ref) : undefined;
}

export function tenantsChecks(ctx) {
  const { R, env, dep, ctr } = ctx;
  const v = env.get("STOCKD_TENANTS_FILE");
  if (!v) return;
  const problems = [];
  let text = "";
  if (v.secret || v.value === undefined) problems.push("STOCKD_TENANTS_FILE must be a plain path (the file comes from a Secret volume)");
  else {
    const src = tenantsSource(R, dep, ctr, v.value);
    if (src.problem) problems.push(src.problem);
    else {
      if (src.mount.readOnly !== true) problems.push(`the volume at ${src.mount.mountPath} is not mounted readOnly`);
      const body = R.secretValue(src.ref);
      if (body === undefined) {
        if (R.secretsInRender.some((s) => s.metadata?.name === src.ref.name)) problems.push(`Secret ${src.ref.name} has no key ${src.ref.key}`);
        text = `${v.value} from the operator's Secret ${src.ref.name}/${src.ref.key}`;
      } else {
        const t = parseTenants(body);
        problems.push(...t.problems.map((p) => `${src.ref.name}/${src.ref.key}: ${p}`));
        text = `${v.value} from Secret ${src.ref.name}/${src.ref.key}, read-only: ${t.tenants.length} tenant(s) (${t.tenants.slice(0, 5).join(", ")}${t.tenants.length > 5 ? ", ..." : ""}), each "<tenant> <token>", no duplicates`;
      }
    }
  }
  if (env.has("STOCKD_AUTH_TOKEN") || env.has("STOCKD_AUTH_TOKEN_FILE")) problems.push("STOCKD_AUTH_TOKEN(_FILE) is set beside STOCKD_TENANTS_FILE: stockd refuses both (each tenant has its token)");
  for (const k of env.keys()) if (/^STOCKD_WEBHOOK_URL/.test(k)) problems.push(`${k} is set: webhooks are not offered with tenants`);
  R.report("tenants", problems, text);
}

export function clusterChecks(ctx) {
  const { R, opt, env } = ctx;
  const set = setUp(R);
  if (!set && !opt.cluster) return;
  if (!set || set.problem) {
    R.report("redis cluster", [set?.problem ?? "no StatefulSet of Redis nodes with cluster-enabled yes"], "");
    return;
  }
  const { nodes: d, job } = set;
  const n = d.w.obj.spec.replicas ?? 1;
  const perMaster = Number(job?.env.get("REPLICAS_PER_MASTER"));
  const masters = Number.isInteger(perMaster) && perMaster >= 0 ? n / (1 + perMaster) : NaN;
  const durability = durabilityReplicas(env.get("STOCKD_DURABILITY")?.value) ?? 0;
  const svc = R.byName("Service", d.w.obj.spec.serviceName);

  // A host list names exactly the pods of the StatefulSet, each once.
  const listIs = (what, hosts, port, problems) => {
    const pods = new Set();
    for (const h of hosts) {
      const r = R.reach(h, port);
      if (r.problem) problems.push(`${what}: ${r.problem}`);
      else if (r.target !== d.w || !r.pod) problems.push(`${what}: ${h} is not a pod of ${d.w.name}`);
      else if (pods.has(r.pod)) problems.push(`${what}: ${h} twice`);
      else pods.add(r.pod);
    }
    return pods;
  };

  // 1. the nodes
  {
    const problems = [];
    if (!Number.isInteger(masters)) problems.push(`${n} nodes do not make whole shards of 1 + ${job?.env.get("REPLICAS_PER_MASTER")} (REPLICAS_PER_MASTER of the Job)`);
    else if (masters < 3) problems.push(`${masters} master(s): a failover needs a majority of masters, so fewer than 3 cannot lose one`);
    if (!svc) problems.push(`serviceName ${d.w.obj.spec.serviceName} is no Service in the render`);
    else {
      if (svc.spec.clusterIP !== "None") problems.push(`Service ${svc.metadata.name} is not headless (clusterIP: None)`);
      if (svc.spec.publishNotReadyAddresses !== true) problems.push(`Service ${svc.metadata.name} does not publishNotReadyAddresses: starting pods could not find each other`);
      if (!selects(svc.spec.selector, d.w.labels)) problems.push(`Service ${svc.metadata.name} does not select the nodes`);
      for (const p of [d.port, d.bus])
        if (!(svc.spec.ports ?? []).some((sp) => R.namedPort(d.w, sp.targetPort ?? sp.port) === p)) problems.push(`Service ${svc.metadata.name} has no port for ${p}`);
    }
    const c = d.script.c;
    const self = (c?.env ?? []).find((e) => e.name === "SELF")?.value;
    const podName = (c?.env ?? []).find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath;
    if (podName !== "metadata.name") problems.push("the init container's POD_NAME is not the pod's name (fieldRef metadata.name)");
    if (self !== `$(POD_NAME).${d.w.obj.spec.serviceName}`) problems.push(`SELF is ${self}, not $(POD_NAME).${d.w.obj.spec.serviceName}`);
    if (!d.script.text) problems.push(`the init container's script ${d.script.path} is in no ConfigMap mounted there`);
    else if (!/cluster-announce-hostname\s+\$SELF/.test(d.script.text)) problems.push("the init script does not announce SELF (cluster-announce-hostname $SELF): clients would be handed pod IPs");
    if (confGet(d.template, "cluster-preferred-endpoint-type") !== "hostname") problems.push("redis.conf lacks cluster-preferred-endpoint-type hostname (MOVED and CLUSTER SLOTS would name pod IPs, which change)");
    const main = (d.w.spec.containers ?? [])[0];
    const argv = [...(main?.command ?? []), ...(main?.args ?? [])].map(String);
    if (!argv.includes(d.conf)) problems.push(`the server does not read ${d.conf}, the file the init container writes`);
    const mountOf = (ctr, path) => (ctr?.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath.replace(/\/+$/, "")}/`) || path === m.mountPath.replace(/\/+$/, ""));
    const vi = mountOf(c, d.conf);
    const vm = mountOf(main, d.conf);
    if (!vi || !vm || vi.name !== vm.name || vi.readOnly || vm.readOnly) problems.push(`${d.conf} is not on one writable volume of both the init container and the server`);
    const dir = confGet(d.template, "dir");
    const claims = new Set((d.w.obj.spec.volumeClaimTemplates ?? []).map((v) => v.metadata?.name));
    const dataMain = dir && mountOf(main, dir);
    const dataInit = dir && mountOf(c, dir);
    if (!dataMain || !claims.has(dataMain.name) || dataMain.readOnly) problems.push(`redis.conf's dir ${dir} is not a writable claim of ${d.w.name} (nodes.conf and the AOF would not survive the pod)`);
    if (!dataInit || dataInit.name !== dataMain?.name || dataInit.readOnly) problems.push(`the init container does not mount ${dir} writable (it refreshes the peers' addresses in nodes.conf)`);
    const cfile = confGet(d.template, "cluster-config-file") ?? "nodes.conf";
    if (cfile.startsWith("/") && !cfile.startsWith(`${dir}/`)) problems.push(`cluster-config-file ${cfile} is outside dir ${dir} (the claim)`);
    problems.push(...redisConfProblems(d.w.name, d.template ?? "", durability, Number.isInteger(perMaster) ? perMaster : 0));
    const ports = (main?.ports ?? []).map((p) => p.containerPort);
    for (const p of [d.port, d.bus]) if (!ports.includes(p)) problems.push(`no container port ${p}`);
    const pdbs = R.ofKind("PodDisruptionBudget").filter((p) => selects(p.spec?.selector?.matchLabels, d.w.labels));
    if (pdbs.length !== 1 || ![1, "1"].includes(pdbs[0].spec.maxUnavailable)) problems.push("expected one PodDisruptionBudget with maxUnavailable 1");
    R.report("redis cluster nodes", problems, `${d.w.name}: ${n} pods = ${masters} masters x (1 + ${perMaster}), names through headless Service ${d.w.obj.spec.serviceName} (ports ${d.port}, bus ${d.bus}) announced to clients; nodes.conf and AOF (${confGet(d.template, "appendfsync")}) on a claim, noeviction, min-replicas-to-write within the replicas; PDB 1`);
  }

  // 2. the Job that creates the cluster
  {
    const problems = [];
    if (!job) problems.push("no Job with REDIS_NODES creates the cluster");
    else {
      const j = job.w;
      const pods = listIs("the Job's REDIS_NODES", words(job.env.get("REDIS_NODES")), Number(job.env.get("REDIS_PORT") ?? 6379), problems);
      if (pods.size !== n) problems.push(`the Job's REDIS_NODES names ${pods.size} of ${d.w.name}'s ${n} pods`);
      if (Number(job.env.get("REDIS_PORT") ?? 6379) !== d.port) problems.push(`the Job's REDIS_PORT ${job.env.get("REDIS_PORT")} is not the nodes' port ${d.port}`);
      if (!job.text) problems.push(`the Job's script ${job.path} is in no ConfigMap mounted there`);
      if (!["OnFailure", "Never"].includes(j.spec.restartPolicy)) problems.push(`restartPolicy ${j.spec.restartPolicy}`);
      if (!(Number(j.obj.spec.backoffLimit ?? 6) >= 1)) problems.push("backoffLimit below 1: one early failure would end it");
      const nodeImage = (d.w.spec.containers ?? [])[0]?.image;
      if (job.c.image !== nodeImage) problems.push(`image ${job.c.image} is not the nodes' ${nodeImage} (redis-cli --cluster must match the servers)`);
      const theirs = d.script.c && secretFile(R, d.w, d.script.c, `${d.secrets}/redis-password`);
      const mine = secretFile(R, j, job.c, `${job.secrets}/redis-password`);
      if (!theirs || !mine || theirs.name !== mine.name || theirs.key !== mine.key) problems.push(`the Job's redis-password (${mine?.name}/${mine?.key}) is not the nodes' (${theirs?.name}/${theirs?.key})`);
      const ps = j.spec.securityContext ?? {};
      const cs = job.c.securityContext ?? {};
      if (ps.runAsNonRoot !== true || !Number.isInteger(ps.runAsUser) || ps.runAsUser === 0) problems.push("the pod does not run as a non-root uid");
      if (cs.readOnlyRootFilesystem !== true || cs.allowPrivilegeEscalation !== false || !(cs.capabilities?.drop ?? []).includes("ALL"))
        problems.push("the container is not read-only root, no privilege escalation, all capabilities dropped");
      if ((cs.seccompProfile ?? ps.seccompProfile)?.type !== "RuntimeDefault") problems.push("seccompProfile is not RuntimeDefault");
      if (j.spec.automountServiceAccountToken !== false) problems.push("automountServiceAccountToken is not false");
      for (const k of ["requests", "limits"]) for (const r of ["cpu", "memory"]) if (job.c.resources?.[k]?.[r] === undefined) problems.push(`resources.${k}.${r} is not set`);
      if (!/^[^@]*:[^:/]+$|@sha256:/.test(job.c.image ?? "") || /:latest$/.test(job.c.image ?? "")) problems.push(`image ${job.c.image} is not pinned`);
    }
    R.report("redis cluster job", problems, job ? `${job.w.name}: REDIS_NODES names the ${n} pods, ${perMaster} replica(s) per master, the nodes' image and password; non-root, read-only root, no capabilities, retried (backoffLimit ${job.w.obj.spec.backoffLimit})` : "");
  }

  // 3. stockd against the cluster
  {
    const problems = [];
    const urlVar = env.get("STOCKD_REDIS_URL");
    const conn = parseConn(urlVar?.secret ? R.secretValue(urlVar.secret) : urlVar?.value);
    let seeds = 0;
    if (conn?.kind !== "cluster") problems.push("STOCKD_REDIS_URL is not a redis+cluster:// URL, yet the render runs a cluster");
    else {
      seeds = listIs("STOCKD_REDIS_URL", conn.hosts.map((h) => h.host), d.port, problems).size;
      if (conn.hosts.some((h) => h.port !== d.port)) problems.push(`STOCKD_REDIS_URL: a seed not on port ${d.port}`);
      if (seeds < 2) problems.push(`STOCKD_REDIS_URL names ${seeds} seed(s): with that pod away stockd could not start`);
      if (conn.db !== undefined && conn.db !== "0") problems.push(`STOCKD_REDIS_URL's /${conn.db}: Redis Cluster has db 0 only`);
      if (conn.password !== undefined && conn.password !== "") problems.push("STOCKD_REDIS_URL carries a password: give it with STOCKD_REDIS_PASSWORD from a Secret key");
    }
    const ref = env.get("STOCKD_REDIS_PASSWORD")?.secret;
    const theirs = d.script.c && secretFile(R, d.w, d.script.c, `${d.secrets}/redis-password`);
    if (!ref) problems.push("STOCKD_REDIS_PASSWORD is not set from a Secret key (the nodes require a password)");
    else if (!theirs || ref.name !== theirs.name || ref.key !== theirs.key) problems.push(`STOCKD_REDIS_PASSWORD comes from ${ref.name}/${ref.key}, the nodes read theirs from ${theirs?.name}/${theirs?.key}`);
    const dv = env.get("STOCKD_DURABILITY")?.value;
    if (durabilityReplicas(dv) === null) problems.push(`STOCKD_DURABILITY=${dv} is not none, replica or replica:N`);
    else if (durability > perMaster) problems.push(`STOCKD_DURABILITY=${dv} waits for ${durability} replicas, each master has ${perMaster}: every write would answer 2002`);
    const num = (k, dflt) => Number(env.get(k)?.value ?? dflt);
    const wait = num("STOCKD_DURABILITY_TIMEOUT_MS", 1000);
    if (durability && !(wait < num("STOCKD_REQUEST_TIMEOUT_MS", 2000) && wait < num("STOCKD_REDIS_STUCK_MS", 5000)))
      problems.push(`STOCKD_DURABILITY_TIMEOUT_MS ${wait} must be below STOCKD_REQUEST_TIMEOUT_MS and STOCKD_REDIS_STUCK_MS`);
    // Where the tenants land with the slot layout the Job's create makes.
    const tt = tenantsText(R, ctx.dep, ctx.ctr, env);
    let spread = "";
    if (tt !== undefined && Number.isInteger(masters)) {
      const per = Array(masters).fill(0);
      for (const t of parseTenants(tt).tenants) per[createMasterOf(slotOfTag(t), masters)]++;
      spread = `; tenants per master as created: ${per.join("/")}`;
    }
    R.report("stockd and cluster", problems, `the URL names ${seeds} of the ${n} nodes as seeds on ${d.port}, no password in it; STOCKD_REDIS_PASSWORD from the key the nodes read; durability ${dv ?? "none"} with ${perMaster} replica(s) per master${spread}`);
  }
}

// ---- the rehearsal's files -------------------------------------------------
function rehearsalFiles(dir, file) {
  const R = loadRender(file, "rehearsal");
  const set = setUp(R);
  if (!set || set.problem) throw new Error(set?.problem ?? "no cluster in the render");
  if (!set.job?.text || !set.nodes.script.text || !set.nodes.template) throw new Error("no node script, template or Job script in the render");
  const q = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
  const topo = new Set(["POD_NAME", "SELF", "REDIS_NODES", "REDIS_PORT", "TEMPLATE", "CONF", "SECRETS", "DATA"]);
  for (const d of ["redis", "job", "secrets"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "redis", "init.sh"), set.nodes.script.text);
  writeFileSync(join(dir, "redis", "template.conf"), set.nodes.template);
  writeFileSync(join(dir, "redis", "env"), [...set.nodes.env].filter(([k]) => !topo.has(k)).map(([k, v]) => `export ${k}=${q(v)}\n`).join(""));
  writeFileSync(join(dir, "job", "create.sh"), set.job.text);
  writeFileSync(join(dir, "job", "env"), [...set.job.env].filter(([k]) => !topo.has(k)).map(([k, v]) => `export ${k}=${q(v)}\n`).join(""));
  const ref = secretFile(R, set.nodes.w, set.nodes.script.c, `${set.nodes.secrets}/redis-password`);
  const pw = ref && R.secretValue(ref);
  if (pw === undefined) throw new Error("no Secret value for redis-password");
  writeFileSync(join(dir, "secrets", "redis-password"), pw);
  const w = R.workloads.find((x) => (x.spec.containers ?? []).some((c) => c.name === "stockd"));
  const ctr = w?.spec.containers.find((c) => c.name === "stockd");
  const tt = ctr && tenantsText(R, w.obj, ctr, R.envOf(ctr).env);
  writeFileSync(join(dir, "tenants"), tt ?? "");
  writeFileSync(join(dir, "topology"), [
    `NODES=${set.nodes.w.obj.spec.replicas ?? 1}`,
    `REPLICAS_PER_MASTER=${q(set.job.env.get("REPLICAS_PER_MASTER"))}`,
    "",
  ].join("\n"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [flag, dir, file] = process.argv.slice(2);
  if (flag !== "--rehearsal" || !dir || !file) {
    console.error("usage: cluster.mjs --rehearsal DIR RENDERED.yaml");
    process.exit(2);
  }
  try {
    rehearsalFiles(dir, file);
  } catch (e) {
    console.error(`cluster.mjs: ${e.message}`);
    process.exit(1);
  }
}
