import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidOptionError, install, uninstall } from '../../src/index.js';
import { localProxyRequested, netChanges } from '../../src/adapters/local-proxy-net.js';
import { createBareRepo, gitHttpBackend } from '../../src/lab/git-http.js';
import type { Lab } from '../../src/lab/lab.js';
import type { EchoReply } from '../../src/lab/origin.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { mountGitHubModels, STAND_IN_REPLY } from '../sdk/github-models-stand-in.js';

const ctx = useLab();
const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // .test-build/test/adapters → project root

test('JAATO_LOCAL_PROXY: true/1/yes on, false/0/no/unset off, anything else a typed error naming it', () => {
  for (const v of ['true', '1', 'yes', 'TRUE']) assert.equal(localProxyRequested({ JAATO_LOCAL_PROXY: v }), true);
  for (const v of [undefined, '', 'false', '0', 'no']) assert.equal(localProxyRequested({ JAATO_LOCAL_PROXY: v }), false);
  assert.throws(() => localProxyRequested({ JAATO_LOCAL_PROXY: 'maybe' }), (e: unknown) => e instanceof InvalidOptionError && e.code === 'ERR_JAATO_INVALID_OPTION' && /^JAATO_LOCAL_PROXY: "maybe"/.test(e.message));
});

test('the children get the four proxy spellings pointed at the local proxy, and no upstream auth settings', () => {
  const env = { HTTPS_PROXY: 'http://u:p@proxy.corp:3128', JAATO_KERBEROS_PROXY: 'true', JAATO_NO_PROXY: 'github.com', NO_PROXY: '.corp' };
  const changes = netChanges(env, 'http://127.0.0.1:4000');
  assert.deepEqual(changes, [
    { variable: 'HTTP_PROXY', before: undefined, after: 'http://127.0.0.1:4000' },
    { variable: 'HTTPS_PROXY', before: 'http://u:p@proxy.corp:3128', after: 'http://127.0.0.1:4000' },
    { variable: 'http_proxy', before: undefined, after: 'http://127.0.0.1:4000' },
    { variable: 'https_proxy', before: undefined, after: 'http://127.0.0.1:4000' },
    { variable: 'JAATO_LOCAL_PROXY_URL', before: undefined, after: 'http://127.0.0.1:4000' },
    { variable: 'JAATO_KERBEROS_PROXY', before: 'true', after: undefined },
  ]);
});

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
    const local = installation.localProxy?.url ?? assert.fail('no local proxy');
    assert.match(local, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) assert.equal(process.env[k], local, k);
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
const [origin, ca, cloneDir, mode] = process.argv.slice(2);
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
  const child = 'const r = await fetch(process.argv[1] + "/from-node-child"); console.log(r.status)';
  out.node = await run(process.execPath, ['--input-type=module', '-e', child, origin], { NODE_OPTIONS: '--import jaato-proxy/register' });
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
  const { stdout, stderr } = await execFileP(process.execPath, ['--import', 'jaato-proxy/register', program, origin, ca, cloneDir, mode], { cwd: ROOT, env, timeout: 60_000 });
  return { out: JSON.parse(stdout) as ProgramOutput, stderr, cloneDir };
}

test('JAATO_LOCAL_PROXY=true: Azure inference and axios with no wiring, a child curl, git clone and jaato-proxy Node program, all authenticated at Squid', async () => {
  const lab = ctx.lab;
  const from = await quietLogLength(lab);
  const { out, stderr, cloneDir } = await runProgram(lab, 'children', { JAATO_LOCAL_PROXY: 'true', NODE_DEBUG: 'jaato-proxy' });
  assert.match(out.proxy, /^http:\/\/127\.0\.0\.1:\d+$/, 'the program saw HTTPS_PROXY pointed at the local proxy');
  assert.equal(out.kerberosFlag, null);
  assert.deepEqual(out.azure, { status: '200', content: STAND_IN_REPLY, leaked: null });
  assert.deepEqual(out.axios, { status: 200, tls: true, leaked: null });
  assert.equal(out.curl?.code, 0, out.curl?.stderr);
  assert.equal((JSON.parse(out.curl.stdout) as { url: string }).url, '/from-curl');
  assert.equal(out.git?.code, 0, out.git?.stderr);
  assert.equal(readFileSync(join(cloneDir, 'README.md'), 'utf8'), 'hello through the safety net\n');
  assert.deepEqual([out.node?.code, out.node?.stdout.trim()], [0, '200'], out.node?.stderr);
  assert.match(out.explain?.stdout ?? '', /note: +the in-process local proxy of a program run with JAATO_LOCAL_PROXY/);
  // Azure, axios, curl, the Node child and at least one git connection: every one a CONNECT Squid authenticated as the lab user.
  const mine = await logSince(lab, from, 5);
  assert.ok(mine.length >= 5, `expected at least 4 entries, got ${JSON.stringify(mine)}`);
  const origin = `localhost:${lab.origins.https.port}`;
  for (const e of mine) assert.deepEqual([e.method, e.status, e.user, e.url], ['CONNECT', 200, lab.principal, origin]);
  // The debug channel says what changed.
  assert.match(stderr, /local proxy http:\/\/127\.0\.0\.1:\d+ started in this process .*set HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy, JAATO_LOCAL_PROXY_URL; removed JAATO_KERBEROS_PROXY/);
});

test('without JAATO_LOCAL_PROXY the same program meets the 407 (Azure and axios route themselves)', async () => {
  const lab = ctx.lab;
  const { out } = await runProgram(lab, 'bare', {});
  assert.equal(out.proxy, lab.proxies.negotiate);
  assert.equal(out.azure.status, '407');
  assert.equal(out.axios.status, 407);
});

test('a bad JAATO_LOCAL_PROXY stops --import jaato-proxy/register with the typed error naming it; --require says to use --import', async () => {
  const env = { PATH: process.env.PATH, JAATO_LOCAL_PROXY: 'sure' };
  await assert.rejects(execFileP(process.execPath, ['--import', 'jaato-proxy/register', '-e', '0'], { cwd: ROOT, env }), (e: { stderr: string }) =>
    /ERR_JAATO_INVALID_OPTION/.test(e.stderr) && /JAATO_LOCAL_PROXY: "sure"/.test(e.stderr));
  await assert.rejects(execFileP(process.execPath, ['--require', 'jaato-proxy/register', '-e', '0'], { cwd: ROOT, env: { ...env, JAATO_LOCAL_PROXY: 'true' } }), (e: { stderr: string }) =>
    /JAATO_LOCAL_PROXY: the in-process local proxy needs `node --import jaato-proxy\/register`/.test(e.stderr));
  assert.ok(existsSync(join(ROOT, 'dist', 'register-require.js')));
});
