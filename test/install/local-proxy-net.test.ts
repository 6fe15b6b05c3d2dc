import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidOptionError, install, installed, uninstall, type InstallOptions } from '../../src/index.js';
import { debugChannel } from '../../src/debug.js';
import { localProxyRequested, netChanges } from '../../src/install/local-proxy-net.js';
import { createBareRepo, gitHttpBackend } from '../../lab/git-http.js';
import type { Lab } from '../../lab/lab.js';
import type { EchoReply } from '../../lab/origin.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { scriptedProxy } from '../helpers/scripted-proxy.js';
import { mountGitHubModels, STAND_IN_REPLY } from '../sdk/github-models-stand-in.js';

const ctx = useLab();
const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // .test-build/test/install → project root

test('JAATO_LOCAL_PROXY: true/1/yes on, false/0/no/unset off, anything else a typed error naming it', () => {
  for (const v of ['true', '1', 'yes', 'TRUE']) assert.equal(localProxyRequested({ JAATO_LOCAL_PROXY: v }), true);
  for (const v of [undefined, '', 'false', '0', 'no']) assert.equal(localProxyRequested({ JAATO_LOCAL_PROXY: v }), false);
  assert.throws(() => localProxyRequested({ JAATO_LOCAL_PROXY: 'maybe' }), (e: unknown) => e instanceof InvalidOptionError && e.code === 'ERR_JAATO_INVALID_OPTION' && /^JAATO_LOCAL_PROXY: "maybe"/.test(e.message));
});

test('the children get the four proxy spellings pointed at the local proxy, and no upstream auth settings or ALL_PROXY', () => {
  const env = { HTTPS_PROXY: 'http://u:p@proxy.corp:3128', JAATO_KERBEROS_PROXY: 'true', JAATO_KERBEROS_SPN: 'HTTP@proxy.corp', ALL_PROXY: 'http://u:p@proxy.corp:3128', JAATO_NO_PROXY: 'github.com', NO_PROXY: '.corp' };
  const changes = netChanges(env, 'http://jaato:s3cret@127.0.0.1:4000');
  assert.deepEqual(changes, [
    { variable: 'HTTP_PROXY', before: undefined, after: 'http://jaato:s3cret@127.0.0.1:4000' },
    { variable: 'HTTPS_PROXY', before: 'http://u:p@proxy.corp:3128', after: 'http://jaato:s3cret@127.0.0.1:4000' },
    { variable: 'http_proxy', before: undefined, after: 'http://jaato:s3cret@127.0.0.1:4000' },
    { variable: 'https_proxy', before: undefined, after: 'http://jaato:s3cret@127.0.0.1:4000' },
    { variable: 'JAATO_LOCAL_PROXY_URL', before: undefined, after: 'http://jaato:s3cret@127.0.0.1:4000' },
    { variable: 'JAATO_KERBEROS_PROXY', before: 'true', after: undefined },
    { variable: 'JAATO_KERBEROS_SPN', before: 'HTTP@proxy.corp', after: undefined },
    { variable: 'ALL_PROXY', before: 'http://u:p@proxy.corp:3128', after: undefined },
  ]);
});

/** Runs `body` with the variables in `keys` cleared and `set` applied; puts them all back after, and uninstalls. */
async function withEnv(set: Record<string, string>, body: () => Promise<void>): Promise<void> {
  const keys = [...NET_KEYS, ...Object.keys(set)];
  const before = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, set);
  try {
    await body();
  } finally {
    await uninstall();
    for (const k of keys) if (before[k] === undefined) delete process.env[k];
    else process.env[k] = before[k];
  }
}

const NET_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'JAATO_KERBEROS_PROXY', 'JAATO_KERBEROS_SPN', 'JAATO_LOCAL_PROXY_URL', 'JAATO_NO_PROXY', 'NO_PROXY', 'no_proxy', 'JAATO_PAC_URL'];

/** The Basic Proxy-Authorization a client builds from the userinfo of `proxyUrl`. */
function basicFrom(proxyUrl: string): string {
  const u = new URL(proxyUrl);
  return `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
}

/** A raw CONNECT to the local proxy named by `proxyUrl`; resolves with the first bytes of its answer. */
function rawConnect(proxyUrl: string, authorization: string | undefined, target: string): Promise<string> {
  return rawHead(proxyUrl, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${authorization ? `Proxy-Authorization: ${authorization}\r\n` : ''}\r\n`);
}

/** `head` written raw to the local proxy named by `proxyUrl`; resolves with the first bytes of its answer. */
function rawHead(proxyUrl: string, head: string): Promise<string> {
  const { hostname, port } = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => s.write(head));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname, () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
}

test('install({ localProxy: true }) points process.env at a loopback proxy that goes upstream; uninstall() restores the variables exactly and stops it', async () => {
  const lab = ctx.lab;
  const keys = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'JAATO_KERBEROS_PROXY', 'JAATO_KERBEROS_SPN', 'JAATO_LOCAL_PROXY_URL', 'NO_PROXY', 'no_proxy'];
  const before = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  process.env.HTTPS_PROXY = lab.proxies.negotiate;
  process.env.JAATO_KERBEROS_PROXY = 'true';
  process.env.NO_PROXY = 'nothing.invalid';
  const snapshot = { ...process.env };
  try {
    const installation = await install({ localProxy: true, ca: lab.ca });
    const shownUrl = installation.localProxy?.url ?? assert.fail('no local proxy');
    assert.match(shownUrl, /^http:\/\/\*{4}:\*{4}@127\.0\.0\.1:\d+\/$/, 'shown with its credential redacted');
    const local = process.env.HTTPS_PROXY ?? '';
    assert.match(local, /^http:\/\/jaato:[0-9a-f]{32}@127\.0\.0\.1:\d+$/, 'a random 128-bit credential in the URL children get');
    assert.equal(new URL(local).port, new URL(shownUrl).port);
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'JAATO_LOCAL_PROXY_URL']) assert.equal(process.env[k], local, k);
    assert.equal(process.env.JAATO_KERBEROS_PROXY, undefined, 'the local proxy takes no Kerberos');
    assert.equal(process.env.NO_PROXY, 'nothing.invalid', 'the bypass list is kept');
    // In-process fetch still goes to Squid directly (the remembered upstream), not through the local proxy.
    const from = await quietLogLength(lab);
    const res = await fetch(`${lab.origins.https.url}/in-process`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await uninstall();
    assert.deepEqual({ ...process.env }, snapshot, 'every variable back, the unset ones unset');
    assert.equal(await refused(local), true, 'the local proxy is stopped');
    // Squid logs a CONNECT when its tunnel closes: uninstall() closed the kept-alive one.
    const mine = await logSince(lab, from, 1);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
  } finally {
    await uninstall();
    for (const k of keys) if (before[k] === undefined) delete process.env[k];
    else process.env[k] = before[k];
  }
});

test('bypass lists under the net: NO_PROXY unchanged, a JAATO_NO_PROXY host sent by a child to the local proxy goes direct, by the exact rule', async () => {
  const lab = ctx.lab;
  const keys = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'JAATO_KERBEROS_PROXY', 'JAATO_NO_PROXY', 'NO_PROXY', 'no_proxy', 'JAATO_LOCAL_PROXY_URL'];
  const before = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, { HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true', JAATO_NO_PROXY: '127.0.0.1' });
  try {
    await install({ localProxy: true });
    assert.equal(process.env.NO_PROXY ?? process.env.no_proxy, undefined, 'no exact entry copied into the suffix-matched list');
    const port = lab.origins.http.port;
    const from = await quietLogLength(lab);
    const curl = async (url: string): Promise<EchoReply> => JSON.parse((await execFileP('curl', ['-sS', url], { env: process.env })).stdout) as EchoReply;
    const bypassed = await curl(`http://127.0.0.1:${port}/exact-entry`);
    assert.equal(bypassed.headers.via?.includes('squid'), false, `127.0.0.1 went direct (via: ${String(bypassed.headers.via)})`);
    assert.match(String(bypassed.headers.via), /jaato-proxy-/, 'but through the local proxy: curl has no JAATO_NO_PROXY');
    const proxied = await curl(`http://localhost:${port}/not-the-entry`);
    assert.match(String(proxied.headers.via), /squid/, 'localhost is not the exact entry 127.0.0.1: through Squid');
    const mine = await logSince(lab, from, 1);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user, e.url]), [['GET', 200, lab.principal, `http://localhost:${port}/not-the-entry`]]);
  } finally {
    await uninstall();
    for (const k of keys) if (before[k] === undefined) delete process.env[k];
    else process.env[k] = before[k];
  }
});

test('install() without the local proxy, then install({ localProxy: true }): a typed error, nothing changed', async () => {
  install({ env: {} });
  try {
    const had = process.env.HTTPS_PROXY;
    await assert.rejects(install({ localProxy: true }), { code: 'ERR_JAATO_INVALID_OPTION', message: /^localProxy: install\(\) already ran/ });
    assert.equal(process.env.HTTPS_PROXY, had);
  } finally {
    await uninstall();
  }
});

// A Node program that knows nothing of jaato-proxy: Azure's inference client and axios with no wiring
// (both read HTTPS_PROXY and route themselves), then a child curl and a child git clone whose Kerberos
// cache does not exist, so no Kerberos of their own can be involved.
const PROGRAM = `
import { spawn } from 'node:child_process';
import axios from 'axios';
import ModelClient from '@azure-rest/ai-inference';
import { AzureKeyCredential } from '@azure/core-auth';
const [origin, ca, cloneDir, mode, httpOrigin] = process.argv.slice(2);
const out = { proxy: process.env.HTTPS_PROXY, kerberosFlag: process.env.JAATO_KERBEROS_PROXY ?? null };
const client = ModelClient(origin, new AzureKeyCredential('github-token'), { retryOptions: { maxRetries: 0 } });
const res = await client.path('/chat/completions').post({ body: { model: 'openai/gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] } });
out.azure = { status: res.status, content: res.body?.choices?.[0]?.message?.content ?? null, leaked: res.body?.seen?.proxyAuthorization ?? null };
const a = await axios.get(origin + '/from-axios', { validateStatus: () => true });
out.axios = { status: a.status, tls: a.data?.tls ?? null, leaked: a.data?.headers?.['proxy-authorization'] ?? null };
if (mode === 'children') {
  const env = { ...process.env, KRB5CCNAME: 'FILE:/nonexistent/no-ticket', GIT_TERMINAL_PROMPT: '0' };
  const run = (cmd, args, more = {}) => new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...env, ...more } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  out.curl = await run('curl', ['-sS', '--cacert', ca, origin + '/from-curl']);
  out.git = await run('git', ['-c', 'http.sslCAInfo=' + ca, 'clone', '-q', origin + '/git/demo.git', cloneDir]);
  // A Node child that runs jaato-proxy itself inherits JAATO_LOCAL_PROXY: it uses the parent's local proxy.
  const child = 'import { installed } from "jaato-proxy"; const r = await fetch(process.argv[1] + "/from-node-child"); const e = await r.json(); console.log(JSON.stringify({ status: r.status, own: installed()?.localProxy ?? null, via: e.headers.via ?? null }))';
  // Over http, so both proxies' Via entries show on the echo (a tunnel carries none).
  out.node = await run(process.execPath, ['--input-type=module', '-e', child, httpOrigin], { NODE_OPTIONS: '--import jaato-proxy/register' });
  out.explain = await run(process.execPath, ['dist/cli/main.js', 'explain', origin]);
}
console.log(JSON.stringify(out));
`;

interface ProgramOutput {
  proxy: string;
  kerberosFlag: string | null;
  azure: { status: string; content: string | null; leaked: string | null };
  axios: { status: number; tls: boolean | null; leaked: string | null };
  curl?: { code: number; stdout: string; stderr: string };
  git?: { code: number; stdout: string; stderr: string };
  node?: { code: number; stdout: string; stderr: string };
  explain?: { code: number; stdout: string; stderr: string };
}

let served = false;

async function runProgram(lab: Lab, mode: 'children' | 'bare', extraEnv: Record<string, string>): Promise<{ out: ProgramOutput; stderr: string; cloneDir: string }> {
  if (!served) {
    mountGitHubModels(lab.origins.https);
    await createBareRepo(join(lab.dir, 'git'), 'demo', { 'README.md': 'hello through the safety net\n' });
    lab.origins.https.mount('/git/', gitHttpBackend(join(lab.dir, 'git'), '/git'));
    served = true;
  }
  const program = join(ROOT, '.test-build', 'local-proxy-net-program.mjs'); // inside the project, so it resolves the SDKs
  writeFileSync(program, PROGRAM);
  const ca = join(lab.dir, 'ca.pem');
  writeFileSync(ca, lab.ca);
  const cloneDir = join(lab.dir, `clone-${mode}-${Date.now()}`);
  mkdirSync(join(lab.dir, 'home'), { recursive: true });
  const env = { PATH: process.env.PATH, HOME: join(lab.dir, 'home'), ...lab.env, HTTPS_PROXY: lab.proxies.negotiate, HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true', NODE_EXTRA_CA_CERTS: ca, ...extraEnv };
  // The timeout is the proof that the local proxy does not keep the program alive (it never calls uninstall()).
  // By name: https-proxy-agent (Azure's and axios' tunnels) sets an IP literal as TLS servername, which Node 26 refuses.
  const origin = `https://localhost:${lab.origins.https.port}`;
  const { stdout, stderr } = await execFileP(process.execPath, ['--import', 'jaato-proxy/register', program, origin, ca, cloneDir, mode, lab.origins.http.url], { cwd: ROOT, env, timeout: 60_000 }).catch(
    (e: { code?: number; signal?: string; stdout?: string; stderr?: string }) => assert.fail(`the program failed (exit ${String(e.code)}, signal ${String(e.signal)}): ${e.stdout ?? ''}\n${e.stderr ?? ''}`),
  );
  return { out: JSON.parse(stdout) as ProgramOutput, stderr, cloneDir };
}

test('JAATO_LOCAL_PROXY=true: Azure inference and axios with no wiring, a child curl, git clone and jaato-proxy Node program, all authenticated at Squid', async () => {
  const lab = ctx.lab;
  const from = await quietLogLength(lab);
  const { out, stderr, cloneDir } = await runProgram(lab, 'children', { JAATO_LOCAL_PROXY: 'true', NODE_DEBUG: 'jaato-proxy' });
  assert.match(out.proxy, /^http:\/\/jaato:[0-9a-f]{32}@127\.0\.0\.1:\d+$/, 'the program saw HTTPS_PROXY pointed at the local proxy');
  assert.doesNotMatch(stderr, new RegExp(new URL(out.proxy).password), 'the credential is never logged');
  assert.equal(out.kerberosFlag, null);
  assert.deepEqual(out.azure, { status: '200', content: STAND_IN_REPLY, leaked: null });
  assert.deepEqual(out.axios, { status: 200, tls: true, leaked: null });
  assert.equal(out.curl?.code, 0, out.curl?.stderr);
  assert.equal((JSON.parse(out.curl.stdout) as { url: string }).url, '/from-curl');
  assert.equal(out.git?.code, 0, out.git?.stderr);
  assert.equal(readFileSync(join(cloneDir, 'README.md'), 'utf8'), 'hello through the safety net\n');
  assert.equal(out.node?.code, 0, out.node?.stderr);
  const node = JSON.parse(out.node.stdout) as { status: number; own: unknown; via: string | null };
  assert.deepEqual([node.status, node.own], [200, null], 'the Node child started no local proxy of its own');
  assert.match(String(node.via), /jaato-proxy-[0-9a-f]+.*squid|squid.*jaato-proxy-[0-9a-f]+/, `through the parent's local proxy and Squid (via: ${String(node.via)})`);
  assert.match(out.explain?.stdout ?? '', /note: +the in-process local proxy of a program run with JAATO_LOCAL_PROXY/);
  // Azure, axios, curl and at least one git connection: each a CONNECT Squid authenticated as the lab
  // user; the Node child's http request forwarded, authenticated too.
  const mine = await logSince(lab, from, 5);
  assert.ok(mine.length >= 5, `expected at least 5 entries, got ${JSON.stringify(mine)}`);
  const origin = `localhost:${lab.origins.https.port}`;
  const forwarded = mine.filter((e) => e.method !== 'CONNECT');
  assert.deepEqual(forwarded.map((e) => [e.method, e.status, e.user, e.url]), [['GET', 200, lab.principal, `${lab.origins.http.url}/from-node-child`]]);
  for (const e of mine.filter((e) => e.method === 'CONNECT')) assert.deepEqual([e.status, e.user, e.url], [200, lab.principal, origin]);
  // The debug channel says what changed.
  assert.match(stderr, /local proxy http:\/\/\*{4}:\*{4}@127\.0\.0\.1:\d+\/ started on a worker thread .*set HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy, JAATO_LOCAL_PROXY_URL; removed JAATO_KERBEROS_PROXY/);
});

test('without JAATO_LOCAL_PROXY the same program: Azure and axios are covered by the flag alone (Azure\'s own agent names the very proxy our configuration picks)', async () => {
  const lab = ctx.lab;
  const { out } = await runProgram(lab, 'bare', {});
  assert.equal(out.proxy, lab.proxies.negotiate);
  assert.equal(out.azure.status, '200', 'register gave Azure\'s own proxy agent our route and Negotiate');
  assert.equal(out.axios.status, 200, 'register took axios off its own proxy handling');
});

test('a bad JAATO_LOCAL_PROXY stops --import jaato-proxy/register with the typed error naming it; --require says to use --import', async () => {
  const env = { PATH: process.env.PATH, JAATO_LOCAL_PROXY: 'sure' };
  await assert.rejects(execFileP(process.execPath, ['--import', 'jaato-proxy/register', '-e', '0'], { cwd: ROOT, env }), (e: { stderr: string }) =>
    /ERR_JAATO_INVALID_OPTION/.test(e.stderr) && /JAATO_LOCAL_PROXY: "sure"/.test(e.stderr));
  await assert.rejects(execFileP(process.execPath, ['--require', 'jaato-proxy/register', '-e', '0'], { cwd: ROOT, env: { ...env, JAATO_LOCAL_PROXY: 'true' } }), (e: { stderr: string }) =>
    /JAATO_LOCAL_PROXY: the in-process local proxy needs `node --import jaato-proxy\/register`/.test(e.stderr));
  assert.ok(existsSync(join(ROOT, 'dist', 'install', 'register-require.js')));
});

test('install({ localProxy: true, env: process.env }): the live environment is copied, so fetch still goes to Squid, not round to the local proxy', async () => {
  const lab = ctx.lab;
  await withEnv({ HTTPS_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' }, async () => {
    await install({ localProxy: true, ca: lab.ca, env: process.env });
    assert.match(process.env.HTTPS_PROXY ?? '', /@127\.0\.0\.1:/, 'the variables name the local proxy');
    const from = await quietLogLength(lab);
    const res = await fetch(`${lab.origins.https.url}/live-env`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await uninstall();
    const mine = await logSince(lab, from, 1);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
  });
});

test('the local proxy serves only clients that send the credential of its URL: none or a wrong one is a 407 with a Basic challenge', async () => {
  const lab = ctx.lab;
  await withEnv({ HTTPS_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' }, async () => {
    await install({ localProxy: true, ca: lab.ca });
    const local = process.env.HTTPS_PROXY ?? assert.fail('no local proxy');
    const target = `localhost:${lab.origins.https.port}`;
    for (const auth of [undefined, 'Basic ' + Buffer.from('jaato:wrong').toString('base64')]) {
      const answer = await rawConnect(local, auth, target);
      assert.match(answer, /^HTTP\/1\.1 407 /, String(auth));
      assert.match(answer, /proxy-authenticate: Basic realm="jaato-proxy local proxy"/i);
      assert.ok(!answer.includes(new URL(local).password), 'the 407 does not carry the credential');
    }
    assert.match(await rawConnect(local, basicFrom(local), target), /^HTTP\/1\.1 200 /);
    const upgrade = await rawHead(local, `GET ${lab.origins.http.url}/ws HTTP/1.1\r\nHost: ${new URL(lab.origins.http.url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    assert.match(upgrade, /^HTTP\/1\.1 407 /, 'an Upgrade (ws://) without the credential');
    const refused = await execFileP('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', `http://127.0.0.1:${new URL(local).port}`, `${lab.origins.http.url}/no-credential`]);
    assert.equal(refused.stdout, '407', 'a forwarded request without the credential');
  });
});

test('Installation.localProxy shows no credential: the URL redacted, changes as variable and action only; ALL_PROXY and JAATO_KERBEROS_SPN removed, then restored', async () => {
  const lab = ctx.lab;
  const upstream = new URL(lab.proxies.negotiate);
  const withPassword = `http://someone:hunter2@${upstream.host}`;
  await withEnv({ HTTPS_PROXY: lab.proxies.negotiate, ALL_PROXY: withPassword, all_proxy: withPassword, JAATO_KERBEROS_PROXY: 'true', JAATO_KERBEROS_SPN: `HTTP@${upstream.hostname}` }, async () => {
    const installation = await install({ localProxy: true, ca: lab.ca });
    const shown = JSON.stringify(installation.localProxy);
    assert.ok(!shown.includes('hunter2'), shown);
    assert.ok(!shown.includes(new URL(process.env.HTTPS_PROXY ?? '').password), 'nor the local credential');
    assert.deepEqual(installation.localProxy?.changes, [
      { variable: 'HTTP_PROXY', action: 'set' },
      { variable: 'HTTPS_PROXY', action: 'set' },
      { variable: 'http_proxy', action: 'set' },
      { variable: 'https_proxy', action: 'set' },
      { variable: 'JAATO_LOCAL_PROXY_URL', action: 'set' },
      { variable: 'JAATO_KERBEROS_PROXY', action: 'removed' },
      { variable: 'JAATO_KERBEROS_SPN', action: 'removed' },
      { variable: 'ALL_PROXY', action: 'removed' },
      { variable: 'all_proxy', action: 'removed' },
    ]);
    for (const k of ['ALL_PROXY', 'all_proxy', 'JAATO_KERBEROS_SPN']) assert.equal(process.env[k], undefined, k);
    await uninstall();
    assert.deepEqual([process.env.ALL_PROXY, process.env.all_proxy, process.env.JAATO_KERBEROS_SPN], [withPassword, withPassword, `HTTP@${upstream.hostname}`]);
  });
});

// The origin runs in a process of its own: the lab's origins live on this thread, which execSync blocks.
// It ends when its stdin does, so it cannot outlive this process (killed or crashed) and hold the test
// runner's stderr open: the runner then waited forever for the file's end (seen after a crash in CI).
const SEPARATE_ORIGIN = `process.stdin.on('end', () => process.exit()).resume(); require('node:http').createServer((q, s) => s.end(JSON.stringify({ url: q.url, via: q.headers.via ?? null }))).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

test('a child started with execSync is served while the main thread waits for it (the local proxy has a thread of its own)', async () => {
  const lab = ctx.lab;
  const origin = spawn(process.execPath, ['-e', SEPARATE_ORIGIN], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(origin.stdout, 'data')) as [Buffer];
    const url = `http://127.0.0.1:${line.toString().trim()}/exec-sync`;
    await withEnv({ HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' }, async () => {
      await install({ localProxy: true });
      const from = await quietLogLength(lab);
      // -m only bounds a deadlock (the bug this guards against) so the test fails instead of hanging.
      const out = JSON.parse(execSync(`curl -sS -m 30 ${url}`, { env: process.env, encoding: 'utf8' })) as { url: string; via: string | null };
      assert.equal(out.url, '/exec-sync');
      assert.match(String(out.via), /jaato-proxy-[0-9a-f]+.*squid/, `through the local proxy, then Squid (via: ${String(out.via)})`);
      const mine = await logSince(lab, from, 1);
      assert.deepEqual(mine.map((e) => [e.method, e.status, e.user, e.url]), [['GET', 200, lab.principal, url]]);
    });
  } finally {
    origin.kill();
  }
});

test('uninstall() lets the local proxy\'s thread end by itself after it made Kerberos tokens: never terminated under running JavaScript', async () => {
  // Terminating the thread while it still ran JavaScript (its last finalizers releasing GSSAPI
  // contexts) crashed the process now and then: Node-API refused koffi's argument conversion and the
  // library got an uninitialized handle (SIGBUS).
  const lab = ctx.lab;
  const lines: string[] = [];
  const listen = (m: unknown): void => void lines.push((m as { message: string }).message);
  await withEnv({ HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' }, async () => {
    await install({ localProxy: true });
    for (let i = 0; i < 3; i++) {
      const { stdout } = await execFileP('curl', ['-sS', '-m', '30', '-H', 'Connection: close', `${lab.origins.http.url}/thread-end-${i}`], { env: process.env });
      assert.equal((JSON.parse(stdout) as EchoReply).url, `/thread-end-${i}`);
    }
    debugChannel.subscribe(listen);
    try {
      await uninstall();
    } finally {
      debugChannel.unsubscribe(listen);
    }
  });
  assert.ok(lines.some((l) => l === 'local proxy thread ended by itself (exit code 0)'), lines.join('\n'));
});

test('uninstall() during a CONNECT still waiting for the upstream: it settles, the globals go back, and no tunnel opens afterwards', { timeout: 30_000 }, async () => {
  let answer: (() => void) | undefined;
  let arrived: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const upstream = await scriptedProxy((head, socket) => {
    if (!head.startsWith('CONNECT ')) return;
    answer = () => socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    arrived();
  });
  try {
    await withEnv({ HTTPS_PROXY: upstream.url }, async () => {
      await install({ localProxy: true });
      const local = process.env.HTTPS_PROXY ?? assert.fail('no local proxy');
      const client = rawConnect(local, basicFrom(local), 'example.com:443');
      await reached;
      await uninstall(); // before the fix: never settles
      assert.equal(installed(), undefined);
      assert.equal(process.env.HTTPS_PROXY, upstream.url);
      answer?.();
      assert.equal(await client, '', 'the client was closed, never told the tunnel is open');
    });
  } finally {
    await upstream.close();
  }
});

test('with no proxy configured, install({ localProxy: true }) starts nothing and changes nothing', async () => {
  await withEnv({}, async () => {
    const before = { ...process.env };
    const installation = await install({ localProxy: true });
    assert.equal(installation.localProxy, undefined);
    assert.deepEqual({ ...process.env }, before);
  });
});

test('concurrent install({ localProxy: true }) calls share one start; install() meanwhile is a typed error', async () => {
  const lab = ctx.lab;
  await withEnv({ HTTPS_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' }, async () => {
    const first = install({ localProxy: true, ca: lab.ca });
    const second = install({ localProxy: true, ca: lab.ca });
    assert.throws(() => install(), { code: 'ERR_JAATO_INVALID_OPTION', message: /still starting: await it/ });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a, b);
    assert.equal(installed(), a);
  });
});

test('a failure installing the globals after the local proxy started stops it and puts the variables back', async () => {
  const lab = ctx.lab;
  await withEnv({ HTTPS_PROXY: lab.proxies.negotiate }, async () => {
    const before = { ...process.env };
    const lines: string[] = [];
    const listen = (m: unknown): void => void lines.push((m as { message: string }).message);
    debugChannel.subscribe(listen);
    try {
      // An option Node's http.Agent refuses and the local proxy's dispatcher ignores: only the global agents fail.
      await assert.rejects(install({ localProxy: true, scheduling: 'sideways' } as InstallOptions & { localProxy: true }), { code: 'ERR_INVALID_ARG_VALUE' });
    } finally {
      debugChannel.unsubscribe(listen);
    }
    assert.deepEqual({ ...process.env }, before);
    assert.equal(installed(), undefined);
    assert.ok(lines.some((l) => /local proxy http:\/\/\*{4}:\*{4}@127\.0\.0\.1:\d+\/ stopped/.test(l)), lines.join('\n'));
  });
});

test('an option that cannot reach the local proxy’s thread is a typed error naming localProxy; nothing is changed', async () => {
  await withEnv({ HTTPS_PROXY: 'http://proxy.invalid:3128' }, async () => {
    const before = { ...process.env };
    await assert.rejects(install({ localProxy: true, proxyTls: { secureContext: createSecureContext() } }), (e: unknown) =>
      e instanceof InvalidOptionError && e.option === 'localProxy' && /cannot be passed to the local proxy's thread/.test(e.message));
    assert.deepEqual({ ...process.env }, before);
    assert.equal(installed(), undefined);
  });
});

test('with only JAATO_PAC_URL the net starts and follows the PAC; children get no JAATO_PAC_URL (they would go round the local proxy)', async () => {
  const lab = ctx.lab;
  const squid = new URL(lab.proxies.negotiate).port;
  lab.origins.http.mount('/net.pac', (req, res) => {
    req.resume();
    res.writeHead(200).end(`function FindProxyForURL(url, host) { return 'PROXY localhost:${squid}'; }`);
  });
  const pacUrl = `${lab.origins.http.url}/net.pac`;
  const ca = join(lab.dir, 'ca-pac-net.pem');
  writeFileSync(ca, lab.ca);
  await withEnv({ JAATO_PAC_URL: pacUrl, JAATO_KERBEROS_PROXY: 'true' }, async () => {
    const installation = await install({ localProxy: true, ca: lab.ca });
    assert.ok(installation.localProxy, 'started for the PAC alone');
    assert.equal(process.env.JAATO_PAC_URL, undefined);
    assert.ok(installation.localProxy.changes.some((c) => c.variable === 'JAATO_PAC_URL' && c.action === 'removed'));
    const from = await quietLogLength(lab);
    const out = await execFileP('curl', ['-sS', '--cacert', ca, `https://localhost:${lab.origins.https.port}/pac-net`], { env: process.env });
    assert.equal((JSON.parse(out.stdout) as EchoReply).url, '/pac-net');
    const mine = await logSince(lab, from, 1);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
    await uninstall();
    assert.equal(process.env.JAATO_PAC_URL, pacUrl);
  });
});
