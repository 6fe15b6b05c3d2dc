// The package as a user gets it: `npm pack` of what a clone of this working tree holds (so `prepack`
// builds dist/ from nothing), installed from the tarball into a scratch project with --ignore-scripts
// (nothing is built there), then used from ES modules, CommonJS and the bin, and for a Negotiate
// request through the lab's Squid with MIT's and Heimdal's GSSAPI. One pack and one install serve
// every test here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix } from 'node:path';
import { npmEnv, ok, ROOT, run } from './helpers.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab();

const TARGET = 'https://x.example/';
const PROXY = 'http://proxy.corp.example:8080';

let work = '';
let app = '';
let installed = '';

/** What a user's shell has: PATH (the Node under test first, for `#!/usr/bin/env node`), HOME (npm's cache), a proxy. */
function appEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter), HOME: process.env.HOME ?? tmpdir(), HTTPS_PROXY: PROXY, ...extra };
}

const node = (args: string[], env = appEnv()) => run(process.execPath, args, { cwd: app, env });

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'jaato-pack-'));
  const clone = join(work, 'clone');
  // A clone of this working tree: tracked files and new ones git does not ignore (no dist/, no .test-build/).
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const path of listed.filter(Boolean)) {
    // Deleted in the working tree but not yet committed; or node_modules, when it is a symlink that git sees.
    if (!existsSync(join(ROOT, path)) || path === 'node_modules') continue;
    mkdirSync(dirname(join(clone, path)), { recursive: true });
    cpSync(join(ROOT, path), join(clone, path));
  }
  assert.ok(!existsSync(join(clone, 'dist')), 'the clone must start without dist/ so that prepack is what builds it');
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules')); // as `npm ci` would have left it
  ok(await run('npm', ['pack', '--pack-destination', work, '--loglevel=error'], { cwd: clone, env: npmEnv(), timeout: 120_000 }), 'npm pack');
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, `npm pack left no tarball in ${work}`);

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "jaato-consumer", "version": "1.0.0", "private": true }\n');
  // --ignore-scripts: what the package needs must not depend on any install script having run.
  const install = ['install', join(work, tarball), '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
  ok(await run('npm', install, { cwd: app, env: npmEnv(), timeout: 120_000 }), 'npm install <tarball>');
  installed = join(app, 'node_modules', 'jaato-proxy');
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

test('the tarball: dist built by prepack with its types, LICENSE; no lab, no demo, no source maps; undici, the PAC evaluator and koffi at run time; no install script', () => {
  const files = filesUnder(installed);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/install/register.js', 'dist/install/register.d.ts', 'dist/adapters/axios.js', 'dist/adapters/axios.d.ts', 'dist/cli/main.js']) {
    assert.ok(files.includes(f), `${f} is missing from the package`);
  }
  assert.deepEqual(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f)), [], 'files outside dist/');
  assert.deepEqual(files.filter((f) => f.startsWith('dist/lab/') || f.startsWith('dist/cli/demo.')), [], 'the lab and the demo are not for users');
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} the jaato-proxy authors\n/);

  // Every reference between shipped files lands on a shipped file: relative imports (so leaving the
  // lab out broke nothing that loads), source-map comments and the sources of any map.
  const broken: string[] = [];
  for (const f of files.filter((x) => /\.(js|d\.ts|map)$/.test(x))) {
    const text = readFileSync(join(installed, f), 'utf8');
    const here = posix.dirname(f);
    const refs: string[] = [];
    if (f.endsWith('.map')) refs.push(...((JSON.parse(text) as { sources?: string[] }).sources ?? []));
    else {
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) refs.push(f.endsWith('.d.ts') ? m[1]!.replace(/\.js$/, '.d.ts') : m[1]!);
      for (const m of text.matchAll(/\/\/# sourceMappingURL=(\S+)/g)) refs.push(m[1]!);
    }
    for (const ref of refs) if (!files.includes(posix.normalize(posix.join(here, ref)))) broken.push(`${f} → ${ref}`);
  }
  assert.deepEqual(broken, [], 'references to files the package does not contain');
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'source maps (their sources, src/, are not shipped)');

  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, Record<string, unknown> | undefined>;
  // The PAC evaluator (pac-resolver on QuickJS) is loaded only when a PAC is configured; koffi only for a Negotiate token.
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}).sort(), ['koffi', 'pac-resolver', 'quickjs-wasi', 'undici']);
  assert.equal(pkg.optionalDependencies, undefined);
  assert.equal(pkg.peerDependencies?.kerberos, undefined);
  // npm counts preinstall, install, postinstall and prepare as install-time scripts.
  assert.deepEqual(Object.keys(pkg.scripts ?? {}).filter((name) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(name)), [], 'install-time scripts');
  assert.ok(!existsSync(join(app, 'node_modules', 'kerberos')), 'no kerberos addon');
  assert.ok(existsSync(join(app, 'node_modules', '@koromix', `koffi-${process.platform}-${process.arch}`)), "koffi's binary comes as a package, not from a script");
});

test('ES modules: import { explain, createFetch, getProxyUrl } from "jaato-proxy"', async () => {
  writeFileSync(
    join(app, 'esm.mjs'),
    `import { explain, createFetch, getProxyUrl } from 'jaato-proxy';
const e = explain(${JSON.stringify(TARGET)});
const fetch = createFetch();
console.log(JSON.stringify({ route: e.route, rule: e.rule, proxy: e.proxy, getProxyUrl: getProxyUrl(${JSON.stringify(TARGET)}), fetch: typeof fetch, dispatch: typeof fetch.dispatcher.dispatch }));
await fetch.dispatcher.close();
`,
  );
  const r = ok(await node(['esm.mjs']), 'node esm.mjs');
  assert.deepEqual(JSON.parse(r.stdout), { route: 'proxy', rule: 'HTTPS_PROXY', proxy: `${PROXY}/`, getProxyUrl: `${PROXY}/`, fetch: 'function', dispatch: 'function' });
});

test('CommonJS: require("jaato-proxy"), and --require jaato-proxy/register installs it process-wide', async () => {
  writeFileSync(
    join(app, 'app.cjs'),
    `const { explain, getProxyUrl, installed } = require('jaato-proxy');
const e = explain(${JSON.stringify(TARGET)});
console.log(JSON.stringify({ route: e.route, rule: e.rule, getProxyUrl: getProxyUrl(${JSON.stringify(TARGET)}), installed: installed() !== undefined }));
`,
  );
  const plain = ok(await node(['app.cjs']), 'node app.cjs');
  assert.deepEqual(JSON.parse(plain.stdout), { route: 'proxy', rule: 'HTTPS_PROXY', getProxyUrl: `${PROXY}/`, installed: false });
  const registered = ok(await node(['--require', 'jaato-proxy/register', 'app.cjs']), 'node --require jaato-proxy/register app.cjs');
  assert.equal((JSON.parse(registered.stdout) as { installed: boolean }).installed, true);
});

test('the bin: npx jaato-proxy explain shows the route; --version is the package version', async () => {
  const npx = (args: string[]) => run('npx', ['--no-install', 'jaato-proxy', ...args], { cwd: app, env: appEnv() });
  const r = ok(await npx(['explain', TARGET]), 'npx jaato-proxy explain');
  assert.match(r.stdout, new RegExp(`route: +proxy ${PROXY.replaceAll('.', '\\.')}/\\n`));
  assert.match(r.stdout, /rule: +HTTPS_PROXY\n/);
  const version = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(ok(await npx(['--version']), 'npx jaato-proxy --version').stdout, `${version}\n`);
});

test('the bin: demo in an installed package exits 1 with one line saying it runs from a clone', async () => {
  const r = await run(join(app, 'node_modules', '.bin', 'jaato-proxy'), ['demo'], { cwd: app, env: appEnv() });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^jaato-proxy: the demo is not part of the installed package; it runs from a clone of the repository: `bash scripts\/setup\.sh && npm run demo`\n$/);
});

test('loading jaato-proxy loads neither koffi nor the lab; the first Negotiate token loads koffi and the GSSAPI library', async () => {
  // Records every module resolution, with registerHooks where Node has it (22.15+, in-thread; module.register
  // is deprecated from 26) and module.register on Node 20. Both append synchronously before the module
  // loads, so the log is complete when the program reads it.
  writeFileSync(
    join(app, 'trace.mjs'),
    `import * as mod from 'node:module';
import { appendFileSync } from 'node:fs';
const log = process.env.TRACE_LOG;
if (mod.registerHooks) {
  mod.registerHooks({
    resolve(specifier, context, next) {
      try { const r = next(specifier, context); appendFileSync(log, specifier + '\\t' + r.url + '\\n'); return r; }
      catch (e) { appendFileSync(log, specifier + '\\tERR ' + e.code + '\\n'); throw e; }
    },
  });
} else {
  mod.register('./trace-hooks.mjs', import.meta.url, { data: { log } });
}
`,
  );
  writeFileSync(
    join(app, 'trace-hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  try { const r = await next(specifier, context); appendFileSync(log, specifier + '\\t' + r.url + '\\n'); return r; }
  catch (e) { appendFileSync(log, specifier + '\\tERR ' + e.code + '\\n'); throw e; }
}
`,
  );
  writeFileSync(
    join(app, 'traced.mjs'),
    `import { readFileSync } from 'node:fs';
const seen = () => readFileSync(process.env.TRACE_LOG, 'utf8').trim().split('\\n').map((l) => l.split('\\t'));
const jaato = await import('jaato-proxy');
const onLoad = seen();
const token = await jaato.generateSpnegoToken('localhost').then((t) => Buffer.from(t, 'base64').length, (e) => e.code);
console.log(JSON.stringify({ onLoad, afterToken: seen().slice(onLoad.length), token }));
`,
  );
  const log = join(work, 'resolutions.log');
  writeFileSync(log, '');
  const r = ok(await node(['--import', './trace.mjs', 'traced.mjs'], appEnv({ ...labVariables(), TRACE_LOG: log, JAATO_KERBEROS_PROXY: 'true' })), 'node --import ./trace.mjs traced.mjs');
  const out = JSON.parse(r.stdout) as { onLoad: string[][]; afterToken: string[][]; token: number | string };

  const ours = out.onLoad.map(([, url]) => url ?? '').filter((url) => url.startsWith('file:') && url.includes('/node_modules/jaato-proxy/'));
  assert.ok(ours.some((url) => url.endsWith('/dist/index.js')), `the trace saw no jaato-proxy module: ${JSON.stringify(out.onLoad)}`);
  assert.deepEqual(ours.filter((url) => /\/dist\/(lab|cli)\//.test(url)), [], 'the lab or the CLI loaded with the library');
  assert.deepEqual(out.onLoad.filter(([specifier, url]) => specifier === 'koffi' || /\/koffi\//.test(url ?? '')), [], 'koffi loaded with the library');
  // The control: the same trace sees koffi once a token is wanted, and the token is made.
  assert.ok(out.afterToken.some(([specifier, url]) => specifier === 'koffi' && /\/node_modules\/koffi\//.test(url ?? '')), JSON.stringify(out.afterToken));
  assert.equal(typeof out.token, 'number', `token: ${String(out.token)}`);
});

/** The lab's Kerberos variables (its krb5.conf and ticket cache), for a program run in the scratch project. */
function labVariables(): Record<string, string> {
  return Object.fromEntries(Object.entries(ctx.lab.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

for (const library of ['mit', 'heimdal'] as const) {
  test(`installed with --ignore-scripts, a Negotiate request through the lab's Squid succeeds with ${library === 'mit' ? "MIT's" : "Heimdal's"} GSSAPI`, async () => {
    const lab = ctx.lab;
    writeFileSync(
      join(app, 'negotiate.mjs'),
      `import { createFetch } from 'jaato-proxy';
// Internal, not exported by the package: read from the installed file itself.
import { loadSecurityProvider } from './node_modules/jaato-proxy/dist/auth/index.js';
const fetch = createFetch({ proxy: ${JSON.stringify(lab.proxies.negotiate)}, kerberos: true, env: {} });
const res = await fetch(${JSON.stringify(`${lab.origins.http.url}/installed-${library}`)});
await res.arrayBuffer();
const { info } = await loadSecurityProvider();
console.log(JSON.stringify({ status: res.status, family: info.family }));
await fetch.dispatcher.close();
`,
    );
    const r = ok(await node(['negotiate.mjs'], appEnv({ ...labVariables(), JAATO_GSSAPI_LIBRARY: library })), `node negotiate.mjs (${library})`);
    assert.deepEqual(JSON.parse(r.stdout), { status: 200, family: library });
  });
}
