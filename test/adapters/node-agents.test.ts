import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tokenChannel } from '../../src/auth/index.js';
import type { Lab } from '../../lab/lab.js';
import { freePort } from '../../lab/processes.js';
import type { EchoReply } from '../../lab/origin.js';
import {
  createAgents,
  InvalidOptionError,
  InvalidProxyUrlError,
  JaatoProxyError,
  ProxyConnectionError,
  UnsupportedProxySchemeError,
  type ProxyAgents,
} from '../../src/index.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { CLIENT_FAMILIES, rootCause, type ClientUnderTest } from '../conformance/clients.js';

const ctx = useLab();
const run = promisify(execFile);

let uniq = 0;
const path = (name: string): string => `/${name}-${process.pid}-${++uniq}`;

/** The Basic port's URL with the lab's credentials: a proxy that works without Kerberos. */
function basicProxy(lab: Lab): string {
  const url = new URL(lab.proxies.basic);
  url.username = lab.basic.username;
  url.password = lab.basic.password;
  return url.href.replace(/\/$/, '');
}

type Outcome = ({ status: number; body: string } | { error: unknown }) & { req: ClientRequest; socket: Duplex | undefined };

/**
 * One request with node:http(s) and an explicit agent, asserting that nothing is thrown out of the
 * request call: whatever goes wrong must come back as the request's 'error' event.
 */
function nodeGet(url: string, agent: http.Agent): Promise<Outcome> {
  let req: ClientRequest | undefined;
  let socket: Duplex | undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    assert.doesNotThrow(() => {
      req = mod.get(url, { agent }, (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, req: req as ClientRequest, socket }));
      });
    }, 'http.get() must not throw');
    req?.once('socket', (s: Duplex) => (socket = s));
    req?.on('error', (error) => resolve({ error, req: req as ClientRequest, socket }));
  });
  return outcome;
}

function answer(o: Outcome): { status: number; body: string; reused: boolean; socket: Duplex | undefined } {
  assert.ok('status' in o, `an answer, not ${'error' in o ? String(o.error) : ''}`);
  return { status: o.status, body: o.body, reused: o.req.reusedSocket, socket: o.socket };
}

const echo = (body: string): EchoReply => JSON.parse(body) as EchoReply;

/** Bad values a user might set at run time, and the typed error each must produce. */
const BAD_VALUES = [
  { value: 'socks5://x:1080', type: UnsupportedProxySchemeError, code: 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME' },
  { value: 'http://', type: InvalidProxyUrlError, code: 'ERR_JAATO_INVALID_PROXY_URL' },
  // Credentials in a malformed value must not reach the message.
  { value: 'socks5://bob:s3cret-in-url@x:1080', type: UnsupportedProxySchemeError, code: 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME' },
] as const;

function assertTyped(error: unknown, expected: { type: abstract new (...a: never[]) => JaatoProxyError; code: string }, variable: string): void {
  const ours = rootCause(error);
  assert.ok(ours instanceof expected.type, `${String(error)} → ${String(ours)} is a ${expected.type.name}`);
  assert.equal(ours.code, expected.code);
  assert.ok(ours.message.includes(variable), `the message names ${variable}: ${ours.message}`);
  assert.equal((ours as { variable?: string; option?: string }).variable ?? (ours as { option?: string }).option, variable);
  assert.ok(!ours.message.includes('s3cret-in-url'), 'no password in the message');
}

describe('configuration errors set at run time reach the caller as errors, never as throws', () => {
  for (const scheme of ['http', 'https'] as const) {
    const variable = scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY';

    test(`node:${scheme}: a bad ${variable} or JAATO_KERBEROS_SPN after a good request is an 'error' event; fixing it works again`, async () => {
      const lab = ctx.lab;
      const good = basicProxy(lab);
      const env: Record<string, string | undefined> = { HTTP_PROXY: good, HTTPS_PROXY: good };
      const agents: ProxyAgents = createAgents({ env, ca: lab.ca });
      const agent = scheme === 'https' ? agents.https : agents.http;
      const url = (name: string): string => `${lab.origins[scheme].url}${path(name)}`;
      try {
        const first = await nodeGet(url('good'), agent);
        assert.ok('status' in first && first.status === 200, 'the first request works');
        for (const bad of BAD_VALUES) {
          env[variable] = bad.value;
          const outcome = await nodeGet(url('bad'), agent);
          assert.ok('error' in outcome, `${bad.value}: an error, not an answer`);
          assertTyped(outcome.error, bad, variable);
          assert.equal(outcome.req.destroyed, true);
        }
        env[variable] = good;
        env.JAATO_KERBEROS_SPN = 'not a service name';
        const spn = await nodeGet(url('bad-spn'), agent);
        assert.ok('error' in spn);
        assertTyped(spn.error, { type: InvalidOptionError, code: 'ERR_JAATO_INVALID_OPTION' }, 'JAATO_KERBEROS_SPN');
        delete env.JAATO_KERBEROS_SPN;
        const fixed = await nodeGet(url('fixed'), agent);
        assert.ok('status' in fixed, `fixed: ${'error' in fixed ? String(fixed.error) : ''}`);
        assert.equal(fixed.status, 200);
        // Forwarded http carries Squid's Via; a tunnel does not (it is end to end).
        if (scheme === 'http') assert.match(String((JSON.parse(fixed.body) as EchoReply).headers.via), /squid/, 'through the proxy again');
        const seenBad = lab.origins[scheme].seen.filter((s) => /\/bad/.test(s.url));
        assert.deepEqual(seenBad, [], 'no failed request reached the origin');
      } finally {
        agents.http.destroy();
        agents.https.destroy();
      }
    });
  }

  for (const family of CLIENT_FAMILIES.filter((f) => f.name === 'axios' || f.name === 'got')) {
    for (const scheme of ['http', 'https'] as const) {
      const variable = scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
      test(`${family.name} (${scheme}): a bad ${variable} or JAATO_KERBEROS_SPN rejects with the typed error; fixing it works again`, async () => {
        const lab = ctx.lab;
        const good = basicProxy(lab);
        const env: Record<string, string | undefined> = { HTTP_PROXY: good, HTTPS_PROXY: good };
        const client: ClientUnderTest = family.create({ env, ca: lab.ca });
        const url = (name: string): string => `${lab.origins[scheme].url}${path(name)}`;
        try {
          assert.equal((await client.request(url('good'))).status, 200);
          for (const bad of BAD_VALUES) {
            env[variable] = bad.value;
            await assert.rejects(client.request(url('bad')), (error: unknown) => {
              assertTyped(error, bad, variable);
              return true;
            });
          }
          env[variable] = good;
          env.JAATO_KERBEROS_SPN = 'not a service name';
          await assert.rejects(client.request(url('bad-spn')), (error: unknown) => {
            assertTyped(error, { type: InvalidOptionError, code: 'ERR_JAATO_INVALID_OPTION' }, 'JAATO_KERBEROS_SPN');
            return true;
          });
          delete env.JAATO_KERBEROS_SPN;
          const fixed = await client.request(url('fixed'));
          assert.equal(fixed.status, 200);
          if (scheme === 'http') assert.match(String((JSON.parse(fixed.body.toString()) as EchoReply).headers.via), /squid/);
        } finally {
          await client.close();
        }
      });
    }
  }

  test('agents built while JAATO_KERBEROS_SPN is bad do not throw; their requests fail; an explicit bad spn still fails at once', async () => {
    const lab = ctx.lab;
    const env: Record<string, string | undefined> = { HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_SPN: 'not a service name' };
    // getGotOptions()/getAxiosConfig() build agents on the request's path, so this must not throw.
    const agents = createAgents({ env, kerberos: true, ca: lab.ca });
    try {
      const outcome = await nodeGet(`${lab.origins.http.url}${path('bad-spn-at-start')}`, agents.http);
      assert.ok('error' in outcome);
      assertTyped(outcome.error, { type: InvalidOptionError, code: 'ERR_JAATO_INVALID_OPTION' }, 'JAATO_KERBEROS_SPN');
      delete env.JAATO_KERBEROS_SPN;
      assert.equal(answer(await nodeGet(`${lab.origins.http.url}${path('good-spn')}`, agents.http)).status, 200);
    } finally {
      agents.http.destroy();
    }
    assert.throws(() => createAgents({ env: {}, spn: 'not a service name' }), InvalidOptionError);
  });

  // The report's reproduction: the default agents, process.env changed at run time, a caller that
  // listens for 'error' from inside a timer, where a throw would be uncaught and end the process.
  test('a process whose HTTPS_PROXY/HTTP_PROXY turns bad at run time keeps running and recovers', async () => {
    const lab = ctx.lab;
    const program = join(lab.dir, 'runtime-env.mjs');
    const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
    writeFileSync(
      program,
      `import http from 'node:http';
import https from 'node:https';
import { getAgent } from ${JSON.stringify(index)};
const [httpUrl, httpsUrl, good] = process.argv.slice(2);
const get = (url) => new Promise((resolve) => setTimeout(() => {
  const mod = url.startsWith('https:') ? https : http;
  mod.get(url, { agent: getAgent(url) }, (res) => { res.resume(); res.on('end', () => resolve('status ' + res.statusCode)); })
    .on('error', (e) => resolve('error ' + e.code + ' ' + e.variable));
}, 5));
const out = [];
for (const [url, variable] of [[httpUrl, 'HTTP_PROXY'], [httpsUrl, 'HTTPS_PROXY']]) {
  out.push(await get(url));
  process.env[variable] = 'socks5://x:1080';
  out.push(await get(url));
  process.env[variable] = good;
  out.push(await get(url));
}
console.log(JSON.stringify(out));
process.exit(0);
`,
    );
    const good = basicProxy(lab);
    const { stdout } = await run(process.execPath, [program, `${lab.origins.http.url}${path('child')}`, `${lab.origins.https.url}${path('child')}`, good], {
      env: { PATH: process.env.PATH, HTTP_PROXY: good, HTTPS_PROXY: good, NODE_EXTRA_CA_CERTS: join(lab.dir, 'ca.pem') },
    });
    assert.deepEqual(JSON.parse(stdout), [
      'status 200',
      'error ERR_JAATO_UNSUPPORTED_PROXY_SCHEME HTTP_PROXY',
      'status 200',
      'status 200',
      'error ERR_JAATO_UNSUPPORTED_PROXY_SCHEME HTTPS_PROXY',
      'status 200',
    ]);
  });
});

/** Counts fresh SPNEGO tokens (one per new authenticated proxy connection) while `fn` runs. */
async function countingSteps<T>(fn: () => Promise<T>): Promise<{ result: T; steps: number }> {
  let steps = 0;
  const on = (): void => void steps++;
  subscribe(tokenChannel.name, on);
  try {
    return { result: await fn(), steps };
  } finally {
    unsubscribe(tokenChannel.name, on);
  }
}

/** Routing for the lab through one Squid port, nothing bypassed, env-independent. */
function via(lab: Lab, port: 'negotiate' | 'basic', extra: Record<string, unknown> = {}): Parameters<typeof createAgents>[0] {
  return { proxy: port === 'basic' ? basicProxy(lab) : lab.proxies[port], kerberos: port === 'negotiate', exactNoProxy: '', noProxy: '', ca: lab.ca, env: {}, ...extra };
}

const portOf = (proxyUrl: string): number => Number(new URL(proxyUrl).port);

/** Entries in one of an agent's lists (sockets, freeSockets, requests), over all its pool names. */
const count = (lists: NodeJS.ReadOnlyDict<readonly unknown[]>): number => Object.values(lists).reduce((n, l) => n + (l?.length ?? 0), 0);

describe('node agents pool by route, and keep maxSockets while connections are being opened', () => {
  for (const scheme of ['https', 'http'] as const) {
    test(`maxSockets: 1, 6 parallel ${scheme} requests through the Negotiate proxy: one proxy connection, one GSSAPI step`, async () => {
      const lab = ctx.lab;
      const from = await quietLogLength(lab);
      const agents = createAgents(via(lab, 'negotiate', { maxSockets: 1 }));
      const agent = scheme === 'https' ? agents.https : agents.http;
      const { result, steps } = await countingSteps(() =>
        Promise.all(Array.from({ length: 6 }, (_, i) => nodeGet(`${lab.origins[scheme].url}${path(`max-${i}`)}`, agent))),
      );
      const answers = result.map(answer);
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
      assert.equal(new Set(answers.map((a) => a.socket)).size, 1, 'every request went on the one connection');
      assert.equal(steps, 1, 'one token: one new proxy connection');
      agents.http.destroy();
      agents.https.destroy();
      const log = await logSince(lab, from, 6);
      if (scheme === 'https') assert.deepEqual(log.filter((e) => e.method === 'CONNECT').map((e) => [e.status, e.user]), [[200, lab.principal]]);
      else assert.deepEqual(log.map((e) => [e.method, e.status, e.user]), Array(6).fill(['GET', 200, lab.principal]));
    });
  }

  test('maxTotalSockets: 1, 6 parallel requests through the proxy: one proxy connection', async () => {
    const lab = ctx.lab;
    const agents = createAgents(via(lab, 'negotiate', { maxTotalSockets: 1 }));
    const { result, steps } = await countingSteps(() =>
      Promise.all(Array.from({ length: 6 }, (_, i) => nodeGet(`${lab.origins.http.url}${path(`total-${i}`)}`, agents.http))),
    );
    const answers = result.map(answer);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(new Set(answers.map((a) => a.socket)).size, 1);
    assert.equal(steps, 1);
    agents.http.destroy();
  });

  test('keep-alive on every path: a second request reuses the connection of its route', async () => {
    const lab = ctx.lab;
    for (const [name, options] of [
      ['direct', { env: {}, ca: lab.ca }],
      ['Negotiate proxy', via(lab, 'negotiate')],
      ['Basic proxy', via(lab, 'basic')],
    ] as const) {
      const agents = createAgents(options);
      try {
        for (const scheme of ['http', 'https'] as const) {
          const agent = scheme === 'https' ? agents.https : agents.http;
          const { result, steps } = await countingSteps(async () => {
            const first = answer(await nodeGet(`${lab.origins[scheme].url}${path('ka')}`, agent));
            const second = answer(await nodeGet(`${lab.origins[scheme].url}${path('ka')}`, agent));
            return [first, second];
          });
          assert.deepEqual(result.map((r) => [r.status, r.reused]), [[200, false], [200, true]], `${name}, ${scheme}`);
          assert.equal(result[0]?.socket, result[1]?.socket);
          assert.equal(steps, name === 'Negotiate proxy' ? 1 : 0, `${name}, ${scheme}: GSSAPI steps`);
        }
      } finally {
        agents.http.destroy();
        agents.https.destroy();
      }
    }
  });

  test('direct, then HTTP_PROXY set to a Basic proxy: the next request goes through it on a new connection; the origin never sees Proxy-Authorization', async () => {
    const lab = ctx.lab;
    const env: Record<string, string | undefined> = {};
    const agents = createAgents({ env, ca: lab.ca });
    try {
      const from = await quietLogLength(lab);
      const p1 = path('was-direct');
      const first = answer(await nodeGet(`${lab.origins.http.url}${p1}`, agents.http));
      assert.equal(echo(first.body).headers.via, undefined, 'the first went direct');
      env.HTTP_PROXY = basicProxy(lab);
      const p2 = path('now-proxied');
      const second = answer(await nodeGet(`${lab.origins.http.url}${p2}`, agents.http));
      assert.equal(second.reused, false, 'not on the direct connection');
      assert.notEqual(second.socket, first.socket);
      assert.match(String(echo(second.body).headers.via), /squid/);
      const third = answer(await nodeGet(`${lab.origins.http.url}${path('still-proxied')}`, agents.http));
      assert.equal(third.reused, true, 'the proxy connection is kept alive for its own route');
      for (const seen of lab.origins.http.seen.filter((s) => s.url.endsWith(p1) || s.url.endsWith(p2))) {
        assert.equal(seen.headers['proxy-authorization'], undefined, `${seen.url} reached the origin with Proxy-Authorization`);
      }
      const log = await logSince(lab, from, 2);
      assert.deepEqual(log.map((e) => [e.port, e.method, e.status, e.user]), [
        [portOf(lab.proxies.basic), 'GET', 200, lab.basic.username],
        [portOf(lab.proxies.basic), 'GET', 200, lab.basic.username],
      ]);
    } finally {
      agents.http.destroy();
      agents.https.destroy();
    }
  });

  test('direct, then HTTPS_PROXY set: the next https request is tunnelled through the proxy on a new connection', async () => {
    const lab = ctx.lab;
    const env: Record<string, string | undefined> = {};
    const agents = createAgents({ env, ca: lab.ca });
    try {
      const from = await quietLogLength(lab);
      const first = answer(await nodeGet(`${lab.origins.https.url}${path('was-direct')}`, agents.https));
      env.HTTPS_PROXY = lab.proxies.negotiate;
      env.JAATO_KERBEROS_PROXY = 'true';
      const { result: second, steps } = await countingSteps(async () => answer(await nodeGet(`${lab.origins.https.url}${path('now-tunnelled')}`, agents.https)));
      assert.equal(second.status, 200);
      assert.equal(second.reused, false);
      assert.notEqual(second.socket, first.socket);
      assert.equal(steps, 1);
      agents.https.destroy();
      const log = await logSince(lab, from, 1);
      assert.deepEqual(log.map((e) => [e.port, e.method, e.status, e.user]), [[portOf(lab.proxies.negotiate), 'CONNECT', 200, lab.principal]]);
    } finally {
      agents.http.destroy();
      agents.https.destroy();
    }
  });

  test('one proxy, then another: a connection of the first never carries a request for the second', async () => {
    const lab = ctx.lab;
    const env: Record<string, string | undefined> = { HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' };
    const agents = createAgents({ env, ca: lab.ca });
    try {
      const from = await quietLogLength(lab);
      const first = answer(await nodeGet(`${lab.origins.http.url}${path('proxy-a')}`, agents.http));
      env.HTTP_PROXY = basicProxy(lab);
      env.JAATO_KERBEROS_PROXY = 'false';
      const second = answer(await nodeGet(`${lab.origins.http.url}${path('proxy-b')}`, agents.http));
      assert.equal(second.reused, false);
      assert.notEqual(second.socket, first.socket);
      const log = await logSince(lab, from, 2);
      assert.deepEqual(log.map((e) => [e.port, e.user]), [
        [portOf(lab.proxies.negotiate), lab.principal],
        [portOf(lab.proxies.basic), lab.basic.username],
      ]);
    } finally {
      agents.http.destroy();
    }
  });

  test('proxied, then the host is put in NO_PROXY: the next request goes direct, not on the proxy connection', async () => {
    const lab = ctx.lab;
    const env: Record<string, string | undefined> = { HTTP_PROXY: basicProxy(lab) };
    const agents = createAgents({ env, ca: lab.ca });
    try {
      const from = await quietLogLength(lab);
      const first = answer(await nodeGet(`${lab.origins.http.url}${path('proxied')}`, agents.http));
      assert.match(String(echo(first.body).headers.via), /squid/);
      env.NO_PROXY = '127.0.0.1';
      const p = path('bypassed');
      const second = answer(await nodeGet(`${lab.origins.http.url}${p}`, agents.http));
      assert.equal(second.reused, false);
      assert.equal(echo(second.body).headers.via, undefined);
      assert.equal(echo(second.body).url, p, 'origin form: the request came straight to the origin');
      const log = await logSince(lab, from, 1);
      assert.equal(log.filter((e) => e.url.endsWith(p)).length, 0, 'the bypassed request is not in the proxy log');
    } finally {
      agents.http.destroy();
    }
  });

  test('maxSockets: 1 and the proxy refuses: each of 6 requests gets the typed error, none is left waiting', async () => {
    const lab = ctx.lab;
    const agents = createAgents({ proxy: `http://127.0.0.1:${await freePort()}`, env: {}, ca: lab.ca, maxSockets: 1 });
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => nodeGet(`${lab.origins.http.url}${path(`refused-${i}`)}`, agents.http)));
    for (const o of outcomes) assert.ok('error' in o && rootCause(o.error) instanceof ProxyConnectionError, String('error' in o && o.error));
    assert.equal(count(agents.http.requests), 0, 'nothing queued');
    assert.equal(count(agents.http.sockets), 0, 'nothing counted as in use');
  });

  test('maxSockets: 1, the proxy goes away after one connection: the queued requests fail one by one, typed', async () => {
    const lab = ctx.lab;
    // A relay in front of Squid's Basic port that takes one connection and then stops listening.
    const relay = createServer((client) => {
      relay.close();
      const upstream = connect(portOf(lab.proxies.basic), '127.0.0.1');
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const proxy = new URL(basicProxy(lab));
    proxy.port = String((relay.address() as AddressInfo).port);
    const agents = createAgents({ proxy: proxy.href, env: {}, ca: lab.ca, maxSockets: 1 });
    // Connection: close, so each answer closes the connection and the next request needs a new one.
    const get = (i: number): Promise<number | string> =>
      new Promise((resolve) => {
        http
          .get(`${lab.origins.http.url}${path(`gone-${i}`)}`, { agent: agents.http, headers: { connection: 'close' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', (e: Error) => resolve((rootCause(e) as { code?: string }).code ?? e.message));
      });
    const results = await Promise.all([0, 1, 2, 3].map(get));
    assert.deepEqual(results, [200, 'ERR_JAATO_PROXY_CONNECT', 'ERR_JAATO_PROXY_CONNECT', 'ERR_JAATO_PROXY_CONNECT']);
    assert.equal(count(agents.http.requests), 0);
    assert.equal(count(agents.http.sockets), 0);
  });

  test('agent.destroy() while a proxy connection is being opened: its request ends, the agent is left empty', async () => {
    const lab = ctx.lab;
    const agents = createAgents(via(lab, 'negotiate', { maxSockets: 1 }));
    const pending = nodeGet(`${lab.origins.https.url}${path('destroyed')}`, agents.https);
    await new Promise((r) => setImmediate(r)); // the CONNECT is on its way
    agents.https.destroy();
    const outcome = await pending;
    assert.ok('error' in outcome, 'the request failed');
    assert.equal(count(agents.https.sockets), 0);
    assert.equal(count(agents.https.freeSockets), 0);
  });
});
