#!/usr/bin/env node
// The folder graph of src/, from its import statements (type-only ones too: a type cycle is a cycle a
// reader meets). Prints each folder's edges with their counts, and fails (exit 1) on an import from a
// lower folder to a higher one (LAYERS, top first) or on a cycle between folders. Root files count as
// the folder named by ROOT. Fast: one regex pass over the sources, no TypeScript.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(import.meta.dirname ?? dirname(new URL(import.meta.url).pathname), '..', 'src');

/** Top first: a folder may import only folders below it. */
const LAYERS = ['entry', 'cli', 'install', 'server', 'diagnostics', 'adapters', 'routing', 'system', 'pac', 'transport', 'auth', 'config', 'base'];
/** Files at the root of src/: the package's main entry point, and the utilities every folder uses. */
const ROOT = { 'index.ts': 'entry', 'errors.ts': 'base', 'debug.ts': 'base', 'redact.ts': 'base' };

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return /\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

function folderOf(file) {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) return ROOT[parts[0]] ?? 'base';
  return parts[0];
}

const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|(?:^|[;\s])import\s*\(?\s*['"](\.[^'"]+)['"]/g;
const edges = new Map(); // "a -> b" -> count
const graph = new Map(); // a -> Set(b)
for (const file of files(SRC)) {
  const from = folderOf(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), m[1] ?? m[2]);
    if (!target.startsWith(SRC + sep)) continue;
    const to = folderOf(target);
    if (to === from) continue;
    const key = `${from} -> ${to}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from).add(to);
  }
}

const rank = (f) => (LAYERS.includes(f) ? LAYERS.indexOf(f) : -1);
const problems = [];
const folders = new Set([...graph.keys(), ...[...graph.values()].flatMap((to) => [...to])]);
for (const f of folders) if (rank(f) < 0) problems.push(`folder ${f} is in no layer: add it to LAYERS in scripts/import-graph.mjs`);

console.log('src/ folder graph (imports between folders, top layer first):');
for (const from of LAYERS) {
  const out = [...(graph.get(from) ?? [])].sort((a, b) => rank(a) - rank(b));
  if (out.length === 0) continue;
  const parts = out.map((to) => {
    const key = `${from} -> ${to}`;
    const up = rank(to) <= rank(from);
    if (up) problems.push(`upward import ${key} (${edges.get(key)})`);
    return `${to} (${edges.get(key)})${up ? ' UPWARD' : ''}`;
  });
  console.log(`  ${from.padEnd(12)} -> ${parts.join(', ')}`);
}

// Cycles: strongly connected components of more than one folder (Tarjan).
let index = 0;
const stack = [];
const info = new Map();
function connect(v) {
  info.set(v, { index, low: index, on: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!info.has(w)) {
      connect(w);
      info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
    } else if (info.get(w).on) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
  }
  if (info.get(v).low === info.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      info.get(w).on = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) problems.push(`cycle between folders: ${component.sort().join(', ')}`);
  }
}
for (const v of graph.keys()) if (!info.has(v)) connect(v);

if (problems.length > 0) {
  for (const p of problems) console.error(`import-graph: ${p}`);
  process.exit(1);
}
