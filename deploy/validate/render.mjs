// A rendered overlay as the checks see it (consistency.mjs, stores.mjs,
// sentinel.mjs): its objects, the environment a container gets, the values
// of the Secrets in the render, the connection strings in that environment,
// and where a host:port leads (a Service, or a StatefulSet pod's own name
// through its headless Service) in the render.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export function loadRender(file, overlay) {
  const objs = parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((o) => o && typeof o === "object");
  const m = { overlay, objs, failures: 0 };
  m.ofKind = (k) => objs.filter((o) => o.kind === k);
  m.byName = (k, n) => objs.find((o) => o.kind === k && o.metadata?.name === n);

  // One line per check: "ok   OVERLAY: NAME: TEXT" or "FAIL OVERLAY: NAME: PROBLEMS".
  m.report = (name, problems, okText) => {
    if (problems.length) {
      m.failures++;
      console.log(`FAIL ${overlay}: ${name}: ${[...new Set(problems)].join("; ")}`);
    } else {
      console.log(`ok   ${overlay}: ${name}: ${okText}`);
    }
  };

  // The environment as the kubelet builds it: envFrom first, env wins.
  // name -> { value, from } | { secret: {name, key} } | { other }
  m.envOf = (ctr) => {
    const env = new Map();
    const envProblems = [];
    for (const src of ctr.envFrom ?? []) {
      if (src.configMapRef) {
        const cm = m.byName("ConfigMap", src.configMapRef.name);
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
        const v = m.byName("ConfigMap", r.name)?.data?.[r.key];
        if (v === undefined) envProblems.push(`${e.name}: ConfigMap ${r.name} key ${r.key} is not in the render`);
        env.set(e.name, { value: v === undefined ? "" : String(v), from: r.name });
      } else env.set(e.name, { other: true });
    }
    return { env, envProblems };
  };

  m.secretsInRender = m.ofKind("Secret");
  m.secretValue = (ref) => {
    const s = m.secretsInRender.find((x) => x.metadata?.name === ref?.name);
    if (!s) return undefined;
    if (s.stringData?.[ref.key] !== undefined) return String(s.stringData[ref.key]);
    if (s.data?.[ref.key] !== undefined) return Buffer.from(String(s.data[ref.key]), "base64").toString("utf8");
    return undefined;
  };
  // Every value of every Secret in the render.
  m.allSecretValues = () =>
    m.secretsInRender.flatMap((s) => [
      ...Object.values(s.stringData ?? {}).map(String),
      ...Object.values(s.data ?? {}).map((v) => Buffer.from(String(v), "base64").toString("utf8")),
    ]);

  // Pod-owning objects: name, kind, pod labels, pod spec.
  // Jobs too (dev-cluster's cluster-create): their pods connect to stores.
  m.workloads = [...m.ofKind("Deployment"), ...m.ofKind("StatefulSet"), ...m.ofKind("Job")].map((o) => ({
    obj: o, name: o.metadata?.name, kind: o.kind, labels: o.spec?.template?.metadata?.labels ?? {}, spec: o.spec?.template?.spec ?? {},
  }));
  m.namedPort = (w, p) => (typeof p === "number" ? p : (w.spec.containers ?? []).flatMap((c) => c.ports ?? []).find((x) => x.name === p)?.containerPort);

  // host:port -> { svc, target: the workload behind it, port: its container
  // port, pod: the pod's name when the host names one } | { problem }.
  // Host forms: SERVICE[.NAMESPACE[.svc[...]]], and POD.SERVICE[...] for a
  // StatefulSet pod through its headless governing Service.
  m.reach = (host, port) => {
    const parts = String(host ?? "").split(".");
    const svcNamed = (name) => m.ofKind("Service").find((x) => x.metadata?.name === name);
    let svc = svcNamed(parts[0]);
    let pod = null;
    let target;
    if (svc && !(parts.length > 1 && svcNamed(parts[1]) && /-\d+$/.test(parts[0]))) {
      const ns = parts[1];
      if (ns && ns !== "svc" && (svc.metadata.namespace ?? ns) !== ns) return { problem: `${host}: Service ${svc.metadata.name} is not in namespace ${ns}` };
      target = m.workloads.find((w) => selects(svc.spec?.selector, w.labels));
    } else {
      svc = parts.length > 1 ? svcNamed(parts[1]) : undefined;
      if (!svc) return { problem: `${host} is no Service in the render, nor a pod of one` };
      if (svc.spec?.clusterIP !== "None") return { problem: `${host}: Service ${svc.metadata.name} is not headless, so its pods have no names of their own` };
      const sts = m.workloads.find((w) => w.kind === "StatefulSet" && w.obj.spec?.serviceName === svc.metadata.name && parts[0].startsWith(`${w.name}-`));
      const ordinal = sts ? Number(parts[0].slice(sts.name.length + 1)) : NaN;
      if (!sts || !Number.isInteger(ordinal) || String(ordinal) !== parts[0].slice(sts.name.length + 1))
        return { problem: `${host}: no StatefulSet governed by Service ${svc.metadata.name} has a pod ${parts[0]}` };
      if (ordinal >= (sts.obj.spec.replicas ?? 1)) return { problem: `${host}: StatefulSet ${sts.name} has ${sts.obj.spec.replicas ?? 1} pods, not ${ordinal + 1}` };
      if (!selects(svc.spec?.selector, sts.labels)) return { problem: `${host}: Service ${svc.metadata.name} does not select StatefulSet ${sts.name}'s pods` };
      target = sts;
      pod = parts[0];
    }
    const sp = (svc.spec?.ports ?? []).find((x) => x.port === port);
    if (!sp) return { problem: `Service ${svc.metadata.name} has no port ${port}` };
    if (!target) return { problem: `Service ${svc.metadata.name} selects no pods in the render` };
    const cport = m.namedPort(target, sp.targetPort ?? sp.port);
    if (cport === undefined) return { problem: `Service ${svc.metadata.name} targetPort ${sp.targetPort} is not a port of ${target.name}` };
    return { svc, target, port: cport, pod };
  };

  // Every connection string a workload's containers (init containers too)
  // are given through their environment (values from the render's
  // ConfigMaps and Secrets).
  m.connectionsOf = (w) => {
    const out = [];
    for (const c of [...(w.spec.initContainers ?? []), ...(w.spec.containers ?? [])]) {
      for (const [k, v] of m.envOf(c).env) {
        const value = v.secret ? m.secretValue(v.secret) : v.value;
        const conn = parseConn(value);
        if (conn) out.push({ env: k, value, conn, ref: v.secret, container: c.name });
      }
    }
    return out;
  };
  return m;
}

export const selects = (selector, labels) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

export const portOf = (hostport) => {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(hostport ?? "");
  return m ? { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) } : null;
};

// A Redis URL (redis://[user[:password]@]host[:port][/db]), a Sentinel URL
// (redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/master[/db],
// kind "sentinel" with hosts: [{host, port}]), a Cluster URL
// (redis+cluster://[user[:password]@]host[:port][,host[:port]...][/db], kind
// "cluster" with hosts, port 6379 by default), or a libpq URI
// (postgres[ql]://...) or key=value connection string; null for anything else.
export function parseConn(v) {
  if (typeof v !== "string") return null;
  const dec = (x) => (x === undefined ? undefined : decodeURIComponent(x));
  const c = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]*)(?:\/([^/?]*))?$/.exec(v);
  if (c) {
    const hosts = c[3].split(",").map((h) => {
      const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(h);
      return hp ? { host: hp[1].replace(/^\[|\]$/g, ""), port: hp[2] ? Number(hp[2]) : 6379 } : { host: h, port: NaN };
    });
    return { kind: "cluster", user: dec(c[1]) || undefined, password: dec(c[2]), hosts, db: dec(c[4]) || undefined };
  }
  const s = /^redis\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]*)(?:\/([^/]*))?(?:\/([^/?]*))?$/.exec(v);
  if (s) {
    const hosts = s[3].split(",").map((h) => {
      const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(h);
      return hp ? { host: hp[1].replace(/^\[|\]$/g, ""), port: hp[2] ? Number(hp[2]) : 26379 } : { host: h, port: NaN };
    });
    return { kind: "sentinel", user: dec(s[1]) || undefined, password: dec(s[2]), hosts, master: dec(s[4]) || undefined, db: dec(s[5]) || undefined };
  }
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

export const maskConn = (v) => String(v).replace(/(:\/\/[^:@/]*:)[^@/]*@/, "$1***@").replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/, "$1***");

// --durability's value -> the number of replicas a write waits for (0:
// none), or null when it is not a value stockd accepts.
export function durabilityReplicas(v) {
  if (v === undefined || v === "none") return 0;
  if (v === "replica") return 1;
  const m = /^replica:(\d+)$/.exec(v);
  return m && Number(m[1]) >= 1 && Number(m[1]) <= 16 ? Number(m[1]) : null;
}

// What stockd needs of a Redis data node's configuration (redis.conf text):
// AOF on; fsync on every write, or once a second when every write also
// waits for a replica (durability > 0); no eviction; and no more
// min-replicas-to-write than there are replicas, or no write succeeds.
export function redisConfProblems(name, conf, durability, replicas) {
  const problems = [];
  const get = (k) => [...conf.matchAll(new RegExp(`^\\s*${k}\\s+(\\S+)\\s*$`, "gm"))].map((x) => x[1].replace(/^"|"$/g, "")).pop();
  if (get("appendonly") !== "yes") problems.push(`${name}: redis.conf lacks appendonly yes`);
  const fsync = get("appendfsync");
  if (durability > 0) {
    if (!["always", "everysec"].includes(fsync)) problems.push(`${name}: appendfsync ${fsync ?? "(default everysec)"}: set always or everysec`);
  } else if (fsync !== "always") {
    problems.push(`${name}: redis.conf lacks appendfsync always (with no replica confirming writes, a crash loses up to a second of acknowledged holds otherwise)`);
  }
  if (get("maxmemory-policy") !== "noeviction") problems.push(`${name}: redis.conf lacks maxmemory-policy noeviction`);
  const minReplicas = Number(get("min-replicas-to-write") ?? 0);
  if (minReplicas > replicas) problems.push(`${name}: min-replicas-to-write ${minReplicas} with ${replicas} replica(s): the master would refuse every write`);
  return problems;
}
