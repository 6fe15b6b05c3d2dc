import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PacEvaluationError, PacFetchError } from '../../src/pac/errors.js';
import { PacRouter } from '../../src/pac/pac-router.js';
import { PAC_MAX_BYTES } from '../../src/pac/pac-source.js';

/** A PAC server on loopback whose answer the test changes; counts fetches. */
async function pacServer(): Promise<{ url: string; set(status: number, body: string): void; fetches: () => number; close(): Promise<void>; server: Server }> {
  let status = 200;
  let body = '';
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches++;
    if (req.url === '/moved') return void res.writeHead(302, { location: '/proxy.pac' }).end();
    if (req.url === '/slow') return;
    res.writeHead(status, { 'content-type': 'application/x-ns-proxy-autoconfig' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy.pac`;
  return {
    url,
    server,
    set: (s, b) => ((status = s), (body = b)),
    fetches: () => fetches,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const pac = (answer: string): string => `function FindProxyForURL(url, host) { return ${JSON.stringify(answer)}; }`;

test('PAC router: answers cached per scheme, host and port while the PAC is unchanged; the PAC sees no path or query', async () => {
  const srv = await pacServer();
  srv.set(200, `var calls = 0; function FindProxyForURL(url, host) { calls++; return 'PROXY p:1; DIRECT #' + calls + ' ' + url; }`);
  const router = new PacRouter({ url: srv.url });
  try {
    const a = await router.decide(new URL('https://api.corp/v1/secret?token=abc'));
    assert.equal(a.raw, 'PROXY p:1; DIRECT #1 https://api.corp/');
    assert.equal((await router.decide(new URL('https://api.corp/other'))).raw, a.raw, 'cached per host');
    assert.match((await router.decide(new URL('http://api.corp/'))).raw, /#2/, 'another scheme is another entry');
    assert.match((await router.decide(new URL('https://api.corp:8443/'))).raw, /#3 https:\/\/api\.corp:8443\//);
    assert.equal(srv.fetches(), 1);
  } finally {
    router.close();
    await srv.close();
  }
});

test('PAC router: refreshed after refreshMs; a changed PAC clears the cache; a failed refresh keeps the last good PAC', async () => {
  const srv = await pacServer();
  let now = 1_000_000;
  const messages: string[] = [];
  srv.set(200, pac('PROXY old:1'));
  const router = new PacRouter({ url: srv.url, refreshMs: 60_000, retryMs: 5_000, now: () => now, onMessage: (m) => messages.push(m) });
  try {
    const target = new URL('http://a.corp/');
    assert.equal((await router.decide(target)).raw, 'PROXY old:1');
    srv.set(200, pac('PROXY new:1'));
    now += 59_000;
    assert.equal((await router.decide(target)).raw, 'PROXY old:1', 'not yet stale');
    now += 2_000;
    assert.equal((await router.decide(target)).raw, 'PROXY old:1', 'stale: served while the refresh runs in the background');
    await waitFor(() => srv.fetches() === 2);
    // The new text is compiled in the background (a worker rewrites it): the old answer until it is in.
    await waitFor(async () => (await router.decide(target)).raw === 'PROXY new:1');
    // The server breaks: the last good PAC goes on serving, the failure is reported, retried after retryMs.
    srv.set(500, 'down');
    now += 61_000;
    await router.decide(target);
    await waitFor(() => messages.length === 1);
    assert.match(messages[0] ?? '', /^PAC refresh failed, keeping the last good PAC: could not load the PAC file .* the server answered 500/);
    assert.equal((await router.decide(target)).raw, 'PROXY new:1');
    assert.equal(srv.fetches(), 3, 'no retry before retryMs');
    now += 5_000;
    await router.decide(target);
    await waitFor(() => srv.fetches() === 4);
  } finally {
    router.close();
    await srv.close();
  }
});

test('PAC router: with no good PAC yet, a typed error naming the PAC URL, never a DIRECT; retried after retryMs', async () => {
  const srv = await pacServer();
  let now = 0;
  srv.set(404, 'no');
  const router = new PacRouter({ url: srv.url, retryMs: 10_000, now: () => now });
  try {
    await assert.rejects(router.decide(new URL('http://a/')), (e: unknown) => e instanceof PacFetchError && e.code === 'ERR_JAATO_PAC_FETCH' && e.message === `could not load the PAC file ${srv.url} (JAATO_PAC_URL): the server answered 404`);
    await assert.rejects(router.decide(new URL('http://a/')), PacFetchError);
    assert.equal(srv.fetches(), 1, 'the failure is remembered for retryMs');
    srv.set(200, pac('DIRECT'));
    now += 10_000;
    assert.equal((await router.decide(new URL('http://a/'))).raw, 'DIRECT');
  } finally {
    router.close();
    await srv.close();
  }
});

test('PAC router: a garbage answer and an answer with only SOCKS are typed errors naming the host', async () => {
  const srv = await pacServer();
  srv.set(200, `function FindProxyForURL(url, host) { if (host === 'num') return 42; if (host === 'socks') return 'SOCKS5 s:1080'; if (host === 'empty') return ''; return 'DIRECT'; }`);
  const router = new PacRouter({ url: srv.url });
  try {
    await assert.rejects(router.decide(new URL('http://num/')), (e: unknown) => e instanceof PacEvaluationError && e.failure === 'answer' && /returned number 42 for num, not a string/.test(e.message));
    await assert.rejects(router.decide(new URL('http://socks/')), (e: unknown) => e instanceof PacEvaluationError && /no usable entry for socks .*SOCKS proxies are not supported/.test(e.message));
    await assert.rejects(router.decide(new URL('http://empty/')), (e: unknown) => e instanceof PacEvaluationError && /no usable entry for empty/.test(e.message));
    assert.equal((await router.decide(new URL('http://fine/'))).raw, 'DIRECT');
  } finally {
    router.close();
    await srv.close();
  }
});

test('PAC router: a proxy marked bad is tried last until its mark expires', async () => {
  const srv = await pacServer();
  let now = 0;
  srv.set(200, pac('PROXY dead:1; PROXY live:2; DIRECT'));
  const router = new PacRouter({ url: srv.url, badProxyMs: 300_000, now: () => now });
  try {
    const order = async (): Promise<string[]> => (await router.decide(new URL('http://a/'))).entries.map((e) => (e.type === 'proxy' ? e.proxy : 'DIRECT'));
    assert.deepEqual(await order(), ['http://dead:1', 'http://live:2', 'DIRECT']);
    router.markBad('http://dead:1');
    assert.deepEqual(await order(), ['http://live:2', 'DIRECT', 'http://dead:1']);
    now += 300_000;
    assert.deepEqual(await order(), ['http://dead:1', 'http://live:2', 'DIRECT']);
  } finally {
    router.close();
    await srv.close();
  }
});

test('PAC sources: a file path, a file:// URL, a redirect; refused: another scheme, too large, too slow', async (t) => {
  // Removed at the end (issue 25: these were left in the temporary directory after every run).
  const dir = mkdtempSync(join(tmpdir(), 'jaato-pac-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'proxy.pac');
  writeFileSync(file, pac('PROXY from-file:1'));
  for (const url of [file, pathToFileURL(file).href]) {
    const router = new PacRouter({ url });
    assert.equal((await router.decide(new URL('http://a/'))).raw, 'PROXY from-file:1');
    router.close();
  }
  const srv = await pacServer();
  try {
    srv.set(200, pac('PROXY moved:1'));
    const moved = new PacRouter({ url: srv.url.replace('/proxy.pac', '/moved') });
    assert.equal((await moved.decide(new URL('http://a/'))).raw, 'PROXY moved:1');
    moved.close();
    await assert.rejects(new PacRouter({ url: 'ftp://x/proxy.pac' }).decide(new URL('http://a/')), /ftp: is not a PAC location: use http:\/\/, https:\/\/, file:\/\/ or a path/);
    srv.set(200, 'x'.repeat(PAC_MAX_BYTES + 1));
    await assert.rejects(new PacRouter({ url: srv.url }).decide(new URL('http://a/')), /is larger than 1048576 bytes/);
    const slow = new PacRouter({ url: srv.url.replace('/proxy.pac', '/slow'), source: { timeoutMs: 300 } });
    await assert.rejects(slow.decide(new URL('http://a/')), /no answer within 300 ms/);
    await assert.rejects(new PacRouter({ url: join(dir, 'missing.pac') }).decide(new URL('http://a/')), /missing\.pac \(JAATO_PAC_URL\): ENOENT/);
  } finally {
    srv.server.closeAllConnections();
    await srv.close();
  }
});

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 3000; !(await condition()); ) {
    if (Date.now() > deadline) assert.fail('condition not met within 3 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
