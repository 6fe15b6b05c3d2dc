// serve cannot loop, and never hands its clients a 407: the CLI spawned as a user would run it, against
// the real lab (Squid, KDC) where an upstream is needed and a plain TCP relay where a loop is needed.
import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { logSince, useLab } from '../helpers/lab.js';
import { curl, labEnv, proxyAuthorization, runCli, SERVE_READY, startCli } from './helpers.js';

const ctx = useLab();
const READY = /listening on (http:\/\/(?:127\.0\.0\.1|0\.0\.0\.0|\[::\]):(\d+))/;
// serve's settings files go to a directory of this run (removed at exit), not the shared one.
const runtime = mkdtempSync(join(tmpdir(), 'serve-guards-'));
after(() => rmSync(runtime, { recursive: true, force: true }));
const BARE = { PATH: process.env.PATH, JAATO_KERBEROS_PROXY: 'false', XDG_RUNTIME_DIR: runtime };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Sends raw bytes to serve and returns what comes back before it closes (or after `ms`). */
function raw(port: number, text: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s: Socket = connect(port, '127.0.0.1', () => s.write(text));
    const timer = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('end', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', reject);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

const requestLines = (out: string, method: string): string[] => out.split('\n').filter((l) => l.includes(` ${method} `));

/**
 * Waits until the access log holds at least `n` lines of each method (a line is written when its
 * exchange ends, which can be just after the client has its answer), polled to a deadline.
 */
async function untilLogged(output: () => string, counts: Record<string, number>): Promise<void> {
  for (const deadline = Date.now() + 5000; Object.entries(counts).some(([m, n]) => requestLines(output(), m).length < n); ) {
    assert.ok(Date.now() < deadline, `the access log never had ${JSON.stringify(counts)}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---- B. No loop at start: the upstream, resolved, is compared with serve's own listening addresses ----

test('serve refuses at start an upstream that is itself, whatever the spelling, naming the variable or flag', async (t) => {
  const own = await lookup(hostname(), { all: true }).catch(() => []);
  const nonLoopback = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal)?.address;
  const rows: Array<{ name: string; args: string[]; env?: Record<string, string>; source: string }> = [
    { name: '[::ffff:127.0.0.1] (IPv4-mapped) in --proxy', args: ['--proxy', 'http://[::ffff:127.0.0.1]:PORT'], source: '-x/--proxy' },
    { name: '[::ffff:127.0.0.1] in HTTP_PROXY', args: [], env: { HTTP_PROXY: 'http://[::ffff:127.0.0.1]:PORT' }, source: 'HTTP_PROXY' },
    { name: '[0:0:0:0:0:ffff:7f00:1] in HTTPS_PROXY', args: [], env: { HTTPS_PROXY: 'http://[0:0:0:0:0:ffff:7f00:1]:PORT' }, source: 'HTTPS_PROXY' },
    { name: 'LOCALHOST. (case, trailing dot)', args: ['--proxy', 'http://LOCALHOST.:PORT'], source: '-x/--proxy' },
    { name: '127.0.0.2 under a 0.0.0.0 listener (all of 127/8 reaches it)', args: ['--host', '0.0.0.0', '--proxy', 'http://127.0.0.2:PORT'], source: '-x/--proxy' },
    { name: 'localhost', args: ['--proxy', 'http://localhost:PORT'], source: '-x/--proxy' },
    { name: '127.1', args: ['--proxy', 'http://127.1:PORT'], source: '-x/--proxy' },
    { name: '0x7f000001', args: ['--proxy', 'http://0x7f000001:PORT'], source: '-x/--proxy' },
    { name: '0 (this host)', args: ['--proxy', 'http://0:PORT'], source: '-x/--proxy' },
    { name: '[::1] under a :: listener', args: ['--host', '::', '--proxy', 'http://[::1]:PORT'], source: '-x/--proxy' },
  ];
  // This machine's own name, as a user would write it: under a wildcard listener it reaches serve
  // whatever address it resolves to; under the default 127.0.0.1 one when it resolves to loopback.
  if (own.length > 0) {
    rows.push({ name: `this host's name (${hostname()}) in HTTPS_PROXY, 0.0.0.0 listener`, args: ['--host', '0.0.0.0'], env: { HTTPS_PROXY: `http://${hostname()}:PORT` }, source: 'HTTPS_PROXY' });
    if (own.some((a) => a.address === '127.0.0.1')) {
      rows.push({ name: `this host's name (${hostname()}) in HTTPS_PROXY, default listener`, args: [], env: { HTTPS_PROXY: `http://${hostname()}:PORT` }, source: 'HTTPS_PROXY' });
    }
  }
  if (nonLoopback) rows.push({ name: `an interface address (${nonLoopback}) under a 0.0.0.0 listener`, args: ['--host', '0.0.0.0', '--proxy', `http://${nonLoopback}:PORT`], source: '-x/--proxy' });
  for (const row of rows) {
    await t.test(row.name, async () => {
      const port = String(await freePort());
      const env = Object.fromEntries(Object.entries(row.env ?? {}).map(([k, v]) => [k, v.replace('PORT', port)]));
      const r = await runCli(['serve', '--port', port, ...row.args.map((a) => a.replace('PORT', port))], { ...BARE, ...env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`^jaato-proxy: ${row.source}: points at this local proxy itself \\(.* reaches \\S+:${port}, where serve listens on `));
      assert.doesNotMatch(r.stdout, /listening on/);
    });
  }
  await t.test('control: the same host on another port is a valid upstream', async () => {
    const port = await freePort();
    const { child } = await startCli(['serve', '--port', String(port), '--proxy', `http://localhost:${port + 1}`], BARE, READY);
    await stop(child);
  });
});

// ---- B. No loop through another proxy: serve's Via mark, and CONNECT/absolute form to itself ----

test('a loop through another proxy (a relay back to serve) ends at the second pass with 508, for GET and CONNECT', async () => {
  const port = await freePort();
  let relayed = 0;
  const relay: Server = createServer((c) => {
    relayed++;
    const up = connect(port, '127.0.0.1');
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  // Without the client credential: the Via mark must stop a loop on its own (with one, serve's second
  // pass would refuse its own first pass with 407, and the mark would go untested).
  const { child, output } = await startCli(['serve', '--port', String(port), '--proxy', relayUrl, '--allow-any-local-user'], BARE, READY);
  try {
    const get = await curl(['-m', '10', '-o', '-', '-w', '\n%{http_code}', '-x', `http://127.0.0.1:${port}`, 'http://origin.test/loop']);
    assert.match(get.stdout, /loop detected: this request has already passed through this proxy[^\n]*\n\n508$/);
    const tunnel = await raw(port, 'CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n');
    assert.match(tunnel, /^HTTP\/1\.1 508 Loop Detected\r\n/);
    assert.match(tunnel, /508 Loop Detected/);
    await untilLogged(output, { GET: 2, CONNECT: 2 });
    // Two passes each: the first forwards (marked), the second sees its own mark and refuses.
    assert.equal(requestLines(output(), 'GET').length, 2, output());
    assert.equal(requestLines(output(), 'CONNECT').length, 2, output());
    assert.equal(relayed, 2);
  } finally {
    await stop(child);
    relay.close();
  }
});

test('CONNECT and absolute-form requests to serve itself are refused, whatever the spelling', async (t) => {
  // No upstream: a request to serve would go straight back into it.
  const { child, match, output } = await startCli(['serve', '--port', '0'], BARE, SERVE_READY);
  const port = Number(match[2]);
  const auth = proxyAuthorization(match[1] as string);
  const spellings = ['127.0.0.1', 'localhost', '127.1', '0x7f000001', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '0.0.0.0', '0', 'LOCALHOST.', 'localhost.'];
  // This machine's name too, where it resolves to the loopback serve listens on.
  if ((await lookup(hostname(), { all: true }).catch(() => [])).some((a) => a.address === '127.0.0.1')) spellings.push(hostname());
  try {
    for (const host of spellings) {
      await t.test(`CONNECT ${host}:${port}`, async () => {
        const answer = await raw(port, `CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n${auth}\r\n`);
        assert.match(answer, /^HTTP\/1\.1 508 Loop Detected\r\n/, answer);
        assert.match(answer, /CONNECT to this proxy itself/);
      });
      await t.test(`GET http://${host}:${port}/`, async () => {
        const answer = await raw(port, `GET http://${host}:${port}/x HTTP/1.1\r\nHost: ${host}:${port}\r\n${auth}Connection: close\r\n\r\n`);
        assert.match(answer, /^HTTP\/1\.1 508 Loop Detected\r\n/, answer);
        assert.match(answer, /the request targets this proxy itself/);
      });
    }
    await untilLogged(output, { GET: spellings.length, CONNECT: spellings.length });
    assert.equal(requestLines(output(), 'CONNECT').length, spellings.length, 'one pass each, nothing nested');
    assert.equal(requestLines(output(), 'GET').length, spellings.length);
  } finally {
    await stop(child);
  }
});

test('--allow that admits everything, or anything beyond loopback, is warned about loudly at start', async () => {
  const { child, errors } = await startCli(['serve', '--port', '0', '--allow', '0.0.0.0/0', '--allow', '::/0', '--allow', '10.0.0.0/8', '--allow', '127.0.0.2', '--allow', '::1'], BARE, READY);
  try {
    const lines = errors().trim().split('\n');
    assert.deepEqual(
      lines.map((l) => /^jaato-proxy serve: WARNING: --allow (\S+) admits (every IPv4 client|every IPv6 client|clients beyond this machine's loopback)/.exec(l)?.slice(1)),
      [['0.0.0.0/0', 'every IPv4 client'], ['::/0', 'every IPv6 client'], ['10.0.0.0/8', "clients beyond this machine's loopback"]],
      errors(),
    );
    assert.match(lines[0] ?? '', /an open relay/);
  } finally {
    await stop(child);
  }
  const quiet = await startCli(['serve', '--port', '0', '--allow', '127.0.0.0/8'], BARE, READY);
  await stop(quiet.child);
  assert.equal(quiet.errors(), '', 'loopback ranges are not warned about');
});

// ---- C. An upstream authentication failure is a 502 with the typed error's text, never a 407 ----

test('Kerberos off against a Negotiate-only Squid: GET, POST and CONNECT each get a 502 with the ProxyAuthenticationError text', async () => {
  const lab = ctx.lab;
  const { child, match } = await startCli(['serve', '--port', '0'], labEnv(lab, { JAATO_KERBEROS_PROXY: 'false' }), SERVE_READY);
  const port = Number(match[2]);
  const local = match[1] as string;
  try {
    const from = lab.accessLog().length;
    const authFailure = /^jaato-proxy: proxy http:\/\/localhost:\d+\/ \(from HTTPS?_PROXY\) requires authentication \(407; offers: Negotiate\): /;
    const get = await curl(['-s', '-o', '-', '-w', '\n%{http_code}', '-x', local, `${lab.origins.http.url}/get`]);
    assert.match(get.stdout, /\n502$/);
    assert.match(get.stdout, authFailure);
    assert.match(get.stdout, /JAATO_KERBEROS_PROXY=true/);
    const post = await curl(['-s', '-o', '-', '-w', '\n%{http_code}', '-x', local, '--data-binary', 'x=1', `${lab.origins.http.url}/post`]);
    assert.match(post.stdout, /\n502$/, 'not a 407 stripped of its challenge');
    assert.match(post.stdout, authFailure);
    const tunnel = await raw(port, `CONNECT 127.0.0.1:${lab.origins.https.port} HTTP/1.1\r\nHost: 127.0.0.1:${lab.origins.https.port}\r\n${proxyAuthorization(local)}\r\n`);
    assert.match(tunnel, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(tunnel.slice(tunnel.indexOf('\r\n\r\n') + 4), authFailure);
    const log = await logSince(lab, from, 3);
    assert.deepEqual(log.map((e) => e.status), [407, 407, 407], 'one attempt each: nothing to answer the 407 with');
  } finally {
    await stop(child);
  }
});

test('no Kerberos ticket: each request is one bounded attempt and a 502 naming kinit, never a retry loop or a 407', async () => {
  const lab = ctx.lab;
  const { child, match } = await startCli(['serve', '--port', '0'], labEnv(lab), SERVE_READY);
  const port = Number(match[2]);
  const local = match[1] as string;
  await lab.kdestroy();
  try {
    const from = lab.accessLog().length;
    for (const args of [[`${lab.origins.http.url}/a`], ['--data-binary', 'x=1', `${lab.origins.http.url}/b`]]) {
      const r = await curl(['-s', '-o', '-', '-w', '\n%{http_code}', '-x', local, ...args]);
      assert.match(r.stdout, /\n502$/, r.stdout);
      assert.match(r.stdout, /requires authentication \(407; offers: Negotiate\)/);
    }
    const tunnel = await raw(port, `CONNECT 127.0.0.1:${lab.origins.https.port} HTTP/1.1\r\nHost: 127.0.0.1:${lab.origins.https.port}\r\n${proxyAuthorization(local)}\r\n`);
    assert.match(tunnel, /^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*kinit/);
    const log = await logSince(lab, from, 3);
    assert.ok(log.length <= 3 && log.every((e) => e.status === 407), JSON.stringify(log));
  } finally {
    await lab.kinit();
    await stop(child);
  }
});

test('an origin that answers 407 on a direct route: serve answers 502, not a 407 without its challenge', async () => {
  const origin = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(407, { 'proxy-authenticate': 'Basic realm="origin"', 'content-length': '2' }).end('no');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const { child, match } = await startCli(['serve', '--port', '0'], BARE, SERVE_READY);
  try {
    const r = await curl(['-s', '-o', '-', '-w', '\n%{http_code}', '-x', match[1] as string, `http://127.0.0.1:${(origin.address() as AddressInfo).port}/x`]);
    assert.match(r.stdout, /answered 407 Proxy Authentication Required to a direct request[^\n]*\n\n502$/);
  } finally {
    await stop(child);
    origin.close();
  }
});
