// The proxy-auth session on undici's forwarded path (createFetch, the dispatcher, and so serve), against
// a scripted proxy that authenticates every request as mod_auth_gssapi does (a fresh Negotiate token on
// each, a replayed one refused), and against the lab's Squid, which authenticates connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type Agent, request as httpRequest } from 'node:http';
import { createAgents, createFetch, ProxyDispatcher, ProxyMutualAuthError, unwrapError } from '../../src/index.js';
import { tokenChannel } from '../../src/auth/spnego.js';
import { resolveConfig } from '../../src/config/proxy-config.js';
import { authModeOf, forgetAuthModes } from '../../src/transport/proxy-auth-session.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab();

interface PerRequestProxy {
  url: string;
  /** 407s sent, connections accepted, requests answered 200. */
  stats: { challenges: number; connections: number; ok: number };
  close(): Promise<void>;
}

/**
 * A forward proxy that wants a fresh Negotiate token on every request (a token seen before is a
 * replay: 407), answers the request itself with the length and SHA-256 of the body it received, and
 * keeps connections alive. `reply` may add headers to its 200 (a forged reply token).
 */
async function perRequestProxy(extra: Record<string, string> = {}): Promise<PerRequestProxy> {
  // A new proxy may get an earlier one's port, and the learned mode is kept per proxy address for the
  // process: start each from the default mode, so the 407 each test counts is its own.
  forgetAuthModes();
  const seen = new Set<string>();
  const stats = { challenges: 0, connections: 0, ok: 0 };
  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    const token = /^Negotiate (\S+)$/.exec(String(req.headers['proxy-authorization'] ?? ''))?.[1];
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => {
      length += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      if (!token || seen.has(token)) {
        stats.challenges++;
        res.writeHead(407, { 'proxy-authenticate': 'Negotiate', 'content-length': 0 }).end();
        return;
      }
      seen.add(token);
      stats.ok++;
      const body = JSON.stringify({ length, sha256: hash.digest('hex'), url: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra }).end(body);
    });
  });
  server.on('connection', () => stats.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    stats,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function countingSteps<T>(run: () => Promise<T>): Promise<{ result: T; steps: number }> {
  let steps = 0;
  const onStep = (): void => void steps++;
  subscribe(tokenChannel.name, onStep);
  try {
    return { result: await run(), steps };
  } finally {
    unsubscribe(tokenChannel.name, onStep);
  }
}

test('a per-request proxy: 20 sequential GETs on one kept-alive connection cost one 407, each request a fresh token', async () => {
  const p = await perRequestProxy();
  const f = createFetch({ proxy: p.url, kerberos: true, env: {} });
  try {
    const { steps } = await countingSteps(async () => {
      for (let i = 0; i < 20; i++) {
        const res = await f(`http://origin.test/${i}`);
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(await res.text()).url, `http://origin.test/${i}`);
      }
    });
    assert.equal(p.stats.challenges, 1, 'one 407: the one that teaches the client the proxy authenticates requests');
    // undici's Pool opens a second connection while the first is busy, even for sequential requests.
    assert.ok(p.stats.connections <= 2, `keep-alive kept: ${p.stats.connections} connections`);
    assert.equal(p.stats.ok, 20);
    assert.equal(steps, 20, 'one token per request: up front, or (once) in answer to the 407');
  } finally {
    await f.dispatcher.close();
    await p.close();
  }
});

test('a per-request proxy: parallel GETs open no more connections than they need and learn once', async () => {
  const p = await perRequestProxy();
  const f = createFetch({ proxy: p.url, kerberos: true, env: {}, connections: 4 });
  try {
    await f('http://origin.test/warm').then((r) => r.text());
    const all = await Promise.all(Array.from({ length: 24 }, (_, i) => f(`http://origin.test/${i}`).then((r) => r.status)));
    assert.deepEqual(new Set(all), new Set([200]));
    assert.ok(p.stats.connections <= 4, `${p.stats.connections} connections`);
    assert.ok(p.stats.challenges <= 4, `${p.stats.challenges} x 407: at most one per connection that was authenticated before the proxy's kind was known`);
  } finally {
    await f.dispatcher.close();
    await p.close();
  }
});

const TWO_MIB = Buffer.alloc(2 * 1024 * 1024, 'jaato');

const BODIES: Array<{ name: string; bytes: Buffer; init: () => RequestInit & { duplex?: 'half' } }> = [
  { name: 'a string', bytes: Buffer.from('seven b'), init: () => ({ body: 'seven b' }) },
  { name: 'a Buffer', bytes: Buffer.from('buffer body'), init: () => ({ body: Buffer.from('buffer body') }) },
  {
    name: 'a ReadableStream',
    bytes: Buffer.from('chunk1chunk2'),
    init: () => ({ body: ReadableStream.from([Buffer.from('chunk1'), Buffer.from('chunk2')]), duplex: 'half' }),
  },
  {
    name: 'an async iterable',
    bytes: Buffer.from('abc'),
    init: () => ({
      body: (async function* () {
        yield Buffer.from('a');
        yield Buffer.from('bc');
      })(),
      duplex: 'half',
    }),
  },
  { name: 'a 2 MiB Buffer', bytes: TWO_MIB, init: () => ({ body: TWO_MIB }) },
];

for (const body of BODIES) {
  test(`fetch POST with ${body.name}: the 407 on a reused connection is answered and the body arrives whole`, async () => {
    const p = await perRequestProxy();
    const f = createFetch({ proxy: p.url, kerberos: true, env: {}, connections: 1 });
    try {
      await f('http://origin.test/first').then((r) => r.text()); // authenticates the connection
      const res = await f('http://origin.test/upload', { method: 'POST', ...body.init() });
      assert.equal(res.status, 200);
      const got = JSON.parse(await res.text()) as { length: number; sha256: string };
      assert.equal(got.length, body.bytes.length);
      assert.equal(got.sha256, sha256(body.bytes));
      assert.equal(p.stats.challenges, 1, 'the upload met the 407 and was sent again');
    } finally {
      await f.dispatcher.close();
      await p.close();
    }
  });
}

test('fetch POST with FormData: arrives whole after the 407', async () => {
  const p = await perRequestProxy();
  const f = createFetch({ proxy: p.url, kerberos: true, env: {}, connections: 1 });
  try {
    await f('http://origin.test/first').then((r) => r.text());
    const form = new FormData();
    form.set('field', 'value');
    form.set('file', new Blob(['file content']), 'a.txt');
    const res = await f('http://origin.test/form', { method: 'POST', body: form });
    const got = JSON.parse(await res.text()) as { length: number };
    // The multipart boundary is random: the same form, encoded the same way, is what the origin gets.
    const expected = await new Response(form).arrayBuffer();
    assert.equal(got.length, expected.byteLength);
    assert.equal(p.stats.challenges, 1);
  } finally {
    await f.dispatcher.close();
    await p.close();
  }
});

test('dispatcher.request with a Readable body (what serve forwards): arrives whole after the 407', async () => {
  const p = await perRequestProxy();
  const d = new ProxyDispatcher({ proxy: p.url, kerberos: true, env: {}, connections: 1 });
  try {
    await d.request({ origin: 'http://origin.test', path: '/first', method: 'GET' }).then((r) => r.body.text());
    const chunks = [Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')];
    const res = await d.request({ origin: 'http://origin.test', path: '/up', method: 'PUT', body: Readable.from(chunks) });
    const got = JSON.parse(await res.body.text()) as { length: number; sha256: string };
    assert.equal(got.sha256, sha256(Buffer.concat(chunks)));
    assert.equal(p.stats.challenges, 1);
  } finally {
    await d.close();
    await p.close();
  }
});

test('a forged reply token on a forwarded 200: ProxyMutualAuthError, the answer never delivered', async () => {
  const forged = 'oYGHMIGEoAMKAQChCwYJKoZIgvcSAQICooFvBG1gawYJKoZIhvcSAQICAgBvXDBaoAMCAQWhAwIBD6JOMEygAwIBEqJFBEPsIOWPBAR=';
  for (const header of ['proxy-authenticate', 'proxy-authentication-info']) {
    const p = await perRequestProxy({ [header]: `Negotiate ${forged}` });
    const f = createFetch({ proxy: p.url, kerberos: true, env: {} });
    try {
      const error = await f('http://origin.test/').then(
        () => assert.fail('a forged reply token must fail the request'),
        (e: unknown) => unwrapError(e),
      );
      assert.ok(error instanceof ProxyMutualAuthError, String(error));
      assert.equal(error.code, 'ERR_JAATO_PROXY_MUTUAL_AUTH');
      assert.equal(error.reason, 'bad-token');
      assert.match(error.message, /did not authenticate itself: its Negotiate reply token on its 200 answer to GET http:\/\/origin\.test did not verify/);
    } finally {
      await f.dispatcher.close();
      await p.close();
    }
  }
});

/** A GET through the node:http agent; resolves to the status or the error the caller sees. */
function nodeGet(agent: Agent, url: string): Promise<number | unknown> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', resolve);
    req.end();
  });
}

test('node:http agent, per-request proxy: one 407 for 20 GETs, one connection; a forged reply token fails typed', async () => {
  const p = await perRequestProxy();
  const agents = createAgents({ proxy: p.url, kerberos: true, env: {} });
  try {
    for (let i = 0; i < 20; i++) assert.equal(await nodeGet(agents.http, `http://origin.test/${i}`), 200);
    assert.deepEqual(p.stats, { challenges: 1, connections: 1, ok: 20 });
  } finally {
    agents.http.destroy();
    await p.close();
  }
  const forged = await perRequestProxy({ 'proxy-authenticate': 'Negotiate oYGHMIGEoAMKAQChCwYJKoZIgvcSAQICooFvBG1gawYJKoZIhvcSAQICAgBvXDBaoAMCAQWhAwIBD6JOMEygAwIBEqJFBEPsIOWPBAR=' });
  const forgedAgents = createAgents({ proxy: forged.url, kerberos: true, env: {} });
  try {
    const error = await nodeGet(forgedAgents.http, 'http://origin.test/');
    assert.ok(error instanceof ProxyMutualAuthError, String(error));
    assert.equal(error.reason, 'bad-token');
  } finally {
    forgedAgents.http.destroy();
    await forged.close();
  }
});

test('Squid (authenticates connections): 20 sequential GETs, one token, no 407, still per connection', async () => {
  const f = createFetch({ proxy: ctx.lab.proxies.negotiate, kerberos: true, env: {} });
  try {
    const { steps } = await countingSteps(async () => {
      for (let i = 0; i < 20; i++) assert.equal((await f(`${ctx.lab.origins.http.url}/${i}`).then(async (r) => (await r.arrayBuffer(), r))).status, 200);
    });
    // One step per connection: undici's Pool opens a second one while the first is still busy.
    assert.ok(steps >= 1 && steps <= 2, `${steps} GSSAPI steps`);
    const route = resolveConfig({ proxy: ctx.lab.proxies.negotiate, kerberos: true, env: {} }).route(new URL(ctx.lab.origins.http.url));
    assert.equal(route.type === 'proxy' && authModeOf(route), 'connection', 'Squid is still known to authenticate connections');
  } finally {
    await f.dispatcher.close();
  }
});

test('requireMutualAuth with Squid over http: a clear typed error (Squid sends no reply token)', async () => {
  const f = createFetch({ proxy: ctx.lab.proxies.negotiate, kerberos: true, requireMutualAuth: true, env: {} });
  try {
    const error = await f(`${ctx.lab.origins.http.url}/`).then(
      () => assert.fail('requireMutualAuth must fail closed'),
      (e: unknown) => unwrapError(e),
    );
    assert.ok(error instanceof ProxyMutualAuthError, String(error));
    assert.equal(error.reason, 'no-token');
    assert.match(error.message, /requireMutualAuth.*carried no Negotiate reply token\. Squid never sends one/);
    // Not the generic 407 wording ("requires authentication (407; offers: …)"). Match words, not
    // digits: the message carries random ports, and one such as 40731 contains "407".
    assert.doesNotMatch(error.message, /\(407[;)]|offers:/);
  } finally {
    await f.dispatcher.close();
  }
  const agents = createAgents({ proxy: ctx.lab.proxies.negotiate, kerberos: true, requireMutualAuth: true, env: {} });
  try {
    const error = await nodeGet(agents.http, `${ctx.lab.origins.http.url}/`);
    assert.ok(error instanceof ProxyMutualAuthError, `node:http too: ${String(error)}`);
    assert.equal(error.reason, 'no-token');
  } finally {
    agents.http.destroy();
  }
});
