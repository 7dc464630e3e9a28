// The stores in a rendered overlay (its StatefulSets: dev's Redis and
// PostgreSQL, the Sentinel overlay's data nodes and sentinels), checked for
// deploy/check.sh through consistency.mjs: a Redis that stockd reaches
// directly is durable and non-evicting; every store runs as strictly as
// stockd; PostgreSQL is reached with the user, password and database it is
// initialised with; and each store's NetworkPolicies admit exactly the pods
// that connect to it, while every pod may go out exactly where it connects.
import { selects, parseConn, durabilityReplicas, redisConfProblems } from "./render.mjs";
import { isSentinel, isRedis, topologyEdges, sentinelUrlEdges } from "./sentinel.mjs";
import { clusterEdges, clusterUrlEdges } from "./cluster.mjs";

export function storeChecks(ctx) {
  const { R, env } = ctx;
  const { ofKind, byName, report, envOf, secretValue, workloads } = R;
  const stockdConn = parseConn(secretValue(env.get("STOCKD_REDIS_URL")?.secret ?? {}) ?? env.get("STOCKD_REDIS_URL")?.value);
  const durability = durabilityReplicas(env.get("STOCKD_DURABILITY")?.value) ?? 0;
  const stores = workloads.filter((w) => w.kind === "StatefulSet");
  const dataSets = stores.filter((w) => isRedis(w) && !isSentinel(w));

  // 11. Redis in the render (dev): durable and non-evicting, reachable by the URL
  {
    const redisSets = dataSets.map((w) => w.obj);
    if (redisSets.length && !["sentinel", "cluster"].includes(stockdConn?.kind)) {
      const problems = [];
      for (const s of redisSets) {
        const conf = (s.spec.template.spec.volumes ?? [])
          .map((v) => v.configMap && byName("ConfigMap", v.configMap.name))
          .filter(Boolean)
          .flatMap((cm) => Object.values(cm.data ?? {}))
          .join("\n");
        problems.push(...redisConfProblems(s.metadata.name, conf, durability, 0));
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
      report("redis", problems, `${redisSets.map((s) => s.metadata.name).join(",")}: AOF appendfsync ${durability ? "always or everysec (STOCKD_DURABILITY waits for replicas)" : "always"}, noeviction, PVC; the URL reaches it`);
    }
  }


  // ---- who connects where, per the render -------------------------------
  // Connection strings in the environment (redis://, postgresql://, and
  // redis+sentinel://: the sentinels, then the master they name), and the
  // host lists the Sentinel set-up's init containers are given.
  // users: store name -> [{ client, env, conn, port }] (connection strings
  // only); edges: every (client, store, port), deduplicated.
  const users = new Map(stores.map((st) => [st.name, []]));
  const edges = [];
  const addEdge = (client, target, port, via) => {
    if (!edges.some((e) => e.client === client && e.target === target && e.port === port)) edges.push({ client, target, port, via });
  };
  for (const w of workloads) {
    for (const c of R.connectionsOf(w)) {
      if (c.conn.kind === "sentinel" || c.conn.kind === "cluster") {
        for (const e of (c.conn.kind === "sentinel" ? sentinelUrlEdges : clusterUrlEdges)(R, w, c)) addEdge(w, e.target, e.port, c.env);
        continue;
      }
      const r = R.reach(c.conn.host, c.conn.port);
      if (!r.problem && users.has(r.target.name)) {
        users.get(r.target.name).push({ client: w, ...c, port: r.port });
        addEdge(w, r.target, r.port, c.env);
      }
    }
  }
  for (const e of [...topologyEdges(R), ...clusterEdges(R)]) addEdge(e.client, e.target, e.port, e.via);

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
      const inits = new Set((st.spec.initContainers ?? []).map((c) => c.name));
      for (const c of [...(st.spec.initContainers ?? []), ...(st.spec.containers ?? [])]) {
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
        if (!inits.has(c.name) && (!c.readinessProbe || !c.livenessProbe)) problems.push(`${cn}: no readiness and liveness probes`);
      }
      if (!(st.obj.spec.volumeClaimTemplates ?? []).length && !(st.spec.volumes ?? []).some((v) => v.emptyDir))
        problems.push(`${n}: neither a PVC nor an emptyDir for its data`);
    }
    report("stores", problems, `${stores.map((st) => `${st.name} (${(st.spec.containers ?? []).map((c) => c.image).join(",")}, uid ${st.spec.securityContext?.runAsUser})`).join(", ")}: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, requests and limits, probes, pinned image (init containers too, probes aside)`);
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
  // that connect to it, on its ports only; it goes out only to the stores it
  // connects to (and DNS, then), or nowhere; and every client's own
  // policies let it out to each store it connects to
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
      const out = edges.filter((e) => e.client === st);
      const allowedOut = []; // [{ target, port }]
      for (const n of nps) {
        const nn = `NetworkPolicy ${n.metadata.name}`;
        const types = n.spec.policyTypes ?? [];
        if (!types.includes("Ingress") || !types.includes("Egress")) problems.push(`${nn}: policyTypes must be Ingress and Egress`);
        for (const rule of n.spec.ingress ?? []) {
          if (!rule.from?.length) { problems.push(`${nn}: an ingress rule from anywhere`); continue; }
          if (!rule.ports?.length) problems.push(`${nn}: an ingress rule without ports (all of ${st.name}'s ports)`);
          for (const p of rule.ports ?? []) {
            const r = R.namedPort(st, p.port);
            if (r === undefined || !ports.has(r)) problems.push(`${nn}: ingress port ${p.port} is not a port of ${st.name}`);
          }
          for (const peer of rule.from) {
            if (!peerOk(nn, peer)) continue;
            const hit = workloads.filter((w) => selects(peer.podSelector.matchLabels, w.labels));
            if (!hit.length) problems.push(`${nn}: peer ${JSON.stringify(peer.podSelector.matchLabels)} selects no pods in the render`);
            for (const w of hit) admitted.add(w.name);
          }
        }
        for (const rule of n.spec.egress ?? []) {
          if (!out.length) { problems.push(`${nn}: egress rules (${st.name} opens no connections)`); break; }
          if (!rule.ports?.length) { problems.push(`${nn}: an egress rule without ports`); continue; }
          if ((rule.ports ?? []).every((p) => p.port === 53)) continue; // DNS: the names it connects to
          if (!rule.to?.length) { problems.push(`${nn}: an egress rule to anywhere on ${rule.ports.map((p) => p.port).join(",")}`); continue; }
          for (const peer of rule.to) {
            if (!peerOk(nn, peer)) continue;
            for (const w of workloads.filter((x) => selects(peer.podSelector.matchLabels, x.labels)))
              for (const p of rule.ports) {
                const port = R.namedPort(w, p.port);
                if ((p.protocol ?? "TCP") !== "TCP" || port === undefined) { problems.push(`${nn}: egress port ${p.port}/${p.protocol ?? "TCP"} is not a TCP port of ${w.name}`); continue; }
                allowedOut.push({ target: w, port });
                if (!out.some((e) => e.target === w && e.port === port)) problems.push(`${nn}: lets ${st.name} out to ${w.name}:${port}, which it does not connect to`);
              }
          }
        }
      }
      const need = new Set(edges.filter((e) => e.target === st).map((e) => e.client.name));
      for (const a of admitted) if (!need.has(a)) problems.push(`${st.name}: admits ${a}, which does not connect to it`);
      if (nps.length) for (const u of need) if (!admitted.has(u)) problems.push(`${st.name}: ${u} connects to it but is not admitted`);
      if (nps.length)
        for (const e of out)
          if (!allowedOut.some((a) => a.target === e.target && a.port === e.port)) problems.push(`${st.name}: connects to ${e.target.name}:${e.port} (${e.via}) but its NetworkPolicies do not let it out there`);
      texts.push(`${st.name} <- ${[...admitted].sort().join(", ") || "nobody"} on ${[...ports].join(",")}${out.length ? `, -> ${[...new Set(out.map((e) => `${e.target.name}:${e.port}`))].join(", ")}` : ""}`);
    }
    // the clients' side (Deployments; the stores' own egress is above): their
    // own policies must let them out to each store's port
    for (const e of edges.filter((x) => x.client.kind !== "StatefulSet")) {
      const own = ofKind("NetworkPolicy").filter((x) => selects(x.spec?.podSelector?.matchLabels, e.client.labels) && (x.spec.policyTypes ?? []).includes("Egress"));
      const lets = (r) => (!r.ports?.length || r.ports.some((p) => p.port === e.port && (p.protocol ?? "TCP") === "TCP")) &&
        (!r.to?.length || r.to.some((t) => t.ipBlock || (t.namespaceSelector && !t.podSelector) || (t.podSelector && selects(t.podSelector.matchLabels, e.target.labels))));
      if (own.length && !own.some((x) => (x.spec.egress ?? []).some(lets)))
        problems.push(`${e.client.name}: its NetworkPolicies (${own.map((x) => x.metadata.name).join(",")}) allow no egress to ${e.target.name}'s port ${e.port}`);
    }
    report("store access", problems, `${texts.join("; ")}: exactly the pods that connect to each, which may go out to it; each store goes out only where it connects`);
  }
}
