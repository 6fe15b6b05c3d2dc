// The proxy-auth session against the lab's per-request proxy (Apache httpd + mod_auth_gssapi: a fresh
// token on every request, a reply token on forwarded 200s, none on CONNECT), next to Squid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { WebSocket as UndiciWebSocket } from 'undici';
import WebSocket from 'ws';
import { createAgents, createFetch, ProxyDispatcher, ProxyMutualAuthError, unwrapError } from '../../src/index.js';
import { forgetAuthModes } from '../../src/transport/proxy-auth-session.js';
import type { Lab } from '../../lab/lab.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';

const ctx = useLab();

const apacheLog = (lab: Lab): ReturnType<Lab['perRequestLog']> => lab.perRequestLog();

/** Apache's log lines since entry `from`, once there are `min` of them or none is still to come (CONNECTs are logged on close). */
const apacheSince = (lab: Lab, from: number, min: number): ReturnType<typeof logSince> => logSince(lab, from, min, apacheLog);

test('Apache: 20 sequential forwarded GETs cost at most one 407, on kept-alive connections', async () => {
  const lab = ctx.lab;
  forgetAuthModes();
  const from = await quietLogLength(lab, apacheLog); // settled: an earlier test's tunnel is logged when it closes
  const f = createFetch({ proxy: lab.proxies.perRequest, kerberos: true, env: {} });
  try {
    for (let i = 0; i < 20; i++) {
      const res = await f(`${lab.origins.http.url}/seq/${i}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  } finally {
    await f.dispatcher.close();
  }
  const log = await apacheSince(lab, from, 20);
  const challenges = log.filter((e) => e.status === 407).length;
  assert.ok(challenges <= 1, `${challenges} x 407`);
  assert.equal(log.filter((e) => e.status === 200).length, 20);
  assert.ok(new Set(log.map((e) => e.clientPort)).size <= 2, 'connections kept alive');
});

const TWO_MIB = Buffer.alloc(2 * 1024 * 1024, 'jaato');

const BODIES: Array<{ name: string; bytes: Buffer; init: () => RequestInit & { duplex?: 'half' } }> = [
  { name: 'a string', bytes: Buffer.from('seven b'), init: () => ({ body: 'seven b' }) },
  { name: 'a Buffer', bytes: Buffer.from('buffer body'), init: () => ({ body: Buffer.from('buffer body') }) },
  { name: 'a stream', bytes: Buffer.from('chunk1chunk2'), init: () => ({ body: ReadableStream.from([Buffer.from('chunk1'), Buffer.from('chunk2')]), duplex: 'half' }) },
  { name: 'a 2 MiB body', bytes: TWO_MIB, init: () => ({ body: TWO_MIB }) },
];

for (const body of BODIES) {
  test(`Apache: a POST with ${body.name} on an authenticated connection arrives whole`, async () => {
    const lab = ctx.lab;
    forgetAuthModes(); // so this POST is the one that meets the 407 and is sent again
    const from = await quietLogLength(lab, apacheLog); // settled: an earlier test's tunnel is logged when it closes
    const f = createFetch({ proxy: lab.proxies.perRequest, kerberos: true, env: {}, connections: 1 });
    try {
      await f(`${lab.origins.http.url}/first`).then((r) => r.arrayBuffer());
      const res = await f(`${lab.origins.http.url}/upload`, { method: 'POST', ...body.init() });
      assert.equal(res.status, 200);
      const echo = JSON.parse(await res.text()) as { bodyBytes: number; bodySha256: string };
      assert.equal(echo.bodyBytes, body.bytes.length);
      assert.equal(echo.bodySha256, createHash('sha256').update(body.bytes).digest('hex'));
      const log = await apacheSince(lab, from, 3);
      assert.deepEqual(log.map((e) => e.status), [200, 407, 200], 'the POST met the 407 and was sent again, body and all');
    } finally {
      await f.dispatcher.close();
    }
  });
}

test("Apache: requireMutualAuth passes on forwarded http (its reply token verifies) and fails typed on CONNECT (it sends none)", async () => {
  const lab = ctx.lab;
  const f = createFetch({ proxy: lab.proxies.perRequest, kerberos: true, requireMutualAuth: true, ca: lab.ca, env: {} });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await f(`${lab.origins.http.url}/mutual/${i}`).then(async (r) => (await r.arrayBuffer(), r))).status, 200);
    const error = await f(`${lab.origins.https.url}/mutual`).then(
      () => assert.fail('no reply token on CONNECT: must fail closed'),
      (e: unknown) => unwrapError(e),
    );
    assert.ok(error instanceof ProxyMutualAuthError, String(error));
    assert.equal(error.reason, 'no-token');
    assert.match(error.message, /its 200 answer to CONNECT 127\.0\.0\.1:\d+ carried no Negotiate reply token/);
  } finally {
    await f.dispatcher.close();
  }
});

/** A node:http request through our agent: status and body. */
function nodeRequest(agent: ReturnType<typeof createAgents>['http'], url: string, body?: Buffer | Readable): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, method: body ? 'POST' : 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

test('Apache, node:http agent: 20 sequential GETs on one kept-alive connection cost at most one 407', async () => {
  const lab = ctx.lab;
  forgetAuthModes();
  const from = await quietLogLength(lab, apacheLog); // settled: an earlier test's tunnel is logged when it closes
  const agents = createAgents({ proxy: lab.proxies.perRequest, kerberos: true, env: {} });
  try {
    for (let i = 0; i < 20; i++) assert.equal((await nodeRequest(agents.http, `${lab.origins.http.url}/node-seq/${i}`)).status, 200);
  } finally {
    agents.http.destroy();
  }
  const log = await apacheSince(lab, from, 20);
  assert.ok(log.filter((e) => e.status === 407).length <= 1, JSON.stringify(log.map((e) => e.status)));
  assert.equal(new Set(log.map((e) => e.clientPort)).size, 1, `one connection, kept alive (no retry on a new one): ${JSON.stringify(log)}`);
});

for (const [name, make] of [
  ['a Buffer', () => Buffer.from('node buffer body')],
  ['a stream', () => Readable.from([Buffer.from('node '), Buffer.from('stream '), Buffer.from('body')])],
  ['a 2 MiB body', () => TWO_MIB],
] as const) {
  test(`Apache, node:http agent: a POST with ${name} on an authenticated connection arrives whole`, async () => {
    const lab = ctx.lab;
    forgetAuthModes();
    const from = await quietLogLength(lab, apacheLog); // settled: an earlier test's tunnel is logged when it closes
    const agents = createAgents({ proxy: lab.proxies.perRequest, kerberos: true, env: {}, maxSockets: 1 });
    try {
      await nodeRequest(agents.http, `${lab.origins.http.url}/node-first`);
      const body = make();
      const expected = body instanceof Readable ? Buffer.from('node stream body') : body;
      const res = await nodeRequest(agents.http, `${lab.origins.http.url}/node-upload`, body);
      assert.equal(res.status, 200);
      const echo = JSON.parse(res.text) as { bodyBytes: number; bodySha256: string };
      assert.equal(echo.bodyBytes, expected.length);
      assert.equal(echo.bodySha256, createHash('sha256').update(expected).digest('hex'));
      const log = await apacheSince(lab, from, 3);
      assert.deepEqual(log.map((e) => e.status), [200, 407, 200]);
    } finally {
      agents.http.destroy();
    }
  });
}

test('Apache, node:http agent: requireMutualAuth verifies the reply token on forwarded answers', async () => {
  const lab = ctx.lab;
  const agents = createAgents({ proxy: lab.proxies.perRequest, kerberos: true, requireMutualAuth: true, env: {} });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await nodeRequest(agents.http, `${lab.origins.http.url}/node-mutual/${i}`)).status, 200);
  } finally {
    agents.http.destroy();
  }
});

/**
 * Sends a text and a binary message on an open WebSocket-like object; resolves to what came back once
 * the WebSocket has closed: its tunnel is then gone, and the proxy's line for it written.
 */
function echoUndici(ws: InstanceType<typeof UndiciWebSocket>): Promise<string[]> {
  ws.binaryType = 'arraybuffer';
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    ws.onerror = (e) => reject(new Error(`WebSocket error: ${String((e as { error?: unknown }).error ?? e.type)}`));
    ws.onopen = () => {
      ws.send('hello');
      ws.send(new Uint8Array([1, 2, 3]));
    };
    ws.onmessage = (m) => {
      got.push(typeof m.data === 'string' ? m.data : Buffer.from(m.data as ArrayBuffer).toString('hex'));
      if (got.length === 2) ws.close();
    };
    ws.onclose = (e) => (got.length === 2 ? resolve(got) : reject(new Error(`WebSocket closed (${e.code}) after ${got.length} echoes`)));
  });
}

function echoWs(ws: WebSocket): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send('hello');
      ws.send(Buffer.from([1, 2, 3]));
    });
    ws.on('message', (data: Buffer, binary) => {
      got.push(binary ? data.toString('hex') : data.toString());
      if (got.length === 2) ws.close();
    });
    ws.once('close', (code) => (got.length === 2 ? resolve(got) : reject(new Error(`ws closed (${code}) after ${got.length} echoes`))));
  });
}

for (const family of ['negotiate', 'perRequest'] as const) {
  test(`WebSocket through ${family === 'negotiate' ? 'Squid' : 'Apache'}: ws:// and wss:// echo with undici's WebSocket and with ws + our agents, through CONNECT`, async () => {
    const lab = ctx.lab;
    const proxy = lab.proxies[family];
    const read = (l: Lab): ReturnType<Lab['accessLog']> => (family === 'negotiate' ? l.accessLog() : l.perRequestLog());
    // From a settled log: an earlier test's tunnel, logged when it closes, is not counted as this one's.
    const from = await quietLogLength(lab, read);
    const d = new ProxyDispatcher({ proxy, kerberos: true, ca: lab.ca, env: {} });
    const agents = createAgents({ proxy, kerberos: true, ca: lab.ca, env: {} });
    const ws = lab.origins.http.url.replace('http:', 'ws:');
    const wss = lab.origins.https.url.replace('https:', 'wss:');
    try {
      for (const url of [`${ws}/ws/echo`, `${wss}/ws/echo`]) {
        assert.deepEqual(await echoUndici(new UndiciWebSocket(url, { dispatcher: d } as never)), ['hello', '010203'], `undici ${url}`);
        const agent = url.startsWith('wss:') ? agents.https : agents.http;
        assert.deepEqual(await echoWs(new WebSocket(url, { agent })), ['hello', '010203'], `ws ${url}`);
      }
    } finally {
      await d.close();
      agents.http.destroy();
      agents.https.destroy();
    }
    const entries = await logSince(lab, from, 4, read);
    assert.ok(entries.length >= 4 && entries.every((e) => e.method === 'CONNECT' && e.status === 200), JSON.stringify(entries));
  });
}
