// serve lends the user's Kerberos identity to no other local account: the CLI as a user starts it,
// another account (`nobody`, through setpriv) pointing curl at it gets 407 and Squid never sees its
// request; the owner's tools, with the settings serve printed (or the file it wrote), get through and
// Squid's log names the owner. `--allow-any-local-user` is the explicit way back to the open mode.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import type { EchoReply } from '../../lab/origin.js';
import { createAgents } from '../../src/adapters/node/agents.js';
import { createFetch } from '../../src/adapters/fetch.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { curl, doctorJson, doctorLine, exited, labEnv, startCli, type Result } from './helpers.js';

const ctx = useLab();
const READY = /export HTTPS_PROXY=(http:\/\/jaato:[0-9a-f]{32}@127\.0\.0\.1:(\d+))\n/;
const NOBODY = 65534;

/** Runs `command` as the account `nobody` (setpriv needs root; else passwordless sudo). */
function asNobody(command: string[]): Promise<Result> {
  const root = process.getuid?.() === 0;
  const setpriv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...command];
  const [file, ...args] = root ? setpriv : ['sudo', '-n', ...setpriv];
  return new Promise((resolve) => {
    execFile(file as string, args, { env: { PATH: process.env.PATH }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  // No skip: a machine where this cannot run fails here, saying why.
  const probe = await asNobody(['id', '-u']);
  if (probe.code !== 0 || probe.stdout.trim() !== String(NOBODY)) {
    throw new Error(`cannot run a command as another local account (nobody): this test needs root or passwordless sudo, and setpriv (Debian package util-linux): ${probe.stderr}`);
  }
});

let stop: Array<() => void> = [];
after(() => {
  for (const s of stop) s();
  stop = [];
});

test('serve by default: another local account gets 407 and reaches nothing upstream; the owner with the printed settings gets 200 as itself', async () => {
  const lab = ctx.lab;
  const ca = join(lab.dir, 'client-auth-ca.pem');
  writeFileSync(ca, lab.ca, { mode: 0o644 });
  const { child, match, output } = await startCli(['serve', '--port', '0'], labEnv(lab, { XDG_RUNTIME_DIR: lab.dir }), READY);
  stop.push(() => child.kill('SIGKILL'));
  const url = match[1] as string;
  const port = match[2] as string;
  const bare = `http://127.0.0.1:${port}`;
  const file = join(lab.dir, 'jaato-proxy', `serve-${port}.env`);

  // The settings: printed, and in a file only the owner can read, in a directory only the owner can enter.
  assert.match(output(), /client auth: required/);
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) assert.ok(output().includes(`export ${name}=${url}\n`), name);
  assert.match(output(), /export NO_PROXY=localhost,127\.0\.0\.1,::1\n/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
  assert.ok(readFileSync(file, 'utf8').includes(`export HTTPS_PROXY=${url}\n`));

  const from = await quietLogLength(lab);
  // Another account: no credential, a guessed one, plain and CONNECT. Nor can it read the file.
  const plain = await asNobody(['curl', '-sS', '-D', '-', '-o', '/dev/null', '-x', bare, `${lab.origins.http.url}/stolen`]);
  assert.match(plain.stdout, /^HTTP\/1\.1 407 /);
  assert.match(plain.stdout, /\r\nproxy-authenticate: Basic realm="jaato-proxy serve"\r\n/i);
  const guessed = await asNobody(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', `http://jaato:${'0'.repeat(32)}@127.0.0.1:${port}`, `${lab.origins.http.url}/stolen`]);
  assert.equal(guessed.stdout, '407');
  const tunnel = await asNobody(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_connect}', '--cacert', ca, '-x', bare, `${lab.origins.https.url}/stolen`]);
  assert.equal(tunnel.stdout, '407');
  const read = await asNobody(['cat', file]);
  assert.notEqual(read.code, 0, 'nobody read the settings file');
  assert.match(read.stderr, /Permission denied/);
  assert.deepEqual(await logSince(lab, from, 1), [], "another account's requests reached Squid");

  // The owner: a shell that sourced the file (curl), the library's fetch and agents given the URL. The
  // lab's origins are on loopback, which the printed NO_PROXY rightly sends direct: unset here.
  const shell = await new Promise<Result>((resolve) => {
    execFile('sh', ['-c', `. "${file}" && unset NO_PROXY no_proxy && curl -sS --cacert "${ca}" "${lab.origins.https.url}/owner-tls" && echo && curl -sS "${lab.origins.http.url}/owner-plain"`], { env: { PATH: process.env.PATH }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stdout, stderr }),
    );
  });
  assert.equal(shell.code, 0, shell.stderr);
  const [tls, forwarded] = shell.stdout.trim().split('\n').map((l) => JSON.parse(l) as EchoReply);
  assert.equal(tls?.tls, true);
  assert.equal(forwarded?.url, '/owner-plain');
  const env = { HTTPS_PROXY: url, HTTP_PROXY: url };
  const viaFetch = await createFetch({ env })(`${lab.origins.http.url}/owner-fetch`);
  assert.equal(viaFetch.status, 200);
  const echoed = (await viaFetch.json()) as EchoReply;
  const agents = createAgents({ env });
  const viaAgent = await new Promise<EchoReply>((resolve, reject) => {
    get(`${lab.origins.http.url}/owner-agent`, { agent: agents.http }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString())).on('end', () => resolve(JSON.parse(body) as EchoReply));
    }).on('error', reject);
  });
  agents.http.destroy();
  assert.equal(viaAgent.url, '/owner-agent');
  // serve's credential is for serve alone: the origin never sees it.
  for (const reply of [forwarded, echoed, viaAgent]) assert.equal(reply?.headers['proxy-authorization'], undefined);
  const upstream = await logSince(lab, from, 4);
  assert.equal(upstream.length, 4, JSON.stringify(upstream));
  assert.ok(upstream.every((e) => e.status === 200 && e.user === lab.principal), JSON.stringify(upstream));

  // doctor says which mode is in force, and whether the URL's credential is this run's.
  const doctorEnv = (proxy: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: proxy, HTTP_PROXY: proxy });
  const good = doctorLine((await doctorJson(doctorEnv(url), [`${lab.origins.http.url}/doctor`])).report, 'serve client auth');
  assert.equal(good.status, 'ok', good.detail);
  assert.match(good.detail, /requires its per-run client credential \(other local accounts get 407\); the one in HTTPS_PROXY is accepted/);
  const none = doctorLine((await doctorJson(doctorEnv(bare), [`${lab.origins.http.url}/doctor`])).report, 'serve client auth');
  assert.equal(none.status, 'fail', none.detail);
  assert.match(String(none.remedy), /export lines serve printed/);
  const stale = new URL(url);
  stale.password = 'f'.repeat(32);
  const old = doctorLine((await doctorJson(doctorEnv(stale.href), [`${lab.origins.http.url}/doctor`])).report, 'serve client auth');
  assert.equal(old.status, 'fail', old.detail);
  assert.match(old.detail, /refuses the credential in HTTPS_PROXY: serve makes a new one each run/);

  // SIGTERM: the settings file goes with the run.
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0);
  assert.equal(existsSync(file), false, 'the settings file outlived serve');
});

test('serve --allow-any-local-user: says so, and serves another account without a credential (the explicit single-user mode)', async () => {
  const lab = ctx.lab;
  const { child, match, output, errors } = await startCli(['serve', '--port', '0', '--allow-any-local-user'], labEnv(lab, { XDG_RUNTIME_DIR: lab.dir }), /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  stop.push(() => child.kill('SIGKILL'));
  const local = match[1] as string;
  for (const deadline = Date.now() + 3000; !/client auth: none/.test(output()) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  assert.match(output(), /client auth: none \(--allow-any-local-user\)/);
  assert.doesNotMatch(output(), /export /);
  assert.match(errors(), /WARNING: --allow-any-local-user: no client credential; every account on this machine can use your proxy identity/);
  const from = await quietLogLength(lab);
  const other = await asNobody(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', local, `${lab.origins.http.url}/open-mode`]);
  assert.equal(other.stdout, '200');
  const upstream = await logSince(lab, from, 1);
  assert.equal(upstream[0]?.user, lab.principal, 'in this mode the other account is the owner upstream: why it is not the default');
  const line = doctorLine((await doctorJson({ PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: local, HTTP_PROXY: local }, [`${lab.origins.http.url}/doctor`])).report, 'serve client auth');
  assert.equal(line.status, 'warn', line.detail);
  assert.match(line.detail, /asks no client credential \(--allow-any-local-user\): every account on this machine can use your proxy identity/);
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0);
});

test('serve: a wrong credential gets 407; a client --allow admits needs the credential too', async () => {
  const lab = ctx.lab;
  const { child, match } = await startCli(['serve', '--port', '0', '--allow', '127.0.0.2'], labEnv(lab, { XDG_RUNTIME_DIR: lab.dir }), READY);
  stop.push(() => child.kill('SIGKILL'));
  const url = new URL(match[1] as string);
  const wrong = new URL(url);
  wrong.password = `${url.password.slice(0, -1)}${url.password.endsWith('0') ? '1' : '0'}`;
  const code = async (proxy: string, extra: string[] = []): Promise<string> => (await curl([...extra, '-o', '/dev/null', '-w', '%{http_code}', '-x', proxy, `${lab.origins.http.url}/allowed`])).stdout;
  assert.equal(await code(wrong.href), '407');
  assert.equal(await code(`http://127.0.0.1:${match[2]}`, ['--interface', '127.0.0.2']), '407', 'an --allow client without the credential');
  assert.equal(await code(url.href, ['--interface', '127.0.0.2']), '200', 'an --allow client with it');
  child.kill('SIGTERM');
  await exited(child);
});
