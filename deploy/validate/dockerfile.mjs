#!/usr/bin/env node
// Static checks of deploy/Dockerfile (see deploy/check.sh):
//
//   node dockerfile.mjs check DOCKERFILE --require PKG,PKG --allow PKG,PKG
//       --require: the Debian packages the binary's shared libraries come from
//       (ldd + dpkg -S); the runtime stage must install exactly these, plus
//       any of --allow.
//   node dockerfile.mjs uid DOCKERFILE           the final numeric USER's uid
//   node dockerfile.mjs copy-sources DOCKERFILE  the build stage's COPY sources
//                                                ("SRC DEST" lines)
//   node dockerfile.mjs context DOCKERFILE ROOT  every file the build stage
//       COPYs from ROOT survives the .dockerignore that docker build applies
//       (DOCKERFILE.dockerignore if there is one, else ROOT/.dockerignore)
//
// Prints "ok   dockerfile: ..." or "FAIL dockerfile: ..." per check; exits 1
// on a FAIL.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, posix, relative, resolve } from "node:path";

const [cmd, file, ...rest] = process.argv.slice(2);
if (!cmd || !file) {
  console.error("usage: dockerfile.mjs check|uid|copy-sources|context DOCKERFILE [ROOT] [--require a,b] [--allow c,d]");
  process.exit(2);
}
const opts = {};
for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, "")] = (rest[i + 1] ?? "").split(",").filter(Boolean);

// Instructions: comments dropped, continuation lines joined.
const instructions = [];
{
  let cur = "";
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    if (/^\s*#/.test(raw) && cur === "") continue;
    if (/^\s*#/.test(raw)) continue; // a comment inside a continuation
    const line = raw.replace(/\s+$/, "");
    if (line.endsWith("\\")) {
      cur += line.slice(0, -1) + " ";
      continue;
    }
    cur += line;
    if (cur.trim()) {
      const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(cur.trim());
      if (m) instructions.push({ op: m[1].toUpperCase(), arg: m[2].trim() });
    }
    cur = "";
  }
}
const stages = [];
for (const ins of instructions) {
  if (ins.op === "FROM") {
    const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.arg);
    stages.push({ image: m?.[1] ?? ins.arg, name: m?.[2] ?? null, ins: [] });
  } else if (stages.length) stages[stages.length - 1].ins.push(ins);
}
const final = stages[stages.length - 1];
const build = stages.find((s) => s !== final);
const lastOf = (stage, op) => [...(stage?.ins ?? [])].reverse().find((i) => i.op === op);

let failures = 0;
function report(name, problems, okText) {
  if (problems.length) {
    failures++;
    console.log(`FAIL dockerfile: ${name}: ${problems.join("; ")}`);
  } else console.log(`ok   dockerfile: ${name}: ${okText}`);
}

function finalUser() {
  const u = lastOf(final, "USER")?.arg;
  const m = /^(\d+)(?::(\d+))?$/.exec(u ?? "");
  return { raw: u, uid: m ? Number(m[1]) : null, gid: m?.[2] !== undefined ? Number(m[2]) : null };
}

if (cmd === "uid") {
  const { uid } = finalUser();
  if (uid === null) process.exit(1);
  console.log(uid);
  process.exit(0);
}
function copySources() {
  const out = [];
  for (const i of build?.ins ?? []) {
    if (i.op !== "COPY" || /--from=/.test(i.arg)) continue;
    const words = i.arg.split(/\s+/).filter((w) => !w.startsWith("--"));
    const dest = words[words.length - 1];
    // Several sources: dest is a directory.
    const dir = words.length > 2 && !dest.endsWith("/") ? dest + "/" : dest;
    for (const src of words.slice(0, -1)) out.push({ src, dest: dir });
  }
  return out;
}
if (cmd === "copy-sources") {
  for (const { src, dest } of copySources()) console.log(`${src} ${dest}`);
  process.exit(0);
}
if (cmd === "context") {
  // docker build (classic and BuildKit) sends the context minus what
  // .dockerignore excludes: Go filepath.Match patterns, cleaned (a trailing
  // "/" dropped), "!" re-includes, the last pattern that matches the path or
  // one of its parent directories wins.
  const root = rest[0];
  const ignoreFile = existsSync(`${file}.dockerignore`) ? `${file}.dockerignore` : join(root ?? ".", ".dockerignore");
  const problems = [];
  const patterns = [];
  if (!root) problems.push("no ROOT given");
  else if (existsSync(ignoreFile)) {
    for (let line of readFileSync(ignoreFile, "utf8").split("\n")) {
      line = line.trim();
      if (!line || line.startsWith("#")) continue;
      const exclusion = line.startsWith("!");
      if (exclusion) line = line.slice(1).trim();
      const pat = posix.normalize(line).replace(/^\/+/, "").replace(/\/+$/, "");
      let re = "";
      for (let i = 0; i < pat.length; i++) {
        const c = pat[i];
        if (c === "*" && pat[i + 1] === "*") {
          re += pat[i + 2] === "/" ? "(?:.*/)?" : ".*";
          i += pat[i + 2] === "/" ? 2 : 1;
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else if (c === "\\" && i + 1 < pat.length) re += "\\" + pat[++i];
        else re += /[.+^${}()|[\]]/.test(c) ? "\\" + c : c;
      }
      patterns.push({ exclusion, re: new RegExp(`^${re}$`), text: line });
    }
  }
  const excluded = (path) => {
    const parts = path.split("/");
    let matched = false;
    for (const p of patterns) {
      if (p.exclusion !== matched) continue;
      let m = p.re.test(path);
      for (let i = 1; !m && i < parts.length; i++) m = p.re.test(parts.slice(0, i).join("/"));
      if (m) matched = !p.exclusion;
    }
    return matched;
  };
  const filesUnder = (rel) => {
    const abs = join(root, rel);
    if (!statSync(abs).isDirectory()) return [rel];
    return readdirSync(abs).flatMap((n) => filesUnder(posix.join(rel, n)));
  };
  const shown = root ? relative(resolve(root), resolve(ignoreFile)) : ignoreFile;
  let count = 0;
  for (const { src } of root ? copySources() : []) {
    const rel = posix.normalize(src).replace(/^\.?\/+/, "").replace(/\/+$/, "");
    if (!existsSync(join(root, rel))) {
      problems.push(`COPY ${src}: no such path`);
      continue;
    }
    const files = filesUnder(rel);
    const out = files.filter(excluded);
    count += files.length - out.length;
    if (out.length === files.length) problems.push(`COPY ${src}: excluded from the build context by ${shown} (docker build fails: not found)`);
    else if (out.length) problems.push(`COPY ${src}: ${out.length} of its files excluded by ${shown}, e.g. ${out[0]}`);
  }
  report("build context", problems, existsSync(ignoreFile)
    ? `every path the build stage COPYs passes ${shown} (${count} files)`
    : `no .dockerignore: the whole directory is the context (${count} files COPYed)`);
  process.exit(failures ? 1 : 0);
}


// 1. base images
{
  const problems = [];
  if (stages.length < 2) problems.push(`expected a multi-stage build, found ${stages.length} stage(s)`);
  for (const s of stages) {
    const fromStage = stages.some((t) => t.name && t.name === s.image);
    if (!fromStage && !/^debian:bookworm-slim(@sha256:[0-9a-f]{64})?$/.test(s.image)) problems.push(`FROM ${s.image}`);
  }
  report("base images", problems, `${stages.length} stages, all debian:bookworm-slim`);
}

// 2. USER
{
  const { raw, uid, gid } = finalUser();
  const problems = [];
  if (raw === undefined) problems.push("the final stage has no USER");
  else if (uid === null) problems.push(`USER ${raw} is not numeric (uid[:gid])`);
  else if (uid === 0 || gid === 0) problems.push(`USER ${raw} is root`);
  report("user", problems, `USER ${raw}`);
}

// 3. ENTRYPOINT (exec form, tini first, stockd after "--")
{
  const problems = [];
  const e = lastOf(final, "ENTRYPOINT")?.arg;
  let argv = null;
  try {
    argv = JSON.parse(e ?? "");
  } catch {
    problems.push(`ENTRYPOINT ${e} is not the exec (JSON) form`);
  }
  if (argv) {
    if (argv[0] !== "/usr/bin/tini") problems.push(`ENTRYPOINT starts with ${argv[0]}, not /usr/bin/tini`);
    if (argv[1] !== "--") problems.push('ENTRYPOINT lacks "--" after tini');
    if (argv[2] !== "/usr/local/bin/stockd") problems.push(`ENTRYPOINT runs ${argv[2]}, not /usr/local/bin/stockd`);
  }
  const copy = (final?.ins ?? []).filter((i) => i.op === "COPY" && /--from=/.test(i.arg));
  if (!copy.some((i) => /\/stockd(\s|$)/.test(i.arg) && /\/usr\/local\/bin\/?$/.test(i.arg)))
    problems.push("no COPY --from of stockd into /usr/local/bin/");
  // stockd-export ships in the same image (its Deployment runs it by command).
  if (!copy.some((i) => /\/stockd-export(\s|$)/.test(i.arg) && /\/usr\/local\/bin\/?$/.test(i.arg)))
    problems.push("no COPY --from of stockd-export into /usr/local/bin/");
  report("entrypoint", problems, e ?? "");
}

// 4. runtime packages
{
  const problems = [];
  const installed = [];
  for (const run of (final?.ins ?? []).filter((i) => i.op === "RUN")) {
    for (const m of run.arg.matchAll(/apt-get\s+(?:-\S+\s+)*install\s+([^&;|]*)/g)) {
      const words = m[1].trim().split(/\s+/).filter(Boolean);
      if (!words.includes("--no-install-recommends")) problems.push("apt-get install without --no-install-recommends");
      installed.push(...words.filter((w) => !w.startsWith("-")));
      if (!/rm\s+-rf\s+\/var\/lib\/apt\/lists/.test(run.arg)) problems.push("the RUN that installs does not remove /var/lib/apt/lists");
    }
  }
  const need = opts.require ?? [];
  const allow = opts.allow ?? [];
  if (need.length === 0) problems.push("no required packages given (ldd found none?)");
  for (const p of need) if (!installed.includes(p)) problems.push(`missing ${p} (needed by the binary)`);
  for (const p of installed) if (!need.includes(p) && !allow.includes(p)) problems.push(`extra package ${p}`);
  if (!installed.includes("tini")) problems.push("tini is not installed (ENTRYPOINT needs it)");
  report("runtime packages", problems, `installs ${installed.join(" ")} = ldd's ${need.join(" ")} + allowed`);
}

// 5. ENV and EXPOSE
{
  const problems = [];
  const envs = {};
  for (const i of (final?.ins ?? []).filter((x) => x.op === "ENV"))
    for (const m of i.arg.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) envs[m[1]] = m[2].replace(/^"|"$/g, "");
  const exposed = (final?.ins ?? [])
    .filter((x) => x.op === "EXPOSE")
    .flatMap((x) => x.arg.split(/\s+/))
    .map((p) => Number(p.replace(/\/tcp$/, "")));
  for (const k of ["STOCKD_LISTEN", "STOCKD_HTTP"]) {
    const m = /^0\.0\.0\.0:(\d+)$/.exec(envs[k] ?? "");
    if (!m) problems.push(`ENV ${k}=${envs[k]}: must be 0.0.0.0:PORT`);
    else if (!exposed.includes(Number(m[1]))) problems.push(`${k} port ${m[1]} is not EXPOSEd`);
  }
  if (envs.STOCKD_LOG_FORMAT !== "json") problems.push(`ENV STOCKD_LOG_FORMAT=${envs.STOCKD_LOG_FORMAT}, not json`);
  report("env and ports", problems, `STOCKD_LISTEN=${envs.STOCKD_LISTEN} STOCKD_HTTP=${envs.STOCKD_HTTP} STOCKD_LOG_FORMAT=${envs.STOCKD_LOG_FORMAT}, EXPOSE ${exposed.join(" ")}`);
}

// 6. build stage
{
  const problems = [];
  const runs = (build?.ins ?? []).filter((i) => i.op === "RUN").map((i) => i.arg).join("\n");
  if (!/-DSTOCKD_TESTS=OFF/.test(runs)) problems.push("cmake without -DSTOCKD_TESTS=OFF");
  if (!/-DCMAKE_BUILD_TYPE=Release/.test(runs)) problems.push("cmake without -DCMAKE_BUILD_TYPE=Release");
  if (!/--target\s+stockd\s+stockctl|--target\s+stockctl\s+stockd/.test(runs)) problems.push("does not build --target stockd stockctl");
  if (!/--target\s[^&\n]*\bstockd-export\b/.test(runs)) problems.push("does not build --target stockd-export");
  if (!/--no-install-recommends/.test(runs)) problems.push("apt-get install without --no-install-recommends");
  report("build stage", problems, "Release, STOCKD_TESTS=OFF, targets stockd, stockctl and stockd-export");
}

process.exit(failures ? 1 : 0);
