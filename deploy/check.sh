#!/usr/bin/env bash
# Checks everything under deploy/ without a cluster or a Docker daemon.
#
#   bash deploy/check.sh BUILD_DIR      (from the repo root; BUILD_DIR holds a built stockd
#                                        and tools/stockd-export/stockd-export)
#
# a. installs what is missing (Debian packages; npm ci in deploy/validate)
# b. renders deploy/k8s/overlays/{dev,prod,dev-sentinel,dev-cluster} with
#    `kubectl kustomize`
# c. validates every rendered object against the Kubernetes schemas
#    (kubernetes-models, plus a strict unknown-field check), and proves the
#    validator rejects a broken object
# d. checks that the manifests fit stockd: probes, ports, Services,
#    NetworkPolicy, PDB, drain arithmetic, security context, environment
#    (every variable is one stockd reads, and stockd accepts the values);
#    the same for stockd-export's Deployment (one replica, Recreate), which
#    also runs with its rendered environment; dev's Redis and PostgreSQL
#    (security, PostgreSQL's credentials against the connection string, and
#    NetworkPolicies that admit exactly the pods that connect to each);
#    dev-sentinel's sentinels and data nodes against each other and against
#    stockd's URL, passwords and durability (proving the checks reject a
#    broken set-up), then a rehearsal of it: its init scripts and templates
#    run real redis-server processes on loopback addresses, stockd with its
#    rendered environment reserves through them, follows a SENTINEL
#    FAILOVER, and replaced pods rejoin; dev-cluster's nodes, cluster-creating
#    Job and tenants file against each other and against stockd's URL,
#    password and durability (proving the checks reject a broken set-up),
#    then a rehearsal of it: its init script and Job script make six real
#    redis-server processes a cluster, stockd with its rendered environment
#    reserves for each tenant on its master, follows a CLUSTER FAILOVER, and
#    a node whose claim was replaced is added back by running the Job again
# e. checks deploy/Dockerfile statically (base images, numeric USER, tini,
#    runtime packages = the Debian packages of `ldd` of stockd, stockctl and
#    stockd-export), that .dockerignore lets every path it COPYs into the
#    build context, and builds the three from exactly those paths
# f. monitoring: the Prometheus rules and their unit tests, the Grafana
#    dashboard, and every metric they name against a running stockd's and
#    stockd-export's /metrics (deploy/validate/monitoring.sh)
#
# One line per check; exits non-zero if any check fails.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bash deploy/check.sh BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "FAIL no directory $1" >&2; exit 1; }
STOCKD="$BUILD_DIR/stockd"
EXPORTER="$BUILD_DIR/tools/stockd-export/stockd-export"
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
DEPLOY="$ROOT/deploy"
VALIDATE="$DEPLOY/validate"
# Packages the runtime stage may install beyond what ldd asks for.
ALLOW="tini,ca-certificates,coreutils"

start=$(date +%s)
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
  local secs=$(($(date +%s) - start))
  if [ "$failed" -eq 0 ]; then
    echo "deploy: $passed checks passed (${secs}s)"
    exit 0
  fi
  echo "deploy: $passed checks passed, $failed failed (${secs}s)"
  exit 1
}
# Runs a checker that prints "ok ..."/"FAIL ..." lines; counts them.
lines() {
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  [ -n "$out" ] && printf '%s\n' "$out"
  passed=$((passed + $(grep -c '^ok ' <<<"$out")))
  failed=$((failed + $(grep -c '^FAIL ' <<<"$out")))
  if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then fail "$* exited $rc"; fi
}

# Sends SIGTERM and waits 10 s at most for the process to exit, then
# SIGKILLs it: a stockd that does not stop fails its check instead of
# hanging this script. Returns the exit status (137 after the SIGKILL).
term_and_wait() {
  local i
  kill -TERM "$1" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
  wait "$1"
}

TMP=$(mktemp -d)
STOCKD_PID=""
EXPORT_PID=""
cleanup() {
  [ -n "$STOCKD_PID" ] && kill "$STOCKD_PID" 2>/dev/null
  [ -n "$EXPORT_PID" ] && kill "$EXPORT_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

if [ ! -x "$STOCKD" ]; then
  fail "no stockd binary in $BUILD_DIR"
  finish
fi
if [ ! -x "$EXPORTER" ]; then
  fail "no stockd-export binary in $BUILD_DIR/tools/stockd-export"
  finish
fi

# ---- a. tools -------------------------------------------------------------------
need=()
command -v kubectl >/dev/null || need+=(kubernetes-client)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v cc >/dev/null || need+=(build-essential)
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v redis-server >/dev/null || need+=(redis-server)
command -v ss >/dev/null || need+=(iproute2)
for p in libuv1-dev libhiredis-dev libcjson-dev libpq-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$TMP/apt.log" 2>&1; then
    fail "apt-get install ${need[*]}: $(tail -1 "$TMP/apt.log")"
    finish
  fi
fi

# kubectl's kustomize: kubectl >= 1.21 embeds kustomize v4+, which reads the
# overlays as written. Debian bookworm's kubernetes-client is kubectl 1.20
# with kustomize v2.0.3, which knows neither directories in `resources:` nor
# `patches:`; with it the overlays are rendered from a copy translated to
# that dialect (`bases:`, `patchesStrategicMerge:`), same content.
mkdir -p "$TMP/probe/base" "$TMP/probe/ov"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n' >"$TMP/probe/base/cm.yaml"
printf 'resources:\n- cm.yaml\n' >"$TMP/probe/base/kustomization.yaml"
printf 'resources:\n- ../base\npatches:\n- path: p.yaml\n' >"$TMP/probe/ov/kustomization.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  a: "1"\n' >"$TMP/probe/ov/p.yaml"
legacy=0
kubectl kustomize "$TMP/probe/ov" >/dev/null 2>&1 || legacy=1
kver=$(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: \(version.Info{.*GitVersion:"\)\{0,1\}\(v[0-9][^" ]*\).*/\2/p' | head -1)
kzver=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p' | head -1)
[ "$legacy" = 1 ] && kzver="v2 (legacy dialect)"
if ! (cd "$VALIDATE" && npm ci --no-audit --no-fund --loglevel=error >"$TMP/npm.log" 2>&1); then
  fail "npm ci in deploy/validate: $(grep -m1 -i err "$TMP/npm.log")"
  finish
fi
ok "tools: kubectl ${kver:-?} (kustomize ${kzver:-?}), node $(node --version), npm ci in deploy/validate"

# ---- b. render ------------------------------------------------------------------
K8S="$DEPLOY/k8s"
if [ "$legacy" = 1 ]; then
  cp -a "$DEPLOY/k8s" "$TMP/k8s-legacy"
  K8S="$TMP/k8s-legacy"
  mapfile -t kfiles < <(find "$K8S" -name kustomization.yaml)
  (cd "$VALIDATE" && node --input-type=module -e '
    import { readFileSync, writeFileSync, statSync } from "node:fs";
    import { dirname, join } from "node:path";
    import { parse, stringify } from "yaml";
    for (const f of process.argv.slice(1)) {
      const k = parse(readFileSync(f, "utf8"));
      const isDir = (p) => { try { return statSync(join(dirname(f), p)).isDirectory(); } catch { return false; } };
      const res = k.resources ?? [];
      const bases = res.filter(isDir);
      if (bases.length) { k.bases = bases; k.resources = res.filter((r) => !isDir(r)); }
      if (k.patches) {
        if (k.patches.some((p) => !p.path || p.target)) throw new Error(f + ": only `patches: - path:` can be translated");
        k.patchesStrategicMerge = k.patches.map((p) => p.path);
        delete k.patches;
      }
      writeFileSync(f, stringify(k));
    }' "${kfiles[@]}") || fail "translate the overlays for kustomize v2"
fi
# Each overlay and what consistency.mjs is told of it: prod's Secrets come
# from the operator; dev-sentinel runs Redis with Sentinel and dev-cluster
# a Redis Cluster with tenants, both without stockd-export (it follows
# neither).
OVERLAYS=(dev prod dev-sentinel dev-cluster)
overlay_flags() {
  case $1 in
    prod) echo "--external-secret" ;;
    dev-sentinel) echo "--no-export --sentinel" ;;
    dev-cluster) echo "--no-export --cluster" ;;
  esac
}
has_export() { [ "$1" != dev-sentinel ] && [ "$1" != dev-cluster ]; }
rendered=()
for overlay in "${OVERLAYS[@]}"; do
  if kubectl kustomize "$K8S/overlays/$overlay" >"$TMP/$overlay.yaml" 2>"$TMP/$overlay.err"; then
    rendered+=("$overlay")
    ok "render $overlay: $(grep -c '^kind: ' "$TMP/$overlay.yaml") objects ($(grep '^kind: ' "$TMP/$overlay.yaml" | sed 's/kind: //' | sort | uniq -c | awk '{printf "%s%s", (NR>1?", ":""), $2 ($1>1?" x"$1:"")}'))"
  else
    # (the checks below skip an overlay that did not render)
    # kubectl's message ends with the cause; keep the end of a long one.
    msg=$(grep -v '^#' "$TMP/$overlay.err" | head -1 | sed 's/^E[0-9]\{4\} [^]]*] "command failed" err=//')
    [ ${#msg} -gt 240 ] && msg="...${msg: -240}"
    fail "render $overlay: $msg"
  fi
done

# ---- c. schemas -----------------------------------------------------------------
for overlay in "${rendered[@]}"; do
  if out=$(node "$VALIDATE/validate.mjs" "$TMP/$overlay.yaml" 2>&1); then
    ok "schema $overlay: ${out#validate: }"
  else
    fail "schema $overlay: $(grep -v '^validate:' <<<"$out" | sed 's/^FAIL //' | head -3 | tr '\n' ' ')"
  fi
done
# The validator must reject a wrong type and a misspelt field.
cat >"$TMP/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: "three"
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      contianers:
        - name: broken
          image: broken
EOF
out=$(node "$VALIDATE/validate.mjs" "$TMP/broken.yaml" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q 'spec/replicas must be integer' <<<"$out" && grep -q 'unknown field(s): spec.template.spec.contianers' <<<"$out"; then
  ok "schema self-test: replicas: \"three\" and 'contianers' are rejected"
else
  fail "schema self-test: the broken object was not rejected as expected (exit $rc): $out"
fi

# ---- d. the manifests fit stockd -------------------------------------------------
"$STOCKD" --help >"$TMP/help.txt" 2>&1
"$EXPORTER" --help >"$TMP/export-help.txt" 2>&1
# The pods must run as the image's USER (when it is numeric; the Dockerfile
# check below fails otherwise).
uid=()
UID_IMAGE=$(node "$VALIDATE/dockerfile.mjs" uid "$DEPLOY/Dockerfile" 2>/dev/null) && uid=(--uid "$UID_IMAGE")
for overlay in "${rendered[@]}"; do
  read -r -a extra <<<"$(overlay_flags "$overlay")"
  has_export "$overlay" && extra+=(--export-help-file "$TMP/export-help.txt")
  lines node "$VALIDATE/consistency.mjs" --overlay "$overlay" --help-file "$TMP/help.txt" \
    "${uid[@]}" "${extra[@]}" "$TMP/$overlay.yaml"
  # stockd itself under the rendered environment (listen/http moved to free
  # loopback ports; no Redis): it must accept every value (a bad one exits 2
  # at once), answer the liveness probe's path 200, the readiness probe's 503
  # (Redis is down), the metrics path 200, and exit 0 on SIGTERM.
  if ! node "$VALIDATE/consistency.mjs" --print-env --overlay "$overlay" "$TMP/$overlay.yaml" >"$TMP/$overlay.env" 2>&1 ||
     ! node "$VALIDATE/consistency.mjs" --print-paths --overlay "$overlay" "$TMP/$overlay.yaml" >"$TMP/$overlay.paths" 2>&1; then
    fail "$overlay: no stockd container in the render"
    continue
  fi
  mapfile -t envs <"$TMP/$overlay.env"
  mapfile -t paths <"$TMP/$overlay.paths"
  # A tenants file (a Secret key mounted as a file): the same content at a
  # path of this machine.
  node "$VALIDATE/consistency.mjs" --print-tenants --overlay "$overlay" "$TMP/$overlay.yaml" >"$TMP/$overlay.tenants" 2>/dev/null
  tenants_env=()
  [ -s "$TMP/$overlay.tenants" ] && tenants_env=(STOCKD_TENANTS_FILE="$TMP/$overlay.tenants")

  # A Sentinel overlay: the checks must reject a broken set-up (a quorum one
  # lost sentinel could not reach, a sentinel missing from the lists, a
  # durability the replicas cannot meet); then the rehearsal.
  if [[ " ${extra[*]} " == *" --sentinel "* ]]; then
    (cd "$VALIDATE" && node --input-type=module -e '
      import { readFileSync, writeFileSync } from "node:fs";
      import { parseAllDocuments, stringify } from "yaml";
      const objs = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
      const sts = objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === "sentinel");
      const env = (k) => sts.spec.template.spec.initContainers[0].env.find((e) => e.name === k);
      env("QUORUM").value = "3";
      env("SENTINELS").value = env("SENTINELS").value.split(" ").slice(1).join(" ");
      objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "stockd-config").data.STOCKD_DURABILITY = "replica:2";
      writeFileSync(process.argv[2], objs.map((o) => stringify(o)).join("---\n"));' "$TMP/$overlay.yaml" "$TMP/broken-sentinel.yaml") 2>"$TMP/broken-sentinel.err"
    out=$(node "$VALIDATE/consistency.mjs" --overlay broken --help-file "$TMP/help.txt" "${uid[@]}" "${extra[@]}" "$TMP/broken-sentinel.yaml" 2>&1)
    if grep -q 'QUORUM 3 of 3' <<<"$out" && grep -q "SENTINELS names 2 of sentinel's 3 pods" <<<"$out" &&
       grep -q 'waits for 2 replicas, the render has 1' <<<"$out"; then
      ok "$overlay: sentinel self-test: quorum 3 of 3, a sentinel missing from SENTINELS and replica:2 with one replica are rejected"
    else
      fail "$overlay: sentinel self-test: the broken set-up was not rejected as expected: $(grep '^FAIL' <<<"$out" | head -3 | tr '\n' ' ') $(head -2 "$TMP/broken-sentinel.err")"
    fi
    if node "$VALIDATE/sentinel.mjs" --rehearsal "$TMP/rehearsal-$overlay" "$TMP/$overlay.yaml" 2>"$TMP/rehearsal.err"; then
      lines bash "$VALIDATE/rehearse-sentinel.sh" "$overlay" "$TMP/rehearsal-$overlay" "$STOCKD" "$TMP/$overlay.env"
    else
      fail "$overlay: rehearsal: $(head -1 "$TMP/rehearsal.err")"
    fi
  fi

  # A Cluster overlay: the same, with a broken set-up (a node missing from
  # the Job's list, shards of 1 + 2 that make 2 masters, replica:3, a token
  # given twice, the single token beside the tenants file); then the
  # rehearsal.
  if [[ " ${extra[*]} " == *" --cluster "* ]]; then
    (cd "$VALIDATE" && node --input-type=module -e '
      import { readFileSync, writeFileSync } from "node:fs";
      import { parseAllDocuments, stringify } from "yaml";
      const objs = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
      const job = objs.find((o) => o.kind === "Job");
      const env = (k) => job.spec.template.spec.containers[0].env.find((e) => e.name === k);
      env("REDIS_NODES").value = env("REDIS_NODES").value.split(/\s+/).slice(1).join(" ");
      env("REPLICAS_PER_MASTER").value = "2";
      objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "stockd-config").data.STOCKD_DURABILITY = "replica:3";
      const sec = objs.find((o) => o.kind === "Secret");
      sec.data.tenants = Buffer.from(Buffer.from(sec.data.tenants, "base64").toString() + "twin dev-only-token-acme\n").toString("base64");
      const dep = objs.find((o) => o.kind === "Deployment");
      dep.spec.template.spec.containers[0].env.push({ name: "STOCKD_AUTH_TOKEN", valueFrom: { secretKeyRef: { name: sec.metadata.name, key: "redis-password" } } });
      writeFileSync(process.argv[2], objs.map((o) => stringify(o)).join("---\n"));' "$TMP/$overlay.yaml" "$TMP/broken-cluster.yaml") 2>"$TMP/broken-cluster.err"
    out=$(node "$VALIDATE/consistency.mjs" --overlay broken --help-file "$TMP/help.txt" "${uid[@]}" "${extra[@]}" "$TMP/broken-cluster.yaml" 2>&1)
    if grep -q "REDIS_NODES names 5 of redis's 6 pods" <<<"$out" && grep -q '2 master(s): a failover needs a majority' <<<"$out" &&
       grep -q "waits for 3 replicas, each master has 2" <<<"$out" && grep -q 'a token given twice' <<<"$out" &&
       grep -q 'STOCKD_AUTH_TOKEN(_FILE) is set beside STOCKD_TENANTS_FILE' <<<"$out"; then
      ok "$overlay: cluster self-test: a node missing from the Job's list, 2 masters, replica:3 with 2 replicas per master, a token twice and the token beside the tenants file are rejected"
    else
      fail "$overlay: cluster self-test: the broken set-up was not rejected as expected: $(grep '^FAIL' <<<"$out" | head -3 | tr '\n' ' ') $(head -2 "$TMP/broken-cluster.err")"
    fi
    if node "$VALIDATE/cluster.mjs" --rehearsal "$TMP/rehearsal-$overlay" "$TMP/$overlay.yaml" 2>"$TMP/rehearsal.err"; then
      lines bash "$VALIDATE/rehearse-cluster.sh" "$overlay" "$TMP/rehearsal-$overlay" "$STOCKD" "$TMP/$overlay.env"
    else
      fail "$overlay: rehearsal: $(head -1 "$TMP/rehearsal.err")"
    fi
  fi

  log="$TMP/stockd-$overlay.log"
  env -i "${envs[@]}" "${tenants_env[@]}" STOCKD_LISTEN=127.0.0.1:0 STOCKD_HTTP=127.0.0.1:0 "$STOCKD" >"$log" 2>&1 &
  STOCKD_PID=$!
  port=""
  for _ in $(seq 50); do
    port=$(sed -n 's#.*health and metrics on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$STOCKD_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    kill "$STOCKD_PID" 2>/dev/null
    wait "$STOCKD_PID"
    rc=$?
    STOCKD_PID=""
    fail "$overlay: stockd (exit $rc) did not start with the rendered environment: $(tail -1 "$log")"
    continue
  fi
  status() { # PATH -> the HTTP status code
    local code
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET %s HTTP/1.0\r\n\r\n' "$1" >&3
    code=$(head -1 <&3 | awk '{print $2}')
    exec 3<&-
    echo "$code"
  }
  live=$(status "${paths[0]}")
  ready=$(status "${paths[1]}")
  metrics=$(status "${paths[2]}")
  term_and_wait "$STOCKD_PID"
  rc=$?
  STOCKD_PID=""
  if [ "$live" = 200 ] && [ "$ready" = 503 ] && [ "$metrics" = 200 ] && [ "$rc" = 0 ]; then
    ok "$overlay: stockd runs with the rendered environment: ${paths[0]} $live, ${paths[1]} $ready without Redis, ${paths[2]} $metrics, SIGTERM exit $rc"
  else
    fail "$overlay: stockd with the rendered environment: ${paths[0]} ${live:-none} (want 200), ${paths[1]} ${ready:-none} (want 503 without Redis), ${paths[2]} ${metrics:-none} (want 200), SIGTERM exit $rc (want 0; 137: still running 10 s after SIGTERM)"
  fi

  # stockd-export likewise (no Redis, no PostgreSQL: it waits for them):
  # the liveness path 200, the readiness path 503, metrics 200, SIGTERM 0.
  has_export "$overlay" || continue
  if ! node "$VALIDATE/consistency.mjs" --export --print-env --overlay "$overlay" "$TMP/$overlay.yaml" >"$TMP/$overlay.export.env" 2>&1 ||
     ! node "$VALIDATE/consistency.mjs" --export --print-paths --overlay "$overlay" "$TMP/$overlay.yaml" >"$TMP/$overlay.export.paths" 2>&1; then
    fail "$overlay: no stockd-export container in the render"
    continue
  fi
  mapfile -t envs <"$TMP/$overlay.export.env"
  mapfile -t paths <"$TMP/$overlay.export.paths"
  log="$TMP/export-$overlay.log"
  env -i "${envs[@]}" STOCKD_EXPORT_HTTP=127.0.0.1:0 "$EXPORTER" >"$log" 2>&1 &
  EXPORT_PID=$!
  port=""
  for _ in $(seq 50); do
    port=$(sed -n 's#.*health and metrics on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$EXPORT_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    kill "$EXPORT_PID" 2>/dev/null
    wait "$EXPORT_PID"
    rc=$?
    EXPORT_PID=""
    fail "$overlay: stockd-export (exit $rc) did not start with the rendered environment: $(tail -1 "$log")"
    continue
  fi
  live=$(status "${paths[0]}")
  ready=$(status "${paths[1]}")
  metrics=$(status "${paths[2]}")
  term_and_wait "$EXPORT_PID"
  rc=$?
  EXPORT_PID=""
  if [ "$live" = 200 ] && [ "$ready" = 503 ] && [ "$metrics" = 200 ] && [ "$rc" = 0 ]; then
    ok "$overlay: stockd-export runs with the rendered environment: ${paths[0]} $live, ${paths[1]} $ready without Redis and PostgreSQL, ${paths[2]} $metrics, SIGTERM exit $rc"
  else
    fail "$overlay: stockd-export with the rendered environment: ${paths[0]} ${live:-none} (want 200), ${paths[1]} ${ready:-none} (want 503 without Redis and PostgreSQL), ${paths[2]} ${metrics:-none} (want 200), SIGTERM exit $rc (want 0)"
  fi
done

# ---- e. Dockerfile --------------------------------------------------------------
# The Debian packages of the binaries' shared libraries (stockd, stockd-export,
# and stockctl when BUILD_DIR has it: the image ships all three). libc, libm,
# the loader and the vDSO are in every image.
required=()
bins=("$STOCKD" "$EXPORTER")
[ -x "$BUILD_DIR/stockctl" ] && bins+=("$BUILD_DIR/stockctl")
while read -r lib path; do
  case "$lib" in linux-vdso* | libc.so* | libm.so* | ld-linux* | */ld-linux*) continue ;; esac
  pkg=$( { dpkg -S "$path" || dpkg -S "$(readlink -f "$path")" || dpkg -S "/usr$path"; } 2>/dev/null | head -1 | cut -d: -f1)
  if [ -z "$pkg" ]; then
    fail "dockerfile: no Debian package owns $path ($lib)"
  else
    required+=("$pkg")
  fi
done < <(for b in "${bins[@]}"; do ldd "$b"; done 2>&1 | awk '/=>/ { print $1, $3 }' | sort -u)
mapfile -t required < <(printf '%s\n' "${required[@]}" | sort -u)
. /etc/os-release 2>/dev/null
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  fail "dockerfile: this machine is ${VERSION_CODENAME:-unknown}, not bookworm: ldd's packages say nothing about the image"
fi
lines node "$VALIDATE/dockerfile.mjs" check "$DEPLOY/Dockerfile" \
  --require "$(IFS=,; echo "${required[*]}")" --allow "$ALLOW"
# docker build sends only what .dockerignore lets through, and the replay
# below copies from the repo: a COPY path that .dockerignore excludes fails
# only here.
lines node "$VALIDATE/dockerfile.mjs" context "$DEPLOY/Dockerfile" "$ROOT"

# The build stage, replayed outside Docker: only the paths it COPYs, the
# same cmake commands. A source or directory missing from the COPY lines
# fails here.
ctx="$TMP/image-src"
mkdir -p "$ctx"
copy_ok=1
while read -r src dest; do
  dest="${dest#/src/}"
  [ "$dest" = "./" ] || [ "$dest" = "." ] && dest=""
  if [ ! -e "$ROOT/$src" ]; then
    fail "dockerfile: COPY $src: no such path in the repo"
    copy_ok=0
    continue
  fi
  if [ -d "$ROOT/$src" ]; then
    mkdir -p "$ctx/$dest" && cp -a "$ROOT/$src/." "$ctx/$dest"
  elif [ -z "$dest" ] || [ "${dest%/}" != "$dest" ]; then
    mkdir -p "$ctx/$dest" && cp -a "$ROOT/$src" "$ctx/$dest"
  else
    mkdir -p "$(dirname "$ctx/$dest")" && cp -a "$ROOT/$src" "$ctx/$dest"
  fi
done < <(node "$VALIDATE/dockerfile.mjs" copy-sources "$DEPLOY/Dockerfile")
if [ "$copy_ok" = 1 ]; then
  if { cmake -S "$ctx" -B "$ctx/build" -DCMAKE_BUILD_TYPE=Release -DSTOCKD_TESTS=OFF &&
       cmake --build "$ctx/build" -j"$(nproc)" --target stockd stockctl stockd-export &&
       "$ctx/build/tools/stockd-export/stockd-export" --version &&
       "$ctx/build/stockd" --version; } >"$TMP/image-build.log" 2>&1; then
    ok "dockerfile: build stage builds stockd, stockctl and stockd-export from its COPY paths alone ($(tail -1 "$TMP/image-build.log"))"
  else
    fail "dockerfile: build stage does not build from its COPY paths: $(grep -m1 -iE 'error|not find|does not exist' "$TMP/image-build.log")"
  fi
fi

# ---- f. monitoring --------------------------------------------------------------
lines bash "$VALIDATE/monitoring.sh" "$BUILD_DIR"

finish
