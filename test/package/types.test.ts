// The README's TypeScript compiles for a user: every ```ts block (a file each) of README.md and docs/*.md and the code column of
// the "Integration with providers" table, in a scratch consumer project, under `strict`, against the
// built declarations (dist/*.d.ts, through package.json `exports`), in 12 configurations: @types/node
// 20, 22 and 24, each without and with the DOM lib, each with module/moduleResolution nodenext and
// with module esnext + moduleResolution bundler. Taken from README.md itself, so the README cannot
// drift from what compiles. A prelude declares what the reader fills in (PLACEHOLDERS).
//
// The programs are built in this process with the compiler API, one after another, sharing parsed
// declaration files: the examples pull in 540,000 lines of SDK declarations, whose parsing and binding
// is most of a `tsc -p` run (2.5 of 3.4 s here). Shared, the twelve took 19 s of CPU on this 2-core
// machine; twelve tsc processes, two at a time, took 50 s (28 s wall) and would hold both cores.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers.js';

const PLACEHOLDERS = `declare const url: string;
declare const myCorporateRootPem: string;
declare function onResponse(res: import('node:http').IncomingMessage): void;
declare const apiKey: string;
declare const auth: string;
declare const cert: string;
declare const key: string;
`;

/** What the providers table's code needs in scope. */
const PROVIDER_IMPORTS = `import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { GoogleGenAI } from '@google/genai';
import { Octokit } from '@octokit/rest';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import got from 'got';
import nodeFetch from 'node-fetch';
import ky from 'ky';
import { createFetch, getAgent, getAxiosConfig, getGotOptions, ProxyDispatcher } from 'jaato-proxy';
import { createAxios } from 'jaato-proxy/axios';
import ModelClient from '@azure-rest/ai-inference';
import { AzureKeyCredential } from '@azure/core-auth';
import { createAzureHttpClient } from 'jaato-proxy/azure';
`;

/** Packages the examples import, linked from this repository's node_modules (devDependencies). */
const CLIENTS = ['axios', 'got', 'node-fetch', 'ky', 'openai', '@anthropic-ai/sdk', '@google/genai', '@octokit/rest', '@modelcontextprotocol/sdk', '@azure-rest/ai-inference', '@azure/core-auth', '@azure/core-rest-pipeline'];

/** The @types/node under test for each line: the plain devDependency and two aliased ones. */
const TYPES_NODE: Record<string, string> = { '20': '@types/node', '22': '@types/node22', '24': '@types/node24' };

interface Source {
  /** The markdown file it was taken from. */
  doc: string;
  file: string;
  text: string;
  /** Line in `doc` of each line of `text` (0 for prelude lines). */
  lines: number[];
}

/** Every ```ts block of one markdown file of the repository (README.md, docs/*.md), a file each. */
function fencedSources(doc: string, prelude: string[]): Source[] {
  const text = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const sources: Source[] = [];
  for (let i = 0; i < text.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(text[i]!);
    if (!fence) continue;
    const open = i;
    const close = text.findIndex((l, k) => k > open && /^```\s*$/.test(l));
    assert.ok(close > open, `${doc}:${open + 1}: the fence is never closed`);
    i = close;
    // A js fence would escape the check: the library examples are ts.
    assert.ok(!/^(js|javascript|mjs|cjs|tsx?|typescript)$/.test(fence[1]!) || fence[1] === 'ts', `${doc}:${open + 1}: write library examples as \`\`\`ts so that they are compiled`);
    if (fence[1] !== 'ts') continue;
    const body = text.slice(open + 1, close);
    sources.push({
      doc,
      file: `${doc.replace(/\W+/g, '-')}-${open + 1}.ts`,
      text: [...prelude, ...body, 'export {};', ''].join('\n'),
      lines: [...prelude.map(() => 0), ...body.map((_, k) => open + 2 + k)],
    });
  }
  return sources;
}

/** The docs beside the README (docs/*.md), whose examples compile the same way. */
const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);

function readmeSources(): Source[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const prelude = PLACEHOLDERS.trimEnd().split('\n');
  const sources = [...DOCS.flatMap((d) => fencedSources(d, prelude)), ...fencedSources('README.md', prelude)];

  const heading = readme.findIndex((l) => l === '### Integration with providers');
  assert.ok(heading >= 0, 'README.md has no "### Integration with providers" section');
  const rows: Array<{ code: string; line: number }> = [];
  for (let i = heading + 1; i < readme.length && !readme[i]!.startsWith('#'); i++) {
    const cells = readme[i]!.split('|').slice(1, -1);
    if (cells.length < 3 || /^\s*-+\s*$/.test(cells[0]!)) continue;
    // The last column: each code span that is a call or a construction (not `node --import ...`).
    for (const m of cells[cells.length - 1]!.matchAll(/`([^`]+)`/g)) if (m[1]!.includes('(')) rows.push({ code: m[1]!, line: i + 1 });
  }
  const head = [...PROVIDER_IMPORTS.trimEnd().split('\n'), ...prelude];
  sources.push({
    doc: 'README.md',
    file: 'readme-providers.ts',
    text: [...head, ...rows.map((r) => `void (${r.code});`), 'export {};', ''].join('\n'),
    lines: [...head.map(() => 0), ...rows.map((r) => r.line)],
  });
  return sources;
}

const CONFIGS = Object.keys(TYPES_NODE).flatMap((types) =>
  [false, true].flatMap((dom) =>
    (['nodenext', 'bundler'] as const).map((resolution) => ({ types, dom, resolution, name: `@types/node ${types}, ${dom ? 'DOM lib' : 'no DOM'}, ${resolution === 'nodenext' ? 'nodenext' : 'esnext + bundler'}` })),
  ),
);

let dir = '';
let sources: Source[] = [];

before(() => {
  sources = readmeSources();
  // The README's ts blocks (createFetch; the dispatcher; the options; every client) and the providers table.
  assert.ok(sources.filter((s) => s.doc === 'README.md').length >= 5, `only ${sources.filter((s) => s.doc === 'README.md').length - 1} ts blocks found in README.md`);
  assert.ok(sources.some((s) => s.doc.startsWith('docs/')), 'no ts block found in docs/*.md');
  assert.ok((sources.at(-1)?.lines.filter((l) => l > 0).length ?? 0) >= 9, 'the providers table lost its code column');

  dir = mkdtempSync(join(tmpdir(), 'jaato-types-'));
  writeFileSync(join(dir, 'package.json'), '{ "name": "jaato-types-consumer", "private": true, "type": "module" }\n');
  for (const s of sources) writeFileSync(join(dir, s.file), s.text);
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  symlinkSync(ROOT, join(modules, 'jaato-proxy'), 'dir');
  for (const name of CLIENTS) {
    mkdirSync(join(modules, name, '..'), { recursive: true });
    symlinkSync(realpathSync(join(ROOT, 'node_modules', name)), join(modules, name), 'dir');
  }
  // One @types/node per configuration: its own typeRoots holding only `node`. Type references
  // (`/// <reference types="node" />`, in undici's and undici-types' own files) resolve in typeRoots
  // first, so every file of the program sees this one, whichever node_modules it sits in.
  for (const [line, pkg] of Object.entries(TYPES_NODE)) {
    assert.ok(existsSync(join(ROOT, 'node_modules', pkg, 'package.json')), `${pkg} is not installed: it is a devDependency (an alias for @types/node ${line}); run \`npm ci\``);
    mkdirSync(join(dir, `types-${line}`));
    symlinkSync(realpathSync(join(ROOT, 'node_modules', pkg)), join(dir, `types-${line}`, 'node'), 'dir');
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Parsed declaration files, shared by the programs (the options that shape parsing are the same in all). */
const parsed = new Map<string, ts.SourceFile>();

function compile(c: (typeof CONFIGS)[number]): { diagnostics: readonly ts.Diagnostic[]; files: string[] } {
  const compilerOptions = {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    module: c.resolution === 'nodenext' ? 'nodenext' : 'esnext',
    moduleResolution: c.resolution,
    lib: c.dom ? ['ES2023', 'DOM', 'DOM.Iterable'] : ['ES2023'],
    typeRoots: [`./types-${c.types}`],
    types: ['node'],
  };
  const config = ts.parseJsonConfigFileContent({ compilerOptions, files: sources.map((s) => s.file) }, ts.sys, dir);
  assert.deepEqual(config.errors, []);
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, settings, onError, shouldCreate) => {
    const o = typeof settings === 'object' ? settings : { languageVersion: settings };
    const key = `${fileName}\0${o.languageVersion}\0${o.impliedNodeFormat ?? ''}`;
    const cached = fileName.endsWith('.d.ts') ? parsed.get(key) : undefined;
    if (cached) return cached;
    const file = read(fileName, settings, onError, shouldCreate);
    if (file && fileName.endsWith('.d.ts')) parsed.set(key, file);
    return file;
  };
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
  // What `tsc` reports with skipLibCheck (which a project using these SDKs needs: @google/genai's and
  // the MCP SDK's declarations name DOM types), plus jaato-proxy's own declarations checked as if
  // skipLibCheck were off, so that a project without it gets no error from them either.
  const own = realpathSync(join(ROOT, 'dist')).split(sep).join('/') + '/';
  const checked = program.getSourceFiles().filter((f) => !f.isDeclarationFile || f.fileName.startsWith(own));
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSourceFiles().flatMap((f) => program.getSyntacticDiagnostics(f)),
    ...checked.flatMap((f) => program.getSemanticDiagnostics(f)),
  ];
  return { diagnostics, files: program.getSourceFiles().map((f) => f.fileName) };
}

/** Each diagnostic on one line, at its README line where it came from the README. */
function report(diagnostics: readonly ts.Diagnostic[]): string {
  return diagnostics
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
      if (!d.file || d.start === undefined) return `error TS${d.code}: ${text}`;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const name = d.file.fileName.slice(d.file.fileName.lastIndexOf('/') + 1);
      const source = sources.find((s) => s.file === name);
      const docLine = source?.lines[line];
      return `${docLine ? `${source!.doc}:${docLine}` : `${d.file.fileName}:${line + 1}`}: error TS${d.code}: ${text}`;
    })
    .join('\n');
}

for (const c of CONFIGS) {
  test(`README TypeScript compiles: ${c.name}`, () => {
    const { diagnostics, files } = compile(c);
    assert.equal(diagnostics.length, 0, `strict, ${c.name}:\n${report(diagnostics)}`);

    // The configuration is the one named: this @types/node and no other, the DOM lib or not.
    const typesRoots = new Set(files.map((f) => /^(.*\/node_modules\/@types\/node\d*)\//.exec(f)?.[1]).filter(Boolean));
    assert.deepEqual([...typesRoots], [realpathSync(join(ROOT, 'node_modules', TYPES_NODE[c.types]!)).split(sep).join('/')]);
    const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules', TYPES_NODE[c.types]!, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(version.split('.')[0], c.types);
    assert.equal(files.some((f) => f.endsWith('/lib.dom.d.ts')), c.dom);
    assert.ok(files.some((f) => f.endsWith('/dist/index.d.ts')), 'jaato-proxy declarations not in the program');
  });
}
