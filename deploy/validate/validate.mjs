#!/usr/bin/env node
// Validates Kubernetes objects against the schemas of the kubernetes-models
// package (the Kubernetes OpenAPI definitions, compiled to ajv validators).
//
//   node validate.mjs [FILE ...]      multi-document YAML; no FILE or "-": stdin
//
// For each object, the class for its apiVersion/kind (kubernetes-models/
// <group>/<version>/<Kind>) validates it: wrong types, missing required
// fields, bad enums and formats fail.
//
// kubernetes-models' schemas do not set additionalProperties: false (nor does
// Kubernetes' OpenAPI), so its validate() accepts a misspelt field such as
// `contianers`. The strict check below closes that gap against the same
// schema: it runs the class's own validate() on a recording proxy of the
// object. A compiled schema reads every property it declares (to check it
// when present) and enumerates the keys of a map (additionalProperties), so
// a key that the validator never looked at is not in the schema: an unknown
// field, reported with its path. Objects the validator does not look into at
// all (schemaless fields such as RawExtension) are left alone.
//
// Base64 fields (Secret data, ConfigMap binaryData) are read as the API
// server reads them: Go's base64 decoder skips "\r" and "\n", and kustomize's
// secretGenerator folds values longer than 70 base64 characters over several
// lines, which the schema's "byte" format alone would reject.
//
// Prints one line per failing object and a summary; exits 1 on any failure.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const files = process.argv.slice(2);
if (files.length === 0) files.push("-");

function readInput(name) {
  return readFileSync(name === "-" ? 0 : name, "utf8");
}

const API_VERSION = /^(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

async function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !API_VERSION.test(apiVersion))
    throw new Error(`bad apiVersion ${JSON.stringify(apiVersion)}`);
  if (typeof kind !== "string" || !KIND.test(kind)) throw new Error(`bad kind ${JSON.stringify(kind)}`);
  let mod;
  try {
    mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    throw new Error(`no kubernetes-models class for ${apiVersion} ${kind}`);
  }
  const cls = mod[kind];
  if (typeof cls !== "function" || cls.apiVersion !== apiVersion || cls.kind !== kind)
    throw new Error(`no kubernetes-models class for ${apiVersion} ${kind}`);
  return cls;
}

// Runs cls.prototype.validate on a proxy of obj that records, per object,
// which keys were read and whether its keys were enumerated.
function unknownFields(cls, obj) {
  const reads = new WeakMap(); // target -> { keys: Set, all: bool }
  const proxies = new WeakMap();
  const note = (t) => {
    let r = reads.get(t);
    if (!r) reads.set(t, (r = { keys: new Set(), all: false }));
    return r;
  };
  const handler = {
    get(t, k, recv) {
      if (typeof k === "string") note(t).keys.add(k);
      return wrap(Reflect.get(t, k, recv));
    },
    has(t, k) {
      if (typeof k === "string") note(t).keys.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      note(t).all = true;
      return Reflect.ownKeys(t);
    },
  };
  function wrap(v) {
    if (v === null || typeof v !== "object") return v;
    let p = proxies.get(v);
    if (!p) proxies.set(v, (p = new Proxy(v, handler)));
    return p;
  }
  try {
    cls.prototype.validate.call(wrap(obj));
  } catch {
    // Type errors are reported by the plain validate() run.
  }
  const unknown = [];
  (function walk(v, path) {
    if (Array.isArray(v)) {
      v.forEach((el, i) => walk(el, `${path}[${i}]`));
      return;
    }
    if (v === null || typeof v !== "object") return;
    const r = reads.get(v);
    if (!r) return; // not looked into by the schema: free-form
    for (const key of Object.keys(v)) {
      const p = path ? `${path}.${key}` : key;
      if (!r.all && !r.keys.has(key)) unknown.push(p);
      else walk(v[key], p);
    }
  })(obj, "");
  return unknown;
}

function asApiServerReadsIt(obj) {
  const field = obj.kind === "Secret" ? "data" : obj.kind === "ConfigMap" ? "binaryData" : null;
  if (!field || !obj[field] || typeof obj[field] !== "object") return obj;
  const copy = { ...obj, [field]: { ...obj[field] } };
  for (const [k, v] of Object.entries(copy[field])) if (typeof v === "string") copy[field][k] = v.replace(/[\r\n]/g, "");
  return copy;
}

let total = 0;
let failed = 0;
for (const file of files) {
  let docs;
  try {
    docs = parseAllDocuments(readInput(file), { uniqueKeys: true });
  } catch (e) {
    console.log(`FAIL ${file}: ${e.message}`);
    failed++;
    continue;
  }
  if (!Array.isArray(docs)) docs = [docs]; // an empty stream
  for (const doc of docs) {
    if (doc.errors.length) {
      console.log(`FAIL ${file}: YAML: ${doc.errors.map((e) => e.message.split("\n")[0]).join("; ")}`);
      failed++;
      continue;
    }
    let obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // empty document
    total++;
    const name =
      obj && typeof obj === "object"
        ? `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`
        : JSON.stringify(obj).slice(0, 40);
    if (typeof obj !== "object" || Array.isArray(obj)) {
      console.log(`FAIL ${name}: not an object`);
      failed++;
      continue;
    }
    obj = asApiServerReadsIt(obj);
    let cls;
    try {
      cls = await modelClass(obj.apiVersion, obj.kind);
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
      failed++;
      continue;
    }
    const problems = [];
    try {
      new cls(obj).validate();
    } catch (e) {
      problems.push(e.message);
    }
    const unknown = unknownFields(cls, obj);
    if (unknown.length) problems.push(`unknown field(s): ${unknown.join(", ")}`);
    if (problems.length) {
      console.log(`FAIL ${name}: ${problems.join("; ")}`);
      failed++;
    }
  }
}
if (failed) {
  console.log(`validate: ${failed} of ${total} objects invalid`);
  process.exit(1);
}
if (total === 0) {
  console.log("validate: no objects");
  process.exit(1);
}
console.log(`validate: ${total} objects valid, no unknown fields`);
