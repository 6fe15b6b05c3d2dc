import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import * as httpNamed from 'node:http';
import * as httpsNamed from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { getGlobalDispatcher } from 'undici';
import { install, installed, uninstall } from '../../src/index.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';

const ctx = useLab();
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // .test-build/test/install → project root

test('install() is idempotent and uninstall() restores exactly the previous dispatcher and agents', async () => {
  // Both of undici's global slots: Node 26's fetch reads .2, older ones and npm undici 7 read .1.
  const slots = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];
  const globals: Record<symbol, unknown> = globalThis;
  const before = { d: getGlobalDispatcher(), slots: slots.map((s) => globals[s]), h: http.globalAgent, s: https.globalAgent };
  const functions = (): unknown[] => [http.request, http.get, https.request, https.get, httpNamed.request, httpsNamed.get];
  const functionsBefore = functions();
  const first = install({ env: {} });
  functions().forEach((f, i) => assert.notEqual(f, functionsBefore[i], `function ${i} is wrapped (ES named exports too)`));
  assert.equal(install({ env: {} }), first, 'a second install returns the one in place');
  assert.equal(getGlobalDispatcher(), first.dispatcher);
  for (const slot of slots) assert.equal(globals[slot], first.dispatcher, String(slot));
  assert.equal(http.globalAgent, first.agents.http);
  assert.equal(https.globalAgent, first.agents.https);
  assert.equal(installed(), first);
  await uninstall();
  await uninstall(); // harmless twice
  assert.equal(getGlobalDispatcher(), before.d);
  slots.forEach((slot, i) => assert.equal(globals[slot], before.slots[i], String(slot)));
  assert.equal(http.globalAgent, before.h);
  assert.equal(https.globalAgent, before.s);
  assert.deepEqual(functions(), functionsBefore, 'http(s).request/get put back exactly, ES named exports too');
  assert.equal(installed(), undefined);
});

// A program that knows nothing of jaato-proxy: global fetch, and http/https requests with no agent.
const PROGRAM = `
import http from 'node:http';
import https from 'node:https';
const get = (mod, url) => new Promise((resolve, reject) =>
  mod.get(url, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(JSON.parse(b))); }).on('error', reject));
const [httpUrl, httpsUrl] = process.argv.slice(2);
const viaFetch = await (await fetch(httpsUrl + '/from-fetch')).json();
const viaHttp = await get(http, httpUrl + '/from-http');
const viaHttps = await get(https, httpsUrl + '/from-https');
console.log(JSON.stringify([viaFetch, viaHttp, viaHttps].map((e) => ({ url: e.url, via: e.headers.via ?? null, leaked: e.headers['proxy-authorization'] ?? null }))));
process.exit(0);
`;

// The same program as CommonJS, for the --require form.
const PROGRAM_CJS = PROGRAM.replace("import http from 'node:http';", "const http = require('node:http');")
  .replace("import https from 'node:https';", "const https = require('node:https');")
  .replace('const viaFetch', '(async () => {\nconst viaFetch')
  .replace('process.exit(0);', 'process.exit(0);\n})();');

for (const [flag, file, source] of [
  ['--import', 'program.mjs', PROGRAM],
  ['--require', 'program.cjs', PROGRAM_CJS],
] as const) {
  test(`node ${flag} jaato-proxy/register: an unmodified program reaches the lab through Kerberos Squid`, async () => {
    const lab = ctx.lab;
    const program = join(lab.dir, file);
    const ca = join(lab.dir, 'ca.pem');
    writeFileSync(program, source);
    const from = lab.accessLog().length;
    const { stdout } = await run(process.execPath, [flag, 'jaato-proxy/register', program, lab.origins.http.url, lab.origins.https.url], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: lab.proxies.negotiate, HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true', NODE_EXTRA_CA_CERTS: ca },
    });
    const results = JSON.parse(stdout) as Array<{ url: string; via: string | null; leaked: string | null }>;
    assert.deepEqual(results.map((r) => r.url), ['/from-fetch', '/from-http', '/from-https']);
    assert.match(String(results[1]?.via), /squid/, 'plain http was forwarded by Squid');
    for (const r of results) assert.equal(r.leaked, null);
    const mine = await logSince(lab, from, 3);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]).sort(), [
      ['CONNECT', 200, lab.principal],
      ['CONNECT', 200, lab.principal],
      ['GET', 200, lab.principal],
    ]);
  });
}

// axios reads HTTPS_PROXY itself and would talk to the proxy without Negotiate (Squid's 407). Under
// --import jaato-proxy/register its defaults get proxy: false before the program runs; installAxios(axios)
// does the same by hand, and alone (no install) it puts the proxy agents in, never sending direct.
const AXIOS_PROGRAM = `
import axios from 'axios';
import { installAxios } from 'jaato-proxy/axios';
const mode = process.argv[4];
if (mode === 'wired' || mode === 'alone') installAxios(axios);
if (mode === 'no-argument') await installAxios();
const [httpUrl, httpsUrl] = process.argv.slice(2);
const get = (url) => axios.get(url, { validateStatus: () => true }).then((r) => ({ status: r.status, via: r.data?.headers?.via ?? null, leaked: r.data?.headers?.['proxy-authorization'] ?? null }), (e) => ({ error: e.code ?? e.message }));
console.log(JSON.stringify([await get(httpUrl + '/axios-http'), await get(httpsUrl + '/axios-https')]));
`;

test('axios through the Negotiate proxy: under --import with and without installAxios(axios); installAxios(axios) or installAxios() alone', async () => {
  const lab = ctx.lab;
  const program = join(ROOT, '.test-build', 'axios-program.mjs'); // inside the project, so it resolves axios
  writeFileSync(program, AXIOS_PROGRAM);
  writeFileSync(join(lab.dir, 'ca.pem'), lab.ca);
  const env = { PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: lab.proxies.negotiate, HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true', NODE_EXTRA_CA_CERTS: join(lab.dir, 'ca.pem') };
  const runIt = async (flags: string[], mode: string): Promise<Array<{ status?: number; via?: string | null; leaked?: string | null; error?: string }>> =>
    JSON.parse((await run(process.execPath, [...flags, program, lab.origins.http.url, lab.origins.https.url, mode], { cwd: ROOT, env })).stdout);
  for (const [flags, mode] of [
    [['--import', 'jaato-proxy/register'], 'wired'],
    [['--import', 'jaato-proxy/register'], 'bare'],
    [[], 'alone'],
    [[], 'no-argument'],
  ] as const) {
    const from = await quietLogLength(lab);
    const results = await runIt([...flags], mode);
    assert.deepEqual(results.map((r) => r.status), [200, 200], `${mode}: ${JSON.stringify(results)}`);
    assert.match(String(results[0]?.via), /squid/, `${mode}: http forwarded by Squid`);
    for (const r of results) assert.equal(r.leaked, null);
    const log = await logSince(lab, from, 2);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.principal], ['GET', 200, lab.principal]], `${mode}: through Squid as the user`);
  }
});

test('install(): requests on agents of Node own classes (given, agent: false, or set as globalAgent after the install) go through the proxy; a subclass is kept', async () => {
  const lab = ctx.lab;
  const url = `${lab.origins.https.url}/own-agent`;
  const get = (options: https.RequestOptions): Promise<{ status: number; socket: unknown }> =>
    new Promise((resolve, reject) => {
      https
        .get(url, { ca: lab.ca, ...options }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: res.socket }));
        })
        .on('error', reject);
    });
  install({ proxy: lab.proxies.negotiate, kerberos: true, ca: lab.ca, env: {} });
  const before = https.globalAgent;
  const mine = new https.Agent({ ca: lab.ca, keepAlive: true });
  class Kept extends https.Agent {}
  const kept = new Kept({ ca: lab.ca });
  try {
    const from = await quietLogLength(lab);
    assert.equal((await get({ agent: mine })).status, 200);
    assert.equal((await get({ agent: false })).status, 200);
    https.globalAgent = new https.Agent({ ca: lab.ca });
    assert.equal((await get({})).status, 200);
    https.globalAgent = before;
    assert.equal((await get({ agent: kept })).status, 200);
    assert.equal(count(mine.sockets) + count(mine.freeSockets), 0, "the caller's own agent opened no connection: a proxy agent made from its options did");
    await uninstall(); // closes the tunnels, so Squid logs them
    const log = await logSince(lab, from, 3);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]), Array(3).fill(['CONNECT', 200, lab.principal]), 'three through Squid as the user; the subclass went direct');
  } finally {
    https.globalAgent = before;
    mine.destroy();
    kept.destroy();
    await uninstall();
  }
});

/** What the test reads of an axios copy: its defaults' `proxy` field. */
type AxiosCopy = { defaults: { proxy?: unknown } };

const count = (lists: NodeJS.ReadOnlyDict<readonly unknown[]>): number => Object.values(lists).reduce((n, l) => n + (l?.length ?? 0), 0);

test("register's axios step: both copies the program loads get proxy: false; uninstall() puts the field back as it was (absent)", async () => {
  const { adoptProgramAxios } = await import('../../src/install/global.js');
  const esm: AxiosCopy = (await import('axios')).default;
  const cjs = createRequire(import.meta.url)('axios') as AxiosCopy;
  assert.notEqual(esm, cjs, 'two copies, two sets of defaults');
  for (const copy of [esm, cjs]) assert.equal(Object.hasOwn(copy.defaults, 'proxy'), false);
  install({ env: {} });
  try {
    assert.equal(await adoptProgramAxios(), 2);
    for (const copy of [esm, cjs]) assert.equal(copy.defaults.proxy, false);
  } finally {
    await uninstall();
  }
  for (const copy of [esm, cjs]) assert.equal(Object.hasOwn(copy.defaults, 'proxy'), false, 'absent again');
});
